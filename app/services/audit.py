"""The audit trail: who acts (`Actor`) and the one function that writes an event, in the
caller's transaction; and the horizon of the events feed.

The feed lists an organization's events in commit order, (tx_id, id): on PostgreSQL `tx_id`
is the writing transaction's id, filled in by the database in the INSERT itself (the
column's default, app/models/audit.py). Transaction ids are handed out before commit, so
a transaction still open may yet commit events at a position below those already
committed; `feed_horizon` is the oldest transaction id still open, and the feed lists only
positions below it. On SQLite, which runs one write transaction at a time, `id` is
commit order and there is no horizon.

Services do not call `record` themselves: each action has its function in
app/services/events.py, the vocabulary of actions and their data.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient, TransactionalDBClient

from app import db
from app.auth.viewer import OrgAccess, Viewer
from app.models import AuditEvent, User
from app.webhooks.outbox import fan_out


@dataclass(frozen=True)
class Actor:
    """Who makes a change: the viewer, their access to the organization, their address."""

    viewer: Viewer
    access: OrgAccess | None = None
    ip: str | None = None

    @classmethod
    def for_user(cls, user: User | None, ip: str | None) -> Actor:
        """A person acting for themself, with no role in an organization (signing up,
        following a mailed link); None for someone not signed in."""
        return cls(viewer=Viewer(user=user), ip=ip)

    @property
    def user_id(self) -> int | None:
        return self.viewer.user.id if self.viewer.user else None

    @property
    def api_key_id(self) -> int | None:
        return self.viewer.api_key.id if self.viewer.api_key else None

    @property
    def member_id(self) -> int | None:
        return self.access.member_id if self.access else None


async def record(
    actor: Actor,
    action: str,
    *,
    organization_id: int | None,
    target_type: str,
    target_id: int | None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Write one event. Its `tx_id` is left to the database (the column's default, the
    inserting transaction's id on PostgreSQL), so it is never read back here.

    The event's webhook deliveries are written here too, in the same transaction
    (app/webhooks/outbox.py)."""
    event = await AuditEvent.create(
        organization_id=organization_id,
        action=action,
        actor_user_id=actor.user_id,
        actor_api_key_id=actor.api_key_id,
        target_type=target_type,
        target_id=target_id,
        data=data or {},
        ip=actor.ip,
    )
    await fan_out(event)
    if organization_id is not None:
        await _announce(organization_id)
    return event


# The live stream's wake-up (app/services/event_stream.py). On PostgreSQL a notification
# on this channel, sent in the writing transaction, reaches every listening session when
# the transaction commits (and never if it rolls back); the payload is the organization id.
NOTIFY_CHANNEL = "roster_events"
# In-process listeners, called in the writing transaction with the organization id (the
# live stream's broker registers one on SQLite, where there is no NOTIFY).
_listeners: list[Callable[[int], None]] = []


def listen(listener: Callable[[int], None]) -> Callable[[], None]:
    """Call `listener(organization_id)` for every event written in this process, in the
    writing transaction; returns the function that stops it."""
    _listeners.append(listener)
    return lambda: _listeners.remove(listener)


# The organizations each open PostgreSQL transaction has announced: one NOTIFY per
# transaction and organization, however many events it writes (a bulk invitation).
_announced: weakref.WeakKeyDictionary[BaseDBAsyncClient, set[int]] = weakref.WeakKeyDictionary()


async def _announce(organization_id: int) -> None:
    if db.dialect() == "postgres":
        connection = db.connection()
        announced = (
            _announced.setdefault(connection, set())
            if isinstance(connection, TransactionalDBClient)
            else set()
        )
        if organization_id not in announced:
            announced.add(organization_id)
            await connection.execute_query(
                "SELECT pg_notify($1, $2)", [NOTIFY_CHANNEL, str(organization_id)]
            )
    for listener in list(_listeners):
        listener(organization_id)


# The oldest transaction id still running when the statement's snapshot was taken: every
# transaction below it has committed or rolled back, every one that may still commit an
# event is at or above it. xid8, which a BIGINT holds.
_HORIZON_SQL = 'SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS "horizon"'


async def feed_horizon() -> int | None:
    """The events feed lists positions (`tx_id`) strictly below this; None: no limit.

    Read before the page itself: a later statement sees every transaction that had ended
    by then, so an older horizon is only more cautious, never wrong. Any transaction
    holding a transaction id (one that has written) holds the horizon back while it stays
    open, in any database of the server; read-only transactions do not.
    """
    if db.dialect() != "postgres":
        return None
    rows = await db.connection().execute_query_dict(_HORIZON_SQL)
    return int(rows[0]["horizon"])
