from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import strawberry

from app.auth.roles import Permission, has_permission
from app.errors import DomainError, ErrorCode
from app.ids import from_global_id, pk_of
from app.models import ApiKey, AuditEvent, User
from app.schema.loaders import load_one
from app.schema.pagination import Order, connection, paginate
from app.services.validation import LIST_MAX


async def organization_events(
    info: strawberry.Info,
    org: Any,
    first: int | None,
    after: str | None,
    actions: list[str] | None,
    actor_id: str | None,
    target_id: str | None,
    since: datetime | None,
    until: datetime | None,
) -> Any:
    from app.schema.audit import AuditEventType

    queryset = AuditEvent.filter(organization_id=org.pk)
    if actions is not None:
        if len(actions) > LIST_MAX:
            raise DomainError(ErrorCode.INVALID_INPUT, "Too many actions.", "actions")
        queryset = queryset.filter(
            action__in=[a for a in actions if len(a) <= 64 and "\x00" not in a]
        )
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
    page = await paginate(queryset, Order((), descending=True), first=first, after=after)
    return connection(page, AuditEventType.from_model, queryset.count)


def _utc(value: datetime, field: str) -> datetime:
    """Times are stored in UTC; an instant with no UTC datetime (year 1 at +14:00,
    year 9999 at -12:00) is refused rather than failing in the database driver."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise DomainError(ErrorCode.INVALID_INPUT, "This time is out of range.", field) from None


async def actor(info: strawberry.Info, event: Any) -> Any:
    from app.resolvers.accounts import user_node

    if event.actor_user_id is None:
        return None
    return await user_node(info, event.actor_user_id) or await _former_member(info, event)


async def _former_member(info: strawberry.Info, event: Any) -> Any:
    """Admins reading the trail see actors who have since left, without their email."""
    from app.schema.accounts import UserType

    user = await load_one(info, User, event.actor_user_id)
    return UserType.from_model(user) if user else None


async def actor_api_key(info: strawberry.Info, event: Any) -> Any:
    from app.schema.domains import ApiKeyType

    key = await load_one(info, ApiKey, event.actor_api_key_id)
    return ApiKeyType.from_model(key) if key else None


async def event_node(info: strawberry.Info, pk: int) -> Any:
    from app.schema.audit import AuditEventType

    event = await load_one(info, AuditEvent, pk)
    if event is None:
        return None
    access = await info.context.access(event.organization_id)
    if access is None or not has_permission(access.role, Permission.READ_PRIVATE):
        return None
    return AuditEventType.from_model(event)
