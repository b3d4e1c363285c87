from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from app.models.accounts import User
    from app.models.organizations import ApiKey, Organization


class AuditEvent(Model):
    id: int = fields.BigIntField(primary_key=True)
    organization: fields.ForeignKeyNullableRelation[Organization] = fields.ForeignKeyField(
        "models.Organization", related_name="audit_events", null=True, on_delete=fields.CASCADE
    )
    action = fields.CharField(max_length=64)
    actor_user: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="audit_events", null=True, on_delete=fields.SET_NULL
    )
    actor_api_key: fields.ForeignKeyNullableRelation[ApiKey] = fields.ForeignKeyField(
        "models.ApiKey", related_name="audit_events", null=True, on_delete=fields.SET_NULL
    )
    target_type = fields.CharField(max_length=32)
    target_id: int | None = fields.BigIntField(null=True)
    data: dict[str, Any] = fields.JSONField(default=dict)
    ip = fields.CharField(max_length=45, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    # Key columns behind the relations, set by Tortoise (declared for type checkers).
    organization_id: int | None
    actor_user_id: int | None
    actor_api_key_id: int | None

    class Meta:
        table = "audit_events"
        indexes = (
            ("organization_id", "id"),
            ("organization_id", "action", "id"),
            ("organization_id", "actor_user_id", "id"),
            ("organization_id", "target_type", "target_id", "id"),
            ("organization_id", "created_at", "id"),
        )
