"""Webhook endpoints: create, update, rotate the secret, delete, send a test message,
redeliver. OWNER and ADMIN (and ADMIN API keys); every change to an endpoint is audited.

The secret is returned once (by create and rotate) and stored encrypted
(app/webhooks/secrets.py). URLs pass the SSRF rules (app/webhooks/ssrf.py) before any
transaction opens: resolving a name takes network time, and the worker checks the
addresses again at every attempt anyway.
"""

from __future__ import annotations

import re
from datetime import timedelta
from functools import cache
from typing import Any

from app import config
from app.auth.roles import Permission
from app.auth.viewer import Viewer
from app.clock import now
from app.errors import DomainError, ErrorCode, not_found
from app.models import WebhookDelivery, WebhookEndpoint
from app.models.webhooks import WebhookDeliveryStatus
from app.services import events
from app.services.audit import Actor
from app.services.tx import after_commit, atomic, locked_for, locked_row_for
from app.services.validation import clean_message
from app.webhooks import outbox
from app.webhooks.secrets import encrypt, new_secret
from app.webhooks.ssrf import UnsafeTarget, check_url

# Bounds: endpoints per organization, and event types per endpoint.
MAX_ENDPOINTS = 20
EVENT_TYPES_MAX = 100
# After rotateWebhookSecret, deliveries carry the old secret's signature too for this long.
ROTATION_OVERLAP = timedelta(hours=24)


@cache
def event_types() -> frozenset[str]:
    """The event vocabulary: the actions app/services/events.py lists in its docstring."""
    return frozenset(re.findall(r"^    ([a-z_]+\.[a-z_]+)\b", events.__doc__ or "", re.M))


async def clean_url(url: str) -> str:
    cleaned = url.strip()
    try:
        await check_url(cleaned, config.current().webhook_allow_insecure)
    except UnsafeTarget as exc:
        raise DomainError(ErrorCode.INVALID_INPUT, str(exc), "url") from exc
    return cleaned


def clean_event_types(types: list[str]) -> list[str]:
    if len(types) > EVENT_TYPES_MAX:
        raise DomainError(
            ErrorCode.INVALID_INPUT, f"At most {EVENT_TYPES_MAX} event types.", "eventTypes"
        )
    known = event_types()
    unknown = [t for t in types if t not in known]
    if unknown:
        shown = ", ".join(repr(t[:64]) for t in unknown[:3])
        raise DomainError(
            ErrorCode.INVALID_INPUT,
            f"Unknown event types: {shown} (the vocabulary is AuditEvent.action's).",
            "eventTypes",
        )
    return sorted(set(types))


def _settings(endpoint: WebhookEndpoint) -> dict[str, Any]:
    """What an update may change, as the audit trail records it."""
    return {
        "url": endpoint.url,
        "description": endpoint.description,
        "eventTypes": list(endpoint.event_types),
        "enabled": endpoint.enabled,
    }


async def create_endpoint(
    actor: Actor,
    organization_id: int,
    url: str,
    description: str | None,
    types: list[str],
) -> tuple[WebhookEndpoint, str]:
    """The new endpoint and its secret (shown this once)."""
    types = clean_event_types(types)
    description = clean_message(description, "description")
    url = await clean_url(url)
    secret = new_secret()
    async with atomic():
        organization, actor = await locked_for(
            actor, organization_id, Permission.MANAGE_ORGANIZATION
        )
        if await WebhookEndpoint.filter(organization_id=organization.id).count() >= MAX_ENDPOINTS:
            raise DomainError(
                ErrorCode.INVALID_INPUT,
                f"An organization has at most {MAX_ENDPOINTS} webhook endpoints.",
                "organizationId",
            )
        endpoint = await WebhookEndpoint.create(
            organization_id=organization.id,
            url=url,
            description=description,
            event_types=types,
            secret_encrypted=encrypt(config.current(), secret),
        )
        await events.webhook_endpoint_created(actor, endpoint)
    return endpoint, secret


async def _locked_endpoint(actor: Actor, endpoint_id: int) -> tuple[WebhookEndpoint, Actor]:
    _, endpoint, actor = await locked_row_for(
        actor,
        Permission.MANAGE_ORGANIZATION,
        WebhookEndpoint,
        endpoint_id,
        "WebhookEndpoint",
        "endpointId",
    )
    return endpoint, actor


