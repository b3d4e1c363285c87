"""Writing webhook deliveries: one row per matching endpoint, in the caller's transaction,
and waking the worker that sends them.

`fan_out` runs inside `audit.record`, so every event reaches the outbox in the very
transaction that makes the change: no change commits without its deliveries, none are
written for a change rolled back. Its cost is one SELECT of the organization's enabled
endpoints and, when some match, one multi-row INSERT.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from app import db
from app.clock import now
from app.ids import to_global_id
from app.models import AuditEvent, WebhookEndpoint
from app.models.webhooks import WebhookDeliveryStatus

TEST_EVENT_TYPE = "webhook.test"

_notify: Callable[[], None] | None = None


def set_notifier(callback: Callable[[], None] | None) -> None:
    """The worker registers how it wants to be woken when deliveries are committed."""
    global _notify
    _notify = callback


def notify() -> None:
    if _notify is not None:
        _notify()


def new_message_id() -> str:
    """The `webhook-id`: unique, the same on every attempt and redelivery."""
    return "msg_" + secrets.token_urlsafe(18)


def rfc3339(moment: datetime) -> str:
    """As the GraphQL DateTime scalar writes it: ISO 8601 with the UTC offset."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat()


def _gid(type_name: str, pk: int | None) -> str | None:
    return None if pk is None else to_global_id(type_name, pk)


def event_body(event: AuditEvent) -> str:
    """The JSON a delivery of `event` POSTs; its ids are the global ids GraphQL shows."""
    data: dict[str, Any] = {
        "id": to_global_id("AuditEvent", event.id),
        "organizationId": _gid("Organization", event.organization_id),
        "actorId": _gid("User", event.actor_user_id),
        "actorApiKeyId": _gid("ApiKey", event.actor_api_key_id),
        "targetType": event.target_type,
        "targetId": _gid(event.target_type, event.target_id),
        "data": event.data,
    }
    return _dumps({"type": event.action, "timestamp": rfc3339(event.created_at), "data": data})


def ping_body(endpoint_id: int, organization_id: int) -> str:
    data = {
        "organizationId": to_global_id("Organization", organization_id),
        "endpointId": to_global_id("WebhookEndpoint", endpoint_id),
        "message": "A test message from Roster.",
    }
    return _dumps({"type": TEST_EVENT_TYPE, "timestamp": rfc3339(now()), "data": data})


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def matches(event_types: list[str], action: str) -> bool:
    return not event_types or action in event_types


_COLUMNS = (
    '"endpoint_id", "event_id", "event_type", "message_id", "body", "status", "attempts", '
    '"next_attempt_at", "created_at"'
)


async def fan_out(event: AuditEvent) -> int:
    """Queue `event` for every enabled endpoint of its organization whose eventTypes
    match; returns how many deliveries were written."""
    if event.organization_id is None:
        return 0
    endpoints = await WebhookEndpoint.filter(
        organization_id=event.organization_id, enabled=True
    ).values_list("id", "event_types")
    targets = [pk for pk, types in endpoints if matches(types or [], event.action)]
    if not targets:
        return 0
    body = event_body(event)
    moment = now()
    values: list[Any] = []
    for endpoint_id in targets:
        values += [
            endpoint_id,
            event.id,
            event.action,
            new_message_id(),
            body,
            WebhookDeliveryStatus.PENDING.value,
            0,
            moment,
            moment,
        ]
    rows = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?)"] * len(targets))
    await db.connection().execute_query(
        db.placeholders(f'INSERT INTO "webhook_deliveries" ({_COLUMNS}) VALUES {rows}'), values
    )
    return len(targets)
