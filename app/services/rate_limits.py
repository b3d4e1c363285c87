"""Rate limits kept in the database, so every server process counts the same hits.

A use is checked and recorded in one step (`take`): one INSERT … SELECT that adds a hit
for every key only while none of them has reached its limit. On PostgreSQL a
transaction-scoped advisory lock per key makes concurrent takers of one key queue
behind each other, so each statement sees the hits committed before it; SQLite runs
one write at a time already. Thirty parallel requests therefore get exactly `count`
uses, never thirty.

Failed log-ins are counted per (email, client address), with a higher ceiling per
email: a stranger locks only their own address out, not the account's owner.
Invitation mails are counted per organization and per inviting account, so that an
account cannot multiply its allowance by making organizations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from app import config, db
from app.clock import now
from app.errors import DomainError, ErrorCode
from app.models import RateLimitHit
from app.observability import METRICS
from app.services.tx import atomic


@dataclass(frozen=True)
class Limit:
    name: str
    count: int
    window: timedelta

    def key(self, subject: str) -> str:
        return f"{self.name}:{subject.lower()}"[:300]


# Failed log-ins for one email from one client address …
FAILED_LOGIN = Limit("login_failed", 10, timedelta(minutes=15))
# … and for one email from anywhere.
FAILED_LOGIN_EMAIL = Limit("login_failed_email", 50, timedelta(minutes=15))
ACCOUNT_MAIL = Limit("account_mail", 5, timedelta(hours=1))
# Invitation mails (new and resent) from one organization …
INVITATIONS = Limit("invitations", 200, timedelta(hours=1))
# … and from one inviting account, across all its organizations: a hundred, one full
# `inviteMembers`, so that making more organizations sends no more mail.
INVITATIONS_BY_INVITER = Limit("invitations_by_inviter", 100, timedelta(hours=1))


def invitation_subjects(
    organization_id: int, user_id: int | None, api_key_id: int | None
) -> list[tuple[Limit, str]]:
    """The limits one invitation mail counts against: its organization's, and its
    inviter's (the signed-in user, or the API key acting for the organization)."""
    inviter = f"user:{user_id}" if user_id is not None else f"api_key:{api_key_id}"
    return [(INVITATIONS, str(organization_id)), (INVITATIONS_BY_INVITER, inviter)]


def login_subjects(email: str, ip: str | None) -> list[tuple[Limit, str]]:
    """The limits a log-in attempt for `email` from `ip` counts against."""
    return [(FAILED_LOGIN, f"{email}|{ip or '-'}"), (FAILED_LOGIN_EMAIL, email)]


def _insert_sql(keys: int, dialect: str) -> str:
    """INSERT one hit per wanted key, only while every limit has room; RETURNING the ids.

    Parameters: the moment, the keys, then (key, since, count) per limit.
    """
    moment = "CAST(? AS TIMESTAMPTZ)" if dialect == "postgres" else "?"
    wanted = " UNION ALL ".join(["SELECT CAST(? AS TEXT) AS k"] * keys)
    room = " AND ".join(
        ['(SELECT COUNT(*) FROM "rate_limit_hits" WHERE "key" = ? AND "created_at" >= ?) < ?']
        * keys
    )
    return db.placeholders(
        f'INSERT INTO "rate_limit_hits" ("key", "created_at") '
        f"SELECT wanted.k, {moment} FROM ({wanted}) AS wanted WHERE {room} "
        'RETURNING "id"'
    )


async def take(
    hits: Sequence[tuple[Limit, str]], message: str = "Too many requests; try again later."
) -> list[int]:
    """Count one use of each (limit, subject), all or none: the recorded hits' ids, or
    RATE_LIMITED (recording nothing) when any of them has reached its limit."""
    if not config.current().rate_limits or not hits:
        return []
    moment = now()
    wanted = sorted({(limit.key(subject), limit) for limit, subject in hits}, key=lambda w: w[0])
    params: list[object] = [moment, *(key for key, _ in wanted)]
    for key, limit in wanted:
        params += [key, moment - limit.window, limit.count]
    async with atomic() as connection:
        if db.dialect() == "postgres":
            for key, _ in wanted:  # one order everywhere: no deadlock
                await connection.execute_query(
                    "SELECT pg_advisory_xact_lock(hashtext($1))", ["rate:" + key]
                )
        rows = await connection.execute_query_dict(_insert_sql(len(wanted), db.dialect()), params)
    if rows:
        return [row["id"] for row in rows]
    for key, limit in wanted:  # which one refused, for the metrics
        since = moment - limit.window
        if await RateLimitHit.filter(key=key, created_at__gte=since).count() >= limit.count:
            METRICS.rate_limited[limit.name] += 1
    raise DomainError(ErrorCode.RATE_LIMITED, message)


async def release(hit_ids: Sequence[int]) -> None:
    """Forget hits taken for a use that turned out not to count (a successful log-in)."""
    if hit_ids:
        await RateLimitHit.filter(id__in=list(hit_ids)).delete()


async def check_and_record(limit: Limit, subject: str) -> None:
    """Refuse with RATE_LIMITED when the limit is reached, else count this use."""
    await take([(limit, subject)])
