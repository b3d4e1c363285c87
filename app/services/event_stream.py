"""The live event stream behind `Subscription.organizationEvents`: one broker per process.

Subscribers see exactly the events feed (`Organization.events`, app/services/audit.py):
the same rows, ids and order. For each organization with subscribers the broker keeps the
feed position it has handed out up to; when woken it reads the feed's new rows ONCE for
that organization (not once per subscriber) and hands each to that organization's
subscribers whose `types` match.

Wake-ups:

- PostgreSQL: `audit.record` runs `pg_notify('roster_events', '<organization id>')` in the
  writing transaction; the notification reaches every listening session when (and only
  if) the transaction commits. Each process holds ONE dedicated connection that LISTENs
  (application_name `roster-event-listener`), whatever its number of subscribers, and
  reconnects when it drops, re-reading every organization then. A committed event may still
  be above the feed horizon (a transaction that began before it is still open): a read
  that a notification woke and that found nothing is tried again shortly.
- SQLite (one process): `audit.record` calls the broker's in-process listener, which wakes
  it once the transaction has committed (`tx.after_commit`).
- Either way, every READ_EVERY seconds each organization with subscribers is re-read, a
  safety net for anything that committed unannounced (another process on SQLite, a
  notification lost while the listener reconnected).

Every subscriber's queue is bounded (QUEUE_LIMIT): a consumer that falls that far behind
is cut off (`SubscriberTooSlow`) rather than growing the process's memory; it can resume
from the feed. A process holds at most MAX_SUBSCRIBERS subscribers.

Who may go on subscribing is `check_subscriber` (every RECHECK_EVERY seconds, by the
subscription's own loop): their session or API key still live, and ADMIN+ in the
organization.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.expressions import Q

from app import db
from app.auth import session_cache
from app.auth.roles import Permission, has_permission
from app.auth.viewer import SESSION_IDLE, Viewer
from app.clock import now
from app.models import AuditEvent, Session
from app.observability import METRICS
from app.services import audit, tx
from app.services.audit import Actor

log = logging.getLogger("roster.events")

# Events one subscriber may have waiting; past it they are cut off.
QUEUE_LIMIT = 1000
# Subscribers one process serves at once.
MAX_SUBSCRIBERS = 5000
# Seconds between the safety-net reads of every organization with subscribers.
READ_EVERY = 1.0
# Rows read per statement while catching up.
BATCH = 500
# A read woken by a notification that found nothing (the event still above the feed
# horizon) is tried again after these delays.
RETRY_DELAYS = (0.05, 0.1, 0.2, 0.4)
# Seconds between re-checks of a subscriber's access (cut off within 5 s: this, plus
# CHECK_SHARED_FOR, plus the check itself).
RECHECK_EVERY = 2.0
LISTENER_NAME = "roster-event-listener"
# Before every row of the feed: (tx_id, id).
START: tuple[int, int] = (-1, -1)


class SubscriberTooSlow(Exception):
    """The subscriber let QUEUE_LIMIT events pile up."""


class TooManySubscribers(Exception):
    """This process serves MAX_SUBSCRIBERS subscribers already."""


class SessionEnded(Exception):
    """The subscriber's session or API key no longer signs them in."""


class AccessEnded(Exception):
    """The subscriber is no longer ADMIN+ (or no longer a member) of the organization."""


@dataclass(eq=False)
class Subscriber:
    """One subscription's queue: the events it has yet to take, oldest first."""

    organization_id: int
    types: frozenset[str] | None
    events: deque[AuditEvent] = field(default_factory=deque)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    overflowed: bool = False

    def offer(self, event: AuditEvent) -> None:
        if self.types is not None and event.action not in self.types:
            return
        if len(self.events) >= QUEUE_LIMIT:
            self.overflowed = True
            self.events.clear()
        else:
            self.events.append(event)
        self.ready.set()

    async def next(self, timeout: float) -> AuditEvent | None:
        """The next event, or None when none came within `timeout` seconds."""
        if not self.events and not self.overflowed:
            self.ready.clear()
            with suppress(TimeoutError):
                await asyncio.wait_for(self.ready.wait(), timeout)
        if self.overflowed:
            raise SubscriberTooSlow
        return self.events.popleft() if self.events else None


@dataclass(eq=False)
class _Organization:
    id: int
    subscribers: set[Subscriber] = field(default_factory=set)
    # Subscribers waiting for the lock to join.
    joining: int = 0
    # The feed position handed out up to; None until first read.
    position: tuple[int, int] | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    retries: int = 0


