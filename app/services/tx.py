"""One database transaction per change, with callbacks run after it commits."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from app import db

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
