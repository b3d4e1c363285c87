"""One database transaction per change, callbacks run after it commits, and the
organization lock that serializes changes to one organization.

Every change that locks an organization on behalf of an actor takes the lock with
`locked_for` / `locked_row_for` / `locked_where_for`: they re-read the actor's access
once the lock is held and check the permission the change needs, so that a role
taken away while the request waited for the lock (an ADMIN demoted, removed or
blocked, an API key revoked) no longer counts. The permission classes checked the
role before the lock; this is the check that decides.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import replace
from typing import Any, TypeVar

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model
from tortoise.transactions import in_transaction

from app import db
from app.auth.roles import Permission, has_permission
from app.auth.viewer import OrgAccess
from app.clock import now
from app.errors import DomainError, ErrorCode, not_found
from app.models import ApiKey, Member, Organization, ProjectAssignment
from app.models.enums import OrganizationRole
from app.services.audit import Actor
from app.services.expiry import active_q, role_now

Row = TypeVar("Row", bound=Model)

_after_commit: ContextVar[list[Callable[[], None]] | None] = ContextVar(
    "after_commit", default=None
)


@asynccontextmanager
async def atomic() -> AsyncIterator[BaseDBAsyncClient]:
    """A transaction; nested calls join the outer one.

    Never await mail, HTTP or anything slow inside: on SQLite the one
    connection is held for the whole block.
    """
    outer = _after_commit.get()
    if outer is not None:
        yield db.connection()
        return
    callbacks: list[Callable[[], None]] = []
    token = _after_commit.set(callbacks)
    try:
        async with in_transaction() as connection:
            yield connection
    finally:
        _after_commit.reset(token)
    for callback in callbacks:
        callback()


def after_commit(callback: Callable[[], None]) -> None:
    """Run `callback` once the current transaction commits (now if there is none)."""
    callbacks = _after_commit.get()
    if callbacks is None:
        callback()
    else:
        callbacks.append(callback)


async def lock_organization(organization_id: int) -> None:
    """Serialize changes to one organization's members, seats and owner.

    On PostgreSQL this takes the organization row's lock for the rest of the
    transaction; SQLite runs one transaction at a time already.
    """
    if db.dialect() == "postgres":
        await db.connection().execute_query(
            'SELECT id FROM "organizations" WHERE id = $1 FOR UPDATE', [organization_id]
        )


async def locked(organization_id: int) -> Organization:
    """The organization, locked for this transaction."""
    await lock_organization(organization_id)
    organization = await Organization.get_or_none(id=organization_id)
    if organization is None:
        raise not_found("Organization", "organizationId")
    return organization


async def locked_where(
    model: type[Row], missing: DomainError, **where: Any
) -> tuple[Organization, Row]:
    """The `model` row matching `where`, with its organization locked for this transaction.

    The row's organization is looked up, locked, and only then the row loaded: it may
    have changed or gone while the lock was awaited. `missing` is raised when no row
    matches, before or after the lock.
    """
    # A project assignment belongs to its project's organization.
    path = "project__organization_id" if model is ProjectAssignment else "organization_id"
    found: list[Any] = await model.filter(**where).limit(1).values_list(path, flat=True)
    if not found:
        raise missing
    organization = await locked(found[0])
    row = await model.get_or_none(**where)
    if row is None:
        raise missing
    return organization, row


async def locked_row(model: type[Row], pk: int, what: str, field: str) -> tuple[Organization, Row]:
    """Row `pk` of `model` with its organization locked, or NOT_FOUND naming `what`."""
    return await locked_where(model, not_found(what, field), id=pk)


# The actor's access, re-read under the lock ---------------------------------------------


async def current_access(actor: Actor, organization_id: int) -> OrgAccess | None:
    """The actor's access to the organization as it stands now: their membership ACTIVE
    now (not past its expiry; a temporary role past its end read as reverted: see
    app/services/expiry.py), or their API key of that organization while it is neither
    revoked nor expired."""
    if actor.viewer.api_key is not None:
        key = await ApiKey.get_or_none(id=actor.viewer.api_key.id)
        if (
            key is None
            or key.organization_id != organization_id
            or key.revoked_at is not None
            or (key.expires_at is not None and key.expires_at <= now())
        ):
            return None
        return OrgAccess(organization_id, OrganizationRole(key.role))
    if actor.user_id is None:
        return None
    member = (
        await Member.filter(active_q(), organization_id=organization_id, user_id=actor.user_id)
        .limit(1)
        .first()
    )
    if member is None:
        return None
    return OrgAccess(organization_id, role_now(member), member.id)


async def recheck(
    actor: Actor,
    organization_id: int,
    permission: Permission,
    missing: DomainError,
    field: str | None,
) -> Actor:
    """`actor` with their access re-read (call with the organization locked).

    `missing` when they have no access any more (as for someone who never had any:
    nothing to see); FORBIDDEN_ROLE when their role no longer grants `permission`.
    """
    access = await current_access(actor, organization_id)
    if access is None:
        raise missing
    if not has_permission(access.role, permission):
        raise DomainError(
            ErrorCode.FORBIDDEN_ROLE, "Your role in this organization does not allow this.", field
        )
    return replace(actor, access=access)


async def locked_for(
    actor: Actor, organization_id: int, permission: Permission
) -> tuple[Organization, Actor]:
    """The organization locked for this transaction, and the actor as they stand now."""
    organization = await locked(organization_id)
    missing = not_found("Organization", "organizationId")
    return organization, await recheck(
        actor, organization.id, permission, missing, "organizationId"
    )


async def locked_where_for(
    actor: Actor, permission: Permission, model: type[Row], missing: DomainError, **where: Any
) -> tuple[Organization, Row, Actor]:
    """As `locked_where`, and the actor as they stand now (`missing` when they have no
    access any more)."""
    organization, row = await locked_where(model, missing, **where)
    field = missing.field[0] if missing.field else None
    return organization, row, await recheck(actor, organization.id, permission, missing, field)


async def locked_row_for(
    actor: Actor, permission: Permission, model: type[Row], pk: int, what: str, field: str
) -> tuple[Organization, Row, Actor]:
    """As `locked_row`, and the actor as they stand now."""
    return await locked_where_for(actor, permission, model, not_found(what, field), id=pk)