class EventBroker:
    """Reads the feed once per organization and fans it out to this process's subscribers."""

    def __init__(self) -> None:
        self._organizations: dict[int, _Organization] = {}
        self._dirty: set[int] = set()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._stop_listening: Callable[[], None] | None = None
        self.listening = asyncio.Event()
        self._users = 0

    @property
    def open_subscriptions(self) -> int:
        return sum(len(o.subscribers) for o in self._organizations.values())

    async def start(self, database_url: str) -> None:
        """Start reading (and on PostgreSQL, listening on `database_url`). An application
        started while another runs in the same process (tests) shares the running broker;
        it stops when the last one stops."""
        self._users += 1
        if self._users > 1:
            return
        self._organizations.clear()
        self._dirty.clear()
        self._wake = asyncio.Event()
        self.listening = asyncio.Event()
        METRICS.open_subscriptions = 0
        self._tasks = [asyncio.create_task(self._read_loop(), name="event-stream reader")]
        if db.dialect() == "postgres":
            self._tasks.append(
                asyncio.create_task(self._listen_loop(database_url), name="event-stream listener")
            )
        else:
            self._stop_listening = audit.listen(self._written)
            self.listening.set()

    async def stop(self) -> None:
        self._users = max(0, self._users - 1)
        if self._users:
            return
        if self._stop_listening is not None:
            self._stop_listening()
            self._stop_listening = None
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []

    @asynccontextmanager
    async def subscribe(
        self, organization_id: int, types: frozenset[str] | None
    ) -> AsyncIterator[Subscriber]:
        """A subscriber to the organization's events from now on, until the block ends."""
        if self.open_subscriptions >= MAX_SUBSCRIBERS:
            raise TooManySubscribers
        organization = self._organizations.get(organization_id)
        if organization is None:
            organization = self._organizations[organization_id] = _Organization(organization_id)
        subscriber = Subscriber(organization_id, types)
        organization.joining += 1
        try:
            try:
                async with organization.lock:
                    if organization.position is None:
                        organization.position = await _latest_position(organization_id)
                    organization.subscribers.add(subscriber)
            finally:
                organization.joining -= 1
            METRICS.open_subscriptions = self.open_subscriptions
            yield subscriber
        finally:
            organization.subscribers.discard(subscriber)
            if (
                not organization.subscribers
                and not organization.joining
                and self._organizations.get(organization_id) is organization
            ):
                del self._organizations[organization_id]
            METRICS.open_subscriptions = self.open_subscriptions

    def wake(self, organization_id: int) -> None:
        """Read the organization's new events soon (when it has subscribers here)."""
        if organization_id in self._organizations:
            self._dirty.add(organization_id)
            self._wake.set()

    def wake_all(self) -> None:
        self._dirty.update(self._organizations)
        self._wake.set()

    def _written(self, organization_id: int) -> None:
        """An event is being written in this process (SQLite): read once it commits."""
        tx.after_commit(lambda: self.wake(organization_id))

    def _notified(self, _connection: Any, _pid: int, _channel: str, payload: object) -> None:
        try:
            organization_id = int(str(payload))
        except ValueError:
            return
        organization = self._organizations.get(organization_id)
        if organization is not None:
            organization.retries = len(RETRY_DELAYS)
            self.wake(organization_id)

    async def _read_loop(self) -> None:
        loop = asyncio.get_running_loop()
        swept = loop.time()
        while True:
            with suppress(TimeoutError):
                await asyncio.wait_for(
                    self._wake.wait(), max(0.0, swept + READ_EVERY - loop.time())
                )
            if loop.time() >= swept + READ_EVERY:  # also when wake-ups never stop
                self._dirty.update(self._organizations)
                swept = loop.time()
            self._wake.clear()
            dirty, self._dirty = self._dirty, set()
            for organization_id in dirty:
                organization = self._organizations.get(organization_id)
                if organization is None:
                    continue
                try:
                    found = await self._read(organization)
                except Exception:  # the database may be down: the next tick tries again
                    log.warning("event stream: reading the feed failed", exc_info=True)
                    continue
                if found:
                    organization.retries = 0
                elif organization.retries > 0:
                    delay = RETRY_DELAYS[len(RETRY_DELAYS) - organization.retries]
                    organization.retries -= 1
                    loop.call_later(delay, self.wake, organization_id)

    async def _read(self, organization: _Organization) -> int:
        """Hand out the organization's feed rows past its position; how many were read."""
        found = 0
        async with organization.lock:
            if not organization.subscribers or organization.position is None:
                return 0
            while True:
                rows = await _rows_after(organization.id, organization.position)
                for row in rows:
                    for subscriber in list(organization.subscribers):
                        subscriber.offer(row)
                if rows:
                    organization.position = (rows[-1].tx_id, rows[-1].id)
                found += len(rows)
                if len(rows) < BATCH:
                    return found

    async def _listen_loop(self, database_url: str) -> None:
        """Hold one LISTENing connection; reconnect (and re-read everything) when it drops."""
        parameters = _connect_parameters(database_url)
        delay = 0.5
        while True:
            connection: asyncpg.Connection | None = None
            try:
                connection = await asyncpg.connect(
                    **parameters,
                    timeout=10,
                    server_settings={"application_name": LISTENER_NAME},
                )
                closed = asyncio.Event()
                connection.add_termination_listener(_setter(closed))
                await connection.add_listener(audit.NOTIFY_CHANNEL, self._notified)
                await connection.add_listener(session_cache.NOTIFY_CHANNEL, _sessions_changed)
                session_cache.forget_all()  # what was ended while nobody listened
                self.listening.set()
                self.wake_all()  # what committed while nobody listened
                delay = 0.5
                while not closed.is_set():
                    with suppress(TimeoutError):
                        await asyncio.wait_for(closed.wait(), 5)
                    if not closed.is_set():
                        # A dead peer is only noticed when something is sent.
                        await connection.fetchval("SELECT 1", timeout=5)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("event stream: the listening connection failed", exc_info=True)
            finally:
                self.listening.clear()
                if connection is not None:
                    connection.terminate()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)