async def update_endpoint(
    actor: Actor,
    endpoint_id: int,
    *,
    url: str | None = None,
    description: str | None = None,
    types: list[str] | None = None,
    enabled: bool | None = None,
) -> WebhookEndpoint:
    """Change what is given (a blank description clears it). Enabling a disabled endpoint
    clears its disabledReason and sends what queued up meanwhile."""
    new_types = None if types is None else clean_event_types(types)
    new_description = clean_message(description, "description")
    new_url = None if url is None else await clean_url(url)
    async with atomic():
        endpoint, actor = await _locked_endpoint(actor, endpoint_id)
        before = _settings(endpoint)
        if new_url is not None:
            endpoint.url = new_url
        if description is not None:
            endpoint.description = new_description
        if new_types is not None:
            endpoint.event_types = new_types
        if enabled is not None:
            endpoint.enabled = enabled
            endpoint.disabled_reason = None if enabled else "Disabled by an administrator."
        after = _settings(endpoint)
        if after != before:
            await endpoint.save()
            changed = [key for key in after if after[key] != before[key]]
            await events.webhook_endpoint_updated(
                actor,
                endpoint,
                {k: before[k] for k in changed},
                {k: after[k] for k in changed},
            )
            if endpoint.enabled:
                after_commit(outbox.notify)
    return endpoint


async def rotate_secret(actor: Actor, endpoint_id: int) -> tuple[WebhookEndpoint, str]:
    """A new secret; for ROTATION_OVERLAP the old one signs deliveries too."""
    secret = new_secret()
    async with atomic():
        endpoint, actor = await _locked_endpoint(actor, endpoint_id)
        endpoint.previous_secret_encrypted = endpoint.secret_encrypted
        endpoint.previous_secret_expires_at = now() + ROTATION_OVERLAP
        endpoint.secret_encrypted = encrypt(config.current(), secret)
        await endpoint.save()
        await events.webhook_endpoint_secret_rotated(actor, endpoint)
    return endpoint, secret


async def delete_endpoint(actor: Actor, endpoint_id: int) -> None:
    """The endpoint and its deliveries (undelivered ones too) go."""
    async with atomic():
        endpoint, actor = await _locked_endpoint(actor, endpoint_id)
        await events.webhook_endpoint_deleted(actor, endpoint)
        await WebhookEndpoint.filter(id=endpoint.id).delete()


async def send_test(actor: Actor, endpoint_id: int) -> WebhookDelivery:
    """Queue a `webhook.test` message (no event) to the endpoint."""
    async with atomic():
        endpoint, actor = await _locked_endpoint(actor, endpoint_id)
        if not endpoint.enabled:
            raise DomainError(
                ErrorCode.INVALID_INPUT,
                "The endpoint is disabled: enable it first.",
                "endpointId",
            )
        moment = now()
        delivery = await WebhookDelivery.create(
            endpoint_id=endpoint.id,
            event_id=None,
            event_type=outbox.TEST_EVENT_TYPE,
            message_id=outbox.new_message_id(),
            body=outbox.ping_body(endpoint.id, endpoint.organization_id),
            next_attempt_at=moment,
        )
        after_commit(outbox.notify)
    return delivery


async def redeliver(actor: Actor, delivery_id: int) -> WebhookDelivery:
    """Queue a FAILED or SUCCEEDED delivery again: the same body and messageId, a fresh
    retry schedule."""
    missing = not_found("WebhookDelivery", "deliveryId")
    found = await WebhookDelivery.get_or_none(id=delivery_id)
    if found is None:
        raise missing
    async with atomic():
        await _locked_endpoint(actor, found.endpoint_id)
        delivery = await WebhookDelivery.get_or_none(id=delivery_id)
        if delivery is None:
            raise missing
        if delivery.status == WebhookDeliveryStatus.PENDING:
            raise DomainError(
                ErrorCode.INVALID_INPUT, "This delivery is queued already.", "deliveryId"
            )
        delivery.status = WebhookDeliveryStatus.PENDING
        delivery.attempts = 0
        delivery.next_attempt_at = now()
        delivery.last_error = None
        await delivery.save()
        after_commit(outbox.notify)
    return delivery


async def endpoint_disabled(endpoint_id: int, reason: str) -> None:
    """Audit the delivery worker's disabling of an endpoint (a 410 answer, 20 failed
    deliveries in a row), in the transaction that disabled it. No person acted."""
    endpoint = await WebhookEndpoint.get_or_none(id=endpoint_id)
    if endpoint is not None:
        await events.webhook_endpoint_disabled(Actor(viewer=Viewer()), endpoint, reason)
