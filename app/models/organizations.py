from tortoise import fields
from tortoise.models import Model

from app.models.enums import OrganizationRole, TransferStatus


class Organization(Model):
    id = fields.BigIntField(primary_key=True)
    name = fields.CharField(max_length=200)
    slug = fields.CharField(max_length=64, unique=True)
    invitation_ttl_days = fields.SmallIntField(default=7)
    allowed_email_domains = fields.JSONField(default=list)
    seat_limit = fields.IntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "organizations"


class Domain(Model):
    id = fields.BigIntField(primary_key=True)
    organization = fields.ForeignKeyField(
        "models.Organization", related_name="domains", on_delete=fields.CASCADE
    )
    domain = fields.CharField(max_length=253, db_index=True)
    verification_email = fields.CharField(max_length=254)
    verified_at = fields.DatetimeField(null=True)
    auto_join = fields.BooleanField(default=False)
    auto_join_role = fields.CharEnumField(OrganizationRole, max_length=10, default="USER")
    token_hash = fields.CharField(max_length=64, null=True, unique=True)
    token_expires_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "domains"
        unique_together = (("organization_id", "domain"),)

    @property
    def verified(self) -> bool:
        return self.verified_at is not None


class ApiKey(Model):
    id = fields.BigIntField(primary_key=True)
    organization = fields.ForeignKeyField(
        "models.Organization", related_name="api_keys", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=200)
    role = fields.CharEnumField(OrganizationRole, max_length=10)
    prefix = fields.CharField(max_length=16)
    secret_hash = fields.CharField(max_length=64, unique=True)
    created_by = fields.ForeignKeyField(
        "models.User", related_name="api_keys", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField(null=True)
    last_used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "api_keys"


class OwnershipTransfer(Model):
    id = fields.BigIntField(primary_key=True)
    organization = fields.ForeignKeyField(
        "models.Organization", related_name="transfers", on_delete=fields.CASCADE
    )
    from_member = fields.ForeignKeyField(
        "models.Member", related_name="transfers_from", on_delete=fields.CASCADE
    )
    to_member = fields.ForeignKeyField(
        "models.Member", related_name="transfers_to", on_delete=fields.CASCADE
    )
    status = fields.CharEnumField(TransferStatus, max_length=10, default="PENDING")
    token_hash = fields.CharField(max_length=64, null=True, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    confirmed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "ownership_transfers"
        indexes = (("organization_id", "status"),)
