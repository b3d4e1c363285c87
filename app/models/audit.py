from tortoise import fields
from tortoise.models import Model


class AuditEvent(Model):
    id = fields.BigIntField(primary_key=True)
    organization = fields.ForeignKeyField(
        "models.Organization", related_name="audit_events", null=True, on_delete=fields.CASCADE
    )
    action = fields.CharField(max_length=64)
    actor_user = fields.ForeignKeyField(
        "models.User", related_name="audit_events", null=True, on_delete=fields.SET_NULL
    )
    actor_api_key = fields.ForeignKeyField(
        "models.ApiKey", related_name="audit_events", null=True, on_delete=fields.SET_NULL
    )
    target_type = fields.CharField(max_length=32)
    target_id = fields.BigIntField(null=True)
    data = fields.JSONField(default=dict)
    ip = fields.CharField(max_length=45, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "audit_events"
        indexes = (
            ("organization_id", "id"),
            ("organization_id", "action", "id"),
            ("organization_id", "actor_user_id", "id"),
            ("organization_id", "target_type", "target_id", "id"),
            ("organization_id", "created_at", "id"),
        )
