"""A short in-process cache of session token → session and user, so a signed-in request
does not read the `sessions` and `users` rows every time.

Entries live `session_cache_seconds` (SESSION_CACHE_SECONDS, default 5; 0 turns the cache
off) and at most `MAX_ENTRIES`, least recently used dropped first. Whatever ends a session
or changes a user's row (log-out, password reset, e-mail verification, an idle session's
deletion) calls `app.services.sessions.changed(user_id)` in its transaction: this process
forgets the user's entries at once and again after the commit, and on PostgreSQL a
NOTIFY on `NOTIFY_CHANNEL`, delivered when the transaction commits, makes every other
process forget them (their event-stream listener calls `forget_user`). A process whose
listening connection was down forgets everything when it reconnects; the lifetime bounds
what a lost notification can cost.

A request never gets the cached objects themselves: `lookup` hands out fresh copies, so
what one request changes on its `viewer.user` (a save that may roll back) never reaches
another. A lookup that started before an invalidation never stores its (maybe older) rows
(`generation`).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from tortoise.models import Model

from app import config
from app.models import Session, User

NOTIFY_CHANNEL = "roster_sessions"
MAX_ENTRIES = 10_000

M = TypeVar("M", bound=Model)


@dataclass
class _Entry:
    session: Session
    user: User
    expires: float


_entries: OrderedDict[str, _Entry] = OrderedDict()
_generation = 0


def _copy(instance: M) -> M:
    clone = type(instance).__new__(type(instance))
    clone.__dict__.update(instance.__dict__)
    return clone


def generation() -> int:
    """Read before looking a session up in the database; pass to `store`."""
    return _generation


def lookup(token_hash: str) -> Session | None:
    """A fresh copy of the cached session (its `user` loaded), or None."""
    entry = _entries.get(token_hash)
    if entry is None:
        return None
    if entry.expires <= time.monotonic():
        del _entries[token_hash]
        return None
    _entries.move_to_end(token_hash)
    session = _copy(entry.session)
    session._user = _copy(entry.user)  # select_related's slot
    return session


def store(session: Session, user: User, seen_generation: int) -> None:
    """Remember a session read from the database, unless an invalidation happened since
    `seen_generation` was read or the cache is off."""
    seconds = config.current().session_cache_seconds
    if seconds <= 0 or seen_generation != _generation:
        return
    _entries[session.token_hash] = _Entry(_copy(session), _copy(user), time.monotonic() + seconds)
    _entries.move_to_end(session.token_hash)
    while len(_entries) > MAX_ENTRIES:
        _entries.popitem(last=False)


def touched(token_hash: str, last_used_at: datetime) -> None:
    """The session's `last_used_at` was written: keep the cached copy in step."""
    entry = _entries.get(token_hash)
    if entry is not None:
        entry.session.last_used_at = last_used_at


def forget_user(user_id: int) -> None:
    """Drop every cached session of the user."""
    global _generation
    _generation += 1
    for token_hash in [h for h, e in _entries.items() if e.user.id == user_id]:
        del _entries[token_hash]


def forget_all() -> None:
    global _generation
    _generation += 1
    _entries.clear()
