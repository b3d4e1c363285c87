"""The webhook worker: claims due deliveries, POSTs them, records the outcome.

Claiming is one UPDATE … RETURNING that counts the attempt and leases the row by pushing
`next_attempt_at` past the longest an attempt can take; on PostgreSQL the inner SELECT
uses FOR UPDATE SKIP LOCKED, so several server processes share the queue and each
attempt is made by one of them. HTTP happens outside any transaction. A process that dies
mid-attempt leaves the lease to expire and the attempt is made again (at least once; the
receiver dedupes by `webhook-id`, the same on every attempt).

Outcomes (API.md, "Webhooks"): any 2xx SUCCEEDED; 410 FAILED and the endpoint disabled;
anything else (3xx included: redirects are not followed), a connection error or a timeout
is retried after the next delay of WEBHOOK_RETRY_SCHEDULE, or after the receiver's
Retry-After when that is longer; once the schedule is spent, FAILED. An endpoint whose last
20 finished deliveries all FAILED is disabled. Deliveries of a disabled endpoint stay
PENDING, unclaimed, and go out if it is enabled again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.transactions import in_transaction

from app import db
from app.clock import now
from app.config import Settings
from app.models import WebhookDelivery, WebhookEndpoint
from app.models.webhooks import WebhookDeliveryStatus
from app.observability import METRICS
from app.webhooks import outbox
from app.webhooks.secrets import UndecryptableSecret, decrypt
from app.webhooks.sender import Outcome, Sender

log = logging.getLogger("roster.webhooks")

BATCH = 50
# Attempts under way at once in one process.
MAX_IN_FLIGHT = 200
# The lease beyond the attempt's timeout: a claimed row is not due again before it ends.
LEASE_MARGIN = timedelta(seconds=60)
# An endpoint whose last this-many finished deliveries all FAILED is disabled.
FAILURES_TO_DISABLE = 20

PENDING = WebhookDeliveryStatus.PENDING.value
SUCCEEDED = WebhookDeliveryStatus.SUCCEEDED.value
FAILED = WebhookDeliveryStatus.FAILED.value


def _as_datetime(value: datetime | str | None) -> datetime | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class WebhookWorker:
    """Keeps up to MAX_IN_FLIGHT attempts going at once, claiming more as slots free up, so
    a slow receiver (up to the timeout) never holds back the others."""

    def __init__(
        self,
        settings: Settings,
        on_disabled: Callable[[int, str], Awaitable[None]] | None = None,
    ) -> None:
        self.settings = settings
        # Called in the transaction that disables an endpoint (the web layer audits it).
        self.on_disabled = on_disabled
        self.sender = Sender(settings)
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._in_flight: set[asyncio.Task[None]] = set()
        # Attempts made whose outcome is not written yet (see _flush).
        self._outcomes: list[tuple[dict[str, Any], WebhookEndpoint, Outcome]] = []

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        outbox.set_notifier(self.wake)
        self._task = asyncio.create_task(self._run(), name="webhook-worker")

    async def stop(self, grace_seconds: float = 5.0) -> None:
        """Finish the attempts under way (for at most `grace_seconds`), then stop; an
        attempt cut short keeps its lease and is made again later, by any process."""
        outbox.set_notifier(None)
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), grace_seconds)
            except TimeoutError:
                self._task.cancel()
                for task in self._in_flight:
                    task.cancel()
                await asyncio.gather(self._task, *self._in_flight, return_exceptions=True)
        await self.sender.close()

    async def _run(self) -> None:
        while not self._stopping:
            await self._flush()
            claimed = 0
            free = MAX_IN_FLIGHT - len(self._in_flight)
            if free > 0:
                try:
                    claimed = await self.claim_and_start(min(free, BATCH))
                except Exception:
                    log.exception("webhook worker: claiming failed")
            if claimed and len(self._in_flight) < MAX_IN_FLIGHT:
                continue
            await self._idle()
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)
        await self._flush()

    async def _flush(self) -> None:
        """Write the outcomes gathered since the last flush, in one transaction (on SQLite
        one commit instead of one per attempt). Rows are taken in endpoint order, so two
        processes disabling endpoints lock them in the same order. Should it fail, the rows
        keep their lease and the attempts are made again after it."""
        if not self._outcomes:
            return
        outcomes, self._outcomes = self._outcomes, []
        outcomes.sort(key=lambda item: (item[1].id, item[0]["id"]))
        try:
            async with in_transaction():
                await self._record(outcomes)
        except Exception:
            log.exception("webhook worker: recording %s outcomes failed", len(outcomes))

    async def _idle(self) -> None:
        """Until woken, an attempt ends (a slot frees up), or the poll interval passes."""
        waits: set[asyncio.Future[Any]] = {asyncio.ensure_future(self._wake.wait())}
        waits |= set(self._in_flight)
        await asyncio.wait(
            waits, timeout=self.settings.webhook_poll_seconds, return_when=asyncio.FIRST_COMPLETED
        )
        for waiter in waits - set(self._in_flight):
            waiter.cancel()
        self._wake.clear()

    async def claim_and_start(self, limit: int) -> int:
        """Claim up to `limit` due deliveries and start their attempts; returns how many."""
        rows = await claim(limit, self.lease())
        if not rows:
            return 0
        endpoints = {
            e.id: e for e in await WebhookEndpoint.filter(id__in={r["endpoint_id"] for r in rows})
        }
        for row in rows:
            task = asyncio.create_task(
                self._attempt(row, endpoints.get(row["endpoint_id"])), name="webhook-worker"
            )
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)
        return len(rows)

    def lease(self) -> timedelta:
        return timedelta(seconds=self.settings.webhook_timeout_seconds) + LEASE_MARGIN

    def _secrets(self, endpoint: WebhookEndpoint, moment: datetime) -> list[str]:
        """The secrets that sign now: the current one, then the previous one during the
        rotation overlap."""
        secrets = [decrypt(self.settings, endpoint.secret_encrypted)]
        expires = _as_datetime(endpoint.previous_secret_expires_at)
        if endpoint.previous_secret_encrypted and expires is not None and expires > moment:
            secrets.append(decrypt(self.settings, endpoint.previous_secret_encrypted))
        return secrets

    async def _attempt(self, row: dict[str, Any], endpoint: WebhookEndpoint | None) -> None:
        if endpoint is None:  # deleted meanwhile: its deliveries went with it
            return
        moment = now()
        try:
            secrets = self._secrets(endpoint, moment)
        except UndecryptableSecret as exc:
            outcome = Outcome(None, str(exc), None, 0.0)
        else:
            outcome = await self.sender.post(
                endpoint.url, row["message_id"], row["body"], secrets, moment
            )
        METRICS.webhook_attempt(_label(outcome), outcome.seconds)
        self._outcomes.append((row, endpoint, outcome))

    def _decide(self, row: dict[str, Any], outcome: Outcome) -> tuple[str, datetime | None]:
        """The delivery's status after this attempt, and when the next one is due."""
        if outcome.succeeded:
            return SUCCEEDED, None
        if outcome.gone:
            return FAILED, None
        schedule = self.settings.webhook_retry_schedule
        attempts: int = row["attempts"]
        if attempts <= len(schedule):
            delay = schedule[attempts - 1]
            if outcome.retry_after is not None:
                delay = max(delay, outcome.retry_after)
            return PENDING, now() + timedelta(seconds=delay)
        return FAILED, None

    async def _record(
        self, outcomes: list[tuple[dict[str, Any], WebhookEndpoint, Outcome]]
    ) -> None:
        """The outcomes (one multi-row statement), then the endpoints they disable."""
        params: list[list[Any]] = []
        gone: set[int] = set()
        spent: set[int] = set()
        for row, endpoint, outcome in outcomes:
            status, next_attempt_at = self._decide(row, outcome)
            params.append(
                [
                    status,
                    outcome.status,
                    outcome.error,
                    next_attempt_at,
                    row["id"],
                    row["attempts"],
                    PENDING,
                ]
            )
            if outcome.gone:
                gone.add(endpoint.id)
            elif status == FAILED:
                spent.add(endpoint.id)
        # Unless the row moved on meanwhile (its lease ran out and another attempt began).
        await db.connection().execute_many(
            db.placeholders(
                'UPDATE "webhook_deliveries" SET "status" = ?, "response_status" = ?, '
                '"last_error" = ?, "next_attempt_at" = ? '
                'WHERE "id" = ? AND "attempts" = ? AND "status" = ?'
            ),
            params,
        )
        for endpoint_id in sorted(gone | spent):
            if endpoint_id in gone:
                reason: str | None = "The receiver answered 410 Gone."
            else:
                reason = await failing_reason(endpoint_id)
            if reason is not None and await _disable(endpoint_id, reason):
                log.info("webhook endpoint %s disabled: %s", endpoint_id, reason)
                if self.on_disabled is not None:
                    await self.on_disabled(endpoint_id, reason)


