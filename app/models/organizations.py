from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from app.models.enums import DomainJoinPolicy, OrganizationRole, TransferStatus

if TYPE_CHECKING:
    from app.models.accounts import User
    from app.models.audit import AuditEvent
    from app.models.invitations import Invitation
    from app.models.join_requests import JoinRequest
    from app.models.members import Member
    from app.models.projects import Project
    from app.models.scim import ScimConnection
    from app.models.teams import Team


class Organization(Model):
    id: int = fields.BigIntField(primary_key=True)
    name = fields.CharField(max_length=200)
    slug = fields.CharField(max_length=64, unique=True)
    invitation_ttl_days: int = fields.SmallIntField(default=7)
    allowed_email_domains: list[str] = fields.JSONField(default=list)
    seat_limit = fields.IntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    # Reverse relations, filled in by Tortoise (declared for type checkers).
    members: fields.ReverseRelation[Member]
    invitations: fields.ReverseRelation[Invitation]
    projects: fields.ReverseRelation[Project]
    domains: fields.ReverseRelation[Domain]
    api_keys: fields.ReverseRelation[ApiKey]
    transfers: fields.ReverseRelation[OwnershipTransfer]
    audit_events: fields.ReverseRelation[AuditEvent]
    teams: fields.ReverseRelation[Team]
    scim_connections: fields.ReverseRelation[ScimConnection]
    join_requests: fields.ReverseRelation[JoinRequest]

    class Meta:
        table = "organizations"


class Domain(Model):
    id: int = fields.BigIntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "models.Organization", related_name="domains", on_delete=fields.CASCADE
    )
    domain = fields.CharField(max_length=253, db_index=True)
    verification_email = fields.CharField(max_length=254)
    verified_at = fields.DatetimeField(null=True)
    # `auto_join` mirrors `join_policy == AUTO_JOIN`; set both through `set_join_policy`.
    auto_join = fields.BooleanField(default=False)
    join_policy = fields.CharEnumField(DomainJoinPolicy, max_length=10, default="OFF")
    auto_join_role = fields.CharEnumField(OrganizationRole, max_length=10, default="USER")
    token_hash = fields.CharField(max_length=64, null=True, unique=True)
    token_expires_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    # Key columns behind the relations, set by Tortoise (declared for type checkers).
    organization_id: int

    class Meta:
        table = "domains"
        unique_together = (("organization_id", "domain"),)

    @property
    def verified(self) -> bool:
        return self.verified_at is not None

    def set_join_policy(self, policy: DomainJoinPolicy) -> None:
        self.join_policy = DomainJoinPolicy(policy)
        self.auto_join = self.join_policy == DomainJoinPolicy.AUTO_JOIN


class ApiKey(Model):
    id: int = fields.BigIntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "models.Organization", related_name="api_keys", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=200)
    role = fields.CharEnumField(OrganizationRole, max_length=10)
    prefix = fields.CharField(max_length=16)
    secret_hash = fields.CharField(max_length=64, unique=True)
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="api_keys", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField(null=True)
    last_used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    # Key columns behind the relations, set by Tortoise (declared for type checkers).
    organization_id: int
    created_by_id: int | None

    # Reverse relations, filled in by Tortoise (declared for type checkers).
    audit_events: fields.ReverseRelation[AuditEvent]

    class Meta:
        table = "api_keys"


class OwnershipTransfer(Model):
    id: int = fields.BigIntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "models.Organization", related_name="transfers", on_delete=fields.CASCADE
    )
    from_member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="transfers_from", on_delete=fields.CASCADE
    )
    to_member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="transfers_to", on_delete=fields.CASCADE
    )
    status = fields.CharEnumField(TransferStatus, max_length=10, default="PENDING")
    token_hash = fields.CharField(max_length=64, null=True, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    confirmed_at = fields.DatetimeField(null=True)

    # Key columns behind the relations, set by Tortoise (declared for type checkers).
    organization_id: int
    from_member_id: int
    to_member_id: int

    class Meta:
        table = "ownership_transfers"
        indexes = (("organization_id", "status"),)
