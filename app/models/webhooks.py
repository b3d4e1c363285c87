from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from app.models.audit import AuditEvent
    from app.models.organizations import Organization


class WebhookDeliveryStatus(StrEnum):
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class WebhookEndpoint(Model):
    """Where an organization's events are POSTed (Standard Webhooks 1.0).

    The signing secret is stored encrypted (app/webhooks/secrets.py): signing needs the
    secret itself, which a hash could not give back. After a rotation the previous secret
    keeps signing too, beside the new one, until `previous_secret_expires_at`.
    """

    id: int = fields.BigIntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "models.Organization", related_name="webhook_endpoints", on_delete=fields.CASCADE
    )
    url = fields.CharField(max_length=2048)
    description: str | None = fields.TextField(null=True)
    # Event types (audit actions) sent here; empty: every type.
    event_types: list[str] = fields.JSONField(default=list)
    enabled = fields.BooleanField(default=True)
    disabled_reason: str | None = fields.TextField(null=True)
    secret_encrypted: str = fields.TextField()
    previous_secret_encrypted: str | None = fields.TextField(null=True)
    previous_secret_expires_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    organization_id: int

    deliveries: fields.ReverseRelation[WebhookDelivery]

    class Meta:
        table = "webhook_endpoints"
        indexes = (("organization_id", "enabled"),)


class WebhookDelivery(Model):
    """One message to one endpoint, written in the transaction of the event it carries.

    `body` is fixed when the row is written: every attempt and every redelivery sends the
    same bytes with the same `message_id` (the `webhook-id` header). The worker claims due
    PENDING rows (status, next_attempt_at) and pushes `next_attempt_at` forward while it
    attempts (a lease), so a crashed process's attempt is made again later.
    """

    id: int = fields.BigIntField(primary_key=True)
    endpoint: fields.ForeignKeyRelation[WebhookEndpoint] = fields.ForeignKeyField(
        "models.WebhookEndpoint", related_name="deliveries", on_delete=fields.CASCADE
    )
    # The event carried; null for a test message.
    event: fields.ForeignKeyNullableRelation[AuditEvent] = fields.ForeignKeyField(
        "models.AuditEvent", related_name="webhook_deliveries", null=True, on_delete=fields.CASCADE
    )
    event_type = fields.CharField(max_length=64)
    message_id = fields.CharField(max_length=64, unique=True)
    body: str = fields.TextField()
    status = fields.CharEnumField(WebhookDeliveryStatus, max_length=10, default="PENDING")
    attempts = fields.IntField(default=0)
    response_status: int | None = fields.IntField(null=True)
    last_attempt_at = fields.DatetimeField(null=True)
    next_attempt_at = fields.DatetimeField(null=True)
    last_error: str | None = fields.TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    endpoint_id: int
    event_id: int | None

    class Meta:
        table = "webhook_deliveries"
        indexes = (("status", "next_attempt_at"), ("endpoint_id", "id"))
