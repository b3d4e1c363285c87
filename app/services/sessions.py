"""Announcing that a user's sessions or user row changed, so the session caches of every
process forget them (app/auth/session_cache.py)."""

from __future__ import annotations

from app import db
from app.auth import session_cache
from app.services import tx


async def changed(user_id: int) -> None:
    """Call in the transaction that ends a session or changes the user's row: this
    process forgets the user's cached sessions now and after the commit; on PostgreSQL the
    other processes do when the transaction commits (NOTIFY)."""
    session_cache.forget_user(user_id)
    tx.after_commit(lambda: session_cache.forget_user(user_id))
    if db.dialect() == "postgres":
        await db.connection().execute_query(
            "SELECT pg_notify($1, $2)", [session_cache.NOTIFY_CHANNEL, str(user_id)]
        )
