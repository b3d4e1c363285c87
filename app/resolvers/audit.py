"""The audit trail: an organization's events (newest first, and the feed: oldest first in
commit order), an event's actor and API key, the node.

Resolvers return models and raise DomainError; the schema wraps what they return.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from app.errors import DomainError, ErrorCode
from app.ids import from_global_id, pk_of
from app.models import ApiKey, AuditEvent, User
from app.resolvers.context import Context
from app.resolvers.loaders import load_one
from app.resolvers.paging import Order, Page, Window, paginate
from app.services.audit import feed_horizon
from app.services.event_stream import BROKER, RECHECK_EVERY, check_subscriber
from app.services.validation import LIST_MAX
from app.services.visibility import reads_private

# The longest action name stored (AuditEvent.action).
ACTION_MAX = 64


async def organization_events(
    ctx: Context,
    organization_id: int,
    *,
    window: Window,
    actions: list[str] | None,
    actor_id: str | None,
    target_id: str | None,
    since: datetime | None,
    until: datetime | None,
) -> Page[AuditEvent]:
    """Newest first. Filters that match nothing (an unknown id, an overlong action) give
    an empty page rather than an error."""
    queryset = AuditEvent.filter(organization_id=organization_id)
    if actions is not None:
        queryset = queryset.filter(action__in=_actions(actions, "actions"))
    if actor_id is not None:
        queryset = queryset.filter(actor_user_id=pk_of(actor_id, "User") or 0)
    if target_id is not None:
        decoded = from_global_id(target_id)
        if decoded is None:
            queryset = queryset.filter(id__in=[])
        else:
            queryset = queryset.filter(target_type=decoded[0], target_id=decoded[1])
    if since is not None:
        queryset = queryset.filter(created_at__gte=_utc(since, "since"))
    if until is not None:
        queryset = queryset.filter(created_at__lt=_utc(until, "until"))
    return await paginate(queryset, Order((), descending=True), window)


async def organization_feed(
    ctx: Context,
    organization_id: int,
    *,
    window: Window,
    types: list[str] | None,
) -> Page[AuditEvent]:
    """The events feed: oldest first in commit order, (tx_id, id), and only the events below
    the feed horizon (app/services/audit.py), so the order of what is listed never changes
    and a client resuming from its last cursor gets every event once. The cursor holds
    (tx_id, id)."""
    queryset = AuditEvent.filter(organization_id=organization_id)
    horizon = await feed_horizon()
    if horizon is not None:
        queryset = queryset.filter(tx_id__lt=horizon)
    if types is not None:
        queryset = queryset.filter(action__in=_actions(types, "types"))
    return await paginate(queryset, Order(("tx_id",)), window)


def organization_event_stream(
    ctx: Context, organization_id: int, *, types: list[str] | None
) -> AsyncIterator[AuditEvent]:
    """The organization's events from now on, as the feed lists them (same rows, same
    order), of `types` when given (checked here, before the stream starts). Every
    RECHECK_EVERY seconds the viewer's session and role are checked again
    (app/services/event_stream.py `check_subscriber`): the stream ends with SessionEnded or
    AccessEnded once they no longer allow it."""
    wanted = None if types is None else frozenset(_actions(types, "types"))
    return _event_stream(ctx, organization_id, wanted)


async def _event_stream(
    ctx: Context, organization_id: int, wanted: frozenset[str] | None
) -> AsyncIterator[AuditEvent]:
    async with BROKER.subscribe(organization_id, wanted) as subscriber:
        checked = time.monotonic()
        while True:
            wait = max(0.0, checked + RECHECK_EVERY - time.monotonic())
            event = await subscriber.next(wait)
            if time.monotonic() - checked >= RECHECK_EVERY:
                await check_subscriber(ctx.viewer, organization_id)
                checked = time.monotonic()
            if event is not None:
                ctx.after_write()  # each event reads fresh rows (actor, API key)
                yield event


def _actions(actions: list[str], field: str) -> list[str]:
    """The actions a filter names; one no action can be (too long, a NUL) matches nothing."""
    if len(actions) > LIST_MAX:
        raise DomainError(ErrorCode.INVALID_INPUT, f"Too many {field}.", field)
    return [a for a in actions if len(a) <= ACTION_MAX and "\x00" not in a]


def _utc(value: datetime, field: str) -> datetime:
    """Times are stored in UTC; an instant with no UTC datetime (year 1 at +14:00,
    year 9999 at -12:00) is refused rather than failing in the database driver."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise DomainError(ErrorCode.INVALID_INPUT, "This time is out of range.", field) from None


async def event_actor(ctx: Context, event: AuditEvent) -> User | None:
    """The user who made the change, also when they have since left the organization (the
    trail is read by its OWNER and ADMINs); the User type decides whether its email shows."""
    return await load_one(ctx, User, event.actor_user_id)


async def event_api_key(ctx: Context, event: AuditEvent) -> ApiKey | None:
    return await load_one(ctx, ApiKey, event.actor_api_key_id)


async def event_node(ctx: Context, pk: int) -> AuditEvent | None:
    """The event, if the viewer reads its organization's private data (OWNER and ADMIN)."""
    event = await load_one(ctx, AuditEvent, pk)
    if event is None or not reads_private(await ctx.access(event.organization_id)):
        return None
    return event