BROKER = EventBroker()


def _sessions_changed(_connection: Any, _pid: int, _channel: str, payload: object) -> None:
    """Another process ended a user's session or changed the user: forget them here."""
    try:
        session_cache.forget_user(int(str(payload)))
    except ValueError:
        session_cache.forget_all()


def _connect_parameters(database_url: str) -> dict[str, Any]:
    """asyncpg's connection parameters from DATABASE_URL, read as Tortoise reads it (its
    pool options, such as `maxsize`, left out)."""
    url = database_url.replace("postgresql://", "postgres://", 1)
    credentials = expand_db_url(url)["credentials"]
    keys = ("host", "port", "user", "password", "database", "ssl")
    return {k: credentials[k] for k in keys if credentials.get(k) not in (None, "")}


def _setter(event: asyncio.Event) -> Callable[[Any], None]:
    return lambda _connection: event.set()


async def _horizon_filter(organization_id: int) -> Q:
    horizon = await audit.feed_horizon()
    where = Q(organization_id=organization_id)
    return where if horizon is None else where & Q(tx_id__lt=horizon)


async def _latest_position(organization_id: int) -> tuple[int, int]:
    """The position of the organization's last listed event (START when none)."""
    rows = (
        await AuditEvent.filter(await _horizon_filter(organization_id))
        .order_by("-tx_id", "-id")
        .limit(1)
        .values_list("tx_id", "id")
    )
    return (int(rows[0][0]), int(rows[0][1])) if rows else START


async def _rows_after(organization_id: int, position: tuple[int, int]) -> list[AuditEvent]:
    """The feed's rows after `position`, in feed order, at most BATCH."""
    tx_id, pk = position
    after = Q(tx_id__gt=tx_id) | Q(tx_id=tx_id, id__gt=pk)
    return (
        await AuditEvent.filter(await _horizon_filter(organization_id))
        .filter(after)
        .order_by("tx_id", "id")
        .limit(BATCH)
    )


# A check's outcome is shared for this long by the subscriptions of one session or API key
# to one organization (a client with many subscriptions costs one check, not many).
CHECK_SHARED_FOR = 1.0
_Key = tuple[str, int, int]
_Outcome = type[Exception] | None
_checked: dict[_Key, tuple[float, _Outcome]] = {}
_checking: dict[_Key, asyncio.Future[_Outcome]] = {}


async def check_subscriber(viewer: Viewer, organization_id: int) -> None:
    """SessionEnded or AccessEnded unless the viewer may still read the organization's
    events: their session not logged out, reset or expired (or their API key neither
    revoked nor expired), and ADMIN+ there. The outcome is shared for CHECK_SHARED_FOR
    seconds by the viewer's other subscriptions to that organization, and concurrent
    checks of the same wait for one query."""
    if viewer.session is not None:
        key: _Key = ("session", viewer.session.id, organization_id)
    elif viewer.api_key is not None:
        key = ("api_key", viewer.api_key.id, organization_id)
    else:
        raise SessionEnded
    cached = _checked.get(key)
    if cached is not None and time.monotonic() - cached[0] < CHECK_SHARED_FOR:
        outcome = cached[1]
    else:
        pending = _checking.get(key)
        if pending is None:
            pending = _checking[key] = asyncio.ensure_future(_outcome(key, viewer))
        outcome = await asyncio.shield(pending)
    if outcome is not None:
        raise outcome


async def _outcome(key: _Key, viewer: Viewer) -> _Outcome:
    try:
        await _check(viewer, key[2])
        outcome: _Outcome = None
    except (SessionEnded, AccessEnded) as ended:
        outcome = type(ended)
    finally:
        _checking.pop(key, None)
    if len(_checked) >= MAX_SUBSCRIBERS:
        _checked.clear()
    _checked[key] = (time.monotonic(), outcome)
    return outcome


async def _check(viewer: Viewer, organization_id: int) -> None:
    if viewer.session is not None:
        session = await Session.get_or_none(id=viewer.session.id).only("id", "last_used_at")
        if session is None or session.last_used_at < now() - SESSION_IDLE:
            raise SessionEnded
    access = await tx.current_access(Actor(viewer=viewer), organization_id)
    if access is None:
        if viewer.api_key is not None:
            raise SessionEnded
        raise AccessEnded
    if not has_permission(access.role, Permission.READ_PRIVATE):
        raise AccessEnded
