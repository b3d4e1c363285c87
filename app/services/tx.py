"""One database transaction per change, callbacks run after it commits, and the
organization lock that serializes changes to one organization."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model
from tortoise.transactions import in_transaction

from app import db
from app.errors import DomainError, not_found
from app.models import Organization, ProjectAssignment

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
