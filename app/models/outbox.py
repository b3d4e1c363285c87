from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from app.models.enums import DeliveryStatus

if TYPE_CHECKING:
    from app.models.invitations import Invitation


class OutboxMail(Model):
    """A mail written in the same transaction as the change that sends it.

    The worker claims due rows (status QUEUED, next_attempt_at reached, lease
    expired), delivers them outside any transaction and records the outcome.
    """

    id: int = fields.BigIntField(primary_key=True)
    kind = fields.CharField(max_length=32)
    to_email = fields.CharField(max_length=254)
    subject = fields.CharField(max_length=255)
    text_body = fields.TextField()
    html_body = fields.TextField()
    status = fields.CharEnumField(DeliveryStatus, max_length=10, default="QUEUED")
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField()
    locked_until = fields.DatetimeField(null=True)
    last_error: str | None = fields.TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    sent_at = fields.DatetimeField(null=True)
    failed_at = fields.DatetimeField(null=True)

    # Reverse relations, filled in by Tortoise (declared for type checkers).
    invitations: fields.ReverseRelation[Invitation]

    class Meta:
        table = "outbox_mails"
        indexes = (("status", "next_attempt_at"),)


class RateLimitHit(Model):
    """One counted event for a rate limit key (for example a failed log-in)."""

    id: int = fields.BigIntField(primary_key=True)
    key = fields.CharField(max_length=300)
    created_at = fields.DatetimeField()

    class Meta:
        table = "rate_limit_hits"
        indexes = (("key", "created_at"),)
