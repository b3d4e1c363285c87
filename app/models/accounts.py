from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from app.models.enums import EmailTokenPurpose

if TYPE_CHECKING:
    from app.models.audit import AuditEvent
    from app.models.members import Member
    from app.models.organizations import ApiKey


class User(Model):
    id: int = fields.BigIntField(primary_key=True)
    # Stored lower-cased: emails compare case-insensitively everywhere.
    email = fields.CharField(max_length=254, unique=True)
    name = fields.CharField(max_length=200)
    password_hash = fields.CharField(max_length=255)
    email_verified_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    # Reverse relations, filled in by Tortoise (declared for type checkers).
    sessions: fields.ReverseRelation[Session]
    email_tokens: fields.ReverseRelation[EmailToken]
    memberships: fields.ReverseRelation[Member]
    api_keys: fields.ReverseRelation[ApiKey]
    audit_events: fields.ReverseRelation[AuditEvent]

    class Meta:
        table = "users"

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None


class Session(Model):
    id: int = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="sessions", on_delete=fields.CASCADE
    )
    token_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_used_at = fields.DatetimeField()

    # Key columns behind the relations, set by Tortoise (declared for type checkers).
    user_id: int

    class Meta:
        table = "sessions"


class EmailToken(Model):
    """A one-use token mailed to a user: email verification or password reset."""

    id: int = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="email_tokens", on_delete=fields.CASCADE
    )
    purpose = fields.CharEnumField(EmailTokenPurpose, max_length=20)
    token_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)

    # Key columns behind the relations, set by Tortoise (declared for type checkers).
    user_id: int

    class Meta:
        table = "email_tokens"
        indexes = (("user_id", "purpose"),)
