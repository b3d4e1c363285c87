"""The mail worker: claims due outbox rows, delivers them, records the outcome.

Claiming is one UPDATE … RETURNING that leases rows for a while; on
PostgreSQL the inner SELECT uses FOR UPDATE SKIP LOCKED, so several server
processes share the outbox and each attempt is made by one of them. Delivery
happens outside any transaction. A crash mid-delivery leaves the lease to expire
and the mail is tried again: delivery is at least once, and a mail sent twice
carries the same Message-ID both times (app/mail/sender.py).
"""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from app import db
from app.clock import now
from app.config import Settings
from app.mail import outbox
from app.mail.sender import (
    PermanentFailure,
    TemporaryFailure,
    build_message,
    message_id,
    send,
)
from app.models.enums import DeliveryStatus

log = logging.getLogger("roster.mail")

BATCH = 20
LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 12
BACKOFF_BASE_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 300.0
# Without SMTP_URL, a logged mail stays QUEUED but is not looked at again
# (until `outbox retry` or a restart with SMTP_URL set makes it due).
LOG_ONLY_PARK = timedelta(days=36500)


def _as_datetime(value: datetime | str) -> datetime:
    """A timestamp as raw SQL returns it (SQLite: ISO 8601 text), aware, in UTC."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def backoff(attempts: int) -> timedelta:
    """Exponential backoff with full jitter, capped."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempts - 1))
    return timedelta(seconds=random.uniform(ceiling / 2, ceiling))


class MailWorker:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        outbox.set_notifier(self.wake)
        self._task = asyncio.create_task(self._run(), name="mail-worker")

    async def stop(self, drain_seconds: float = 10.0) -> None:
        """Deliver what is due (for at most `drain_seconds`), then stop."""
        outbox.set_notifier(None)
        self._stopping = True
        self._wake.set()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), drain_seconds)
        except TimeoutError:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            try:
                delivered = await self.run_once()
            except Exception:
                log.exception("mail worker pass failed")
                delivered = 0
            if self._stopping and delivered == 0:
                return
            if delivered:
                continue
            try:
                await asyncio.wait_for(self._wake.wait(), self.settings.outbox_poll_seconds)
            except TimeoutError:
                pass
            self._wake.clear()

    async def run_once(self) -> int:
        """Claim and handle one batch; returns how many mails were handled."""
        rows = await claim(BATCH)
        for row in rows:
            await self._deliver(row)
        return len(rows)

    async def _deliver(self, row: dict[str, Any]) -> None:
        if self.settings.smtp is None:
            log.info(
                "mail (no SMTP_URL, kept in the outbox) to=%s subject=%s\n%s",
                row["to_email"],
                row["subject"],
                row["text_body"],
            )
            await _park(row["id"])
            return
        created_at = _as_datetime(row["created_at"])
        message = build_message(
            self.settings.mail_from,
            row["to_email"],
            row["subject"],
            row["text_body"],
            row["html_body"],
            message_id=message_id(row["id"], created_at, self.settings),
            date=created_at,
        )
        try:
            await send(self.settings.smtp, message)
        except PermanentFailure as exc:
            log.warning("mail %s failed for good: %s", row["id"], exc)
            await _finish(row["id"], DeliveryStatus.FAILED, str(exc))
        except TemporaryFailure as exc:
            if row["attempts"] >= MAX_ATTEMPTS:
                log.warning("mail %s failed after %s attempts: %s", row["id"], MAX_ATTEMPTS, exc)
                await _finish(row["id"], DeliveryStatus.FAILED, str(exc))
            else:
                log.info("mail %s deferred (attempt %s): %s", row["id"], row["attempts"], exc)
                await _retry_later(row["id"], backoff(row["attempts"]), str(exc))
        else:
            await _finish(row["id"], DeliveryStatus.SENT, None)


async def claim(limit: int) -> list[dict[str, Any]]:
    skip_locked = " FOR UPDATE SKIP LOCKED" if db.dialect() == "postgres" else ""
    moment = now()
    sql = db.placeholders(
        'UPDATE "outbox_mails" SET "locked_until" = ?, "attempts" = "attempts" + 1 '
        'WHERE "id" IN (SELECT "id" FROM "outbox_mails" WHERE "status" = ? '
        'AND "next_attempt_at" <= ? AND ("locked_until" IS NULL OR "locked_until" < ?) '
        f'ORDER BY "id" LIMIT ?{skip_locked}) '
        'RETURNING "id", "to_email", "subject", "text_body", "html_body", "attempts", '
        '"created_at"'
    )
    rows = await db.connection().execute_query_dict(
        sql, [moment + LEASE, DeliveryStatus.QUEUED.value, moment, moment, limit]
    )
    return sorted(rows, key=lambda r: r["id"])


async def _finish(mail_id: int, status: DeliveryStatus, error: str | None) -> None:
    column = "sent_at" if status is DeliveryStatus.SENT else "failed_at"
    await db.connection().execute_query(
        db.placeholders(
            f'UPDATE "outbox_mails" SET "status" = ?, "{column}" = ?, "last_error" = ?, '
            '"locked_until" = NULL WHERE "id" = ?'
        ),
        [status.value, now(), error, mail_id],
    )


async def _retry_later(mail_id: int, delay: timedelta, error: str) -> None:
    await db.connection().execute_query(
        db.placeholders(
            'UPDATE "outbox_mails" SET "next_attempt_at" = ?, "last_error" = ?, '
            '"locked_until" = NULL WHERE "id" = ?'
        ),
        [now() + delay, error, mail_id],
    )


async def _park(mail_id: int) -> None:
    await _retry_later(mail_id, LOG_ONLY_PARK, "no SMTP_URL configured: logged only")
