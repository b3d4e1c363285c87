"""Rate limits kept in the database, so every server process counts the same hits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from app import config
from app.clock import now
from app.errors import DomainError, ErrorCode
from app.models import RateLimitHit
from app.observability import METRICS


@dataclass(frozen=True)
class Limit:
    name: str
    count: int
    window: timedelta

    def key(self, subject: str) -> str:
        return f"{self.name}:{subject.lower()}"[:300]


FAILED_LOGIN = Limit("login_failed", 10, timedelta(minutes=15))
ACCOUNT_MAIL = Limit("account_mail", 5, timedelta(hours=1))
INVITATIONS = Limit("invitations", 200, timedelta(hours=1))


async def exceeded(limit: Limit, subject: str) -> bool:
    if not config.current().rate_limits:
        return False
    since = now() - limit.window
    hits = await RateLimitHit.filter(key=limit.key(subject), created_at__gte=since).count()
    if hits >= limit.count:
        METRICS.rate_limited[limit.name] += 1
        return True
    return False


async def record(limit: Limit, subject: str, times: int = 1) -> None:
    if not config.current().rate_limits:
        return
    moment = now()
    await RateLimitHit.bulk_create(
        [RateLimitHit(key=limit.key(subject), created_at=moment) for _ in range(times)]
    )


async def check_and_record(limit: Limit, subject: str, times: int = 1) -> None:
    """Refuse with RATE_LIMITED when the limit is reached, else count this use."""
    if await exceeded(limit, subject):
        raise DomainError(ErrorCode.RATE_LIMITED, "Too many requests; try again later.")
    await record(limit, subject, times)