def _label(outcome: Outcome) -> str:
    if outcome.succeeded:
        return "succeeded"
    if outcome.status is None:
        return "error"
    return "http_error"


async def claim(limit: int, lease: timedelta) -> list[dict[str, Any]]:
    """Due PENDING deliveries of enabled endpoints, their attempt counted and leased."""
    skip_locked = " FOR UPDATE SKIP LOCKED" if db.dialect() == "postgres" else ""
    moment = now()
    sql = db.placeholders(
        'UPDATE "webhook_deliveries" SET "next_attempt_at" = ?, "last_attempt_at" = ?, '
        '"attempts" = "attempts" + 1 '
        'WHERE "id" IN (SELECT "id" FROM "webhook_deliveries" WHERE "status" = ? '
        'AND "next_attempt_at" <= ? AND "endpoint_id" IN '
        '(SELECT "id" FROM "webhook_endpoints" WHERE "enabled") '
        f'ORDER BY "next_attempt_at", "id" LIMIT ?{skip_locked}) '
        'RETURNING "id", "endpoint_id", "message_id", "body", "attempts"'
    )
    rows = await db.connection().execute_query_dict(
        sql, [moment + lease, moment, PENDING, moment, limit]
    )
    return sorted(rows, key=lambda r: r["id"])


async def _disable(endpoint_id: int, reason: str) -> bool:
    """Whether this disabled the endpoint (False: it was disabled already)."""
    changed = await WebhookEndpoint.filter(id=endpoint_id, enabled=True).update(
        enabled=False, disabled_reason=reason
    )
    return bool(changed)


async def failing_reason(endpoint_id: int) -> str | None:
    """Why the endpoint is to be disabled, when its last FAILURES_TO_DISABLE finished
    deliveries all FAILED; else None."""
    statuses: list[Any] = (
        await WebhookDelivery.filter(endpoint_id=endpoint_id)
        .exclude(status=WebhookDeliveryStatus.PENDING)
        .order_by("-id")
        .limit(FAILURES_TO_DISABLE)
        .values_list("status", flat=True)
    )
    if len(statuses) == FAILURES_TO_DISABLE and all(s == FAILED for s in statuses):
        return f"The last {FAILURES_TO_DISABLE} deliveries failed."
    return None
