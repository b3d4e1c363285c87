from tortoise import fields
from tortoise.models import Model

from app.models.enums import EmailTokenPurpose


class User(Model):
    id = fields.BigIntField(primary_key=True)
    # Stored lower-cased: emails compare case-insensitively everywhere.
    email = fields.CharField(max_length=254, unique=True)
    name = fields.CharField(max_length=200)
    password_hash = fields.CharField(max_length=255)
    email_verified_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "users"

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None


class Session(Model):
    id = fields.BigIntField(primary_key=True)
    user = fields.ForeignKeyField("models.User", related_name="sessions", on_delete=fields.CASCADE)
    token_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_used_at = fields.DatetimeField()

    class Meta:
        table = "sessions"


class EmailToken(Model):
    """A one-use token mailed to a user: email verification or password reset."""

    id = fields.BigIntField(primary_key=True)
    user = fields.ForeignKeyField(
        "models.User", related_name="email_tokens", on_delete=fields.CASCADE
    )
    purpose = fields.CharEnumField(EmailTokenPurpose, max_length=20)
    token_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "email_tokens"
        indexes = (("user_id", "purpose"),)
