"""One webhook attempt: the signed POST (Standard Webhooks 1.0) and what came of it.

Signatures come from the `standardwebhooks` package, one per live secret (the new one
first, then the previous one during the rotation overlap), space-separated in
`webhook-signature`. Redirects are not followed (a 3xx is a failed attempt); the timeout
covers the whole exchange. Unless WEBHOOK_ALLOW_INSECURE is set, the host is resolved by
`PublicOnlyResolver` and a literal address is checked here, so the connection goes only
to an address that passed the SSRF rules at this very attempt.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import aiohttp
from standardwebhooks import Webhook

from app.config import Settings
from app.webhooks.ssrf import PublicOnlyResolver, UnsafeTarget, check_address, literal_address

USER_AGENT = "Roster-Webhooks/1.0"
# A Retry-After longer than this is taken as this (a day): a receiver cannot park a
# delivery for ever.
RETRY_AFTER_CAP_SECONDS = 86400.0
ERROR_MAX = 500
BODY_READ_MAX = 64 * 1024


@dataclass(frozen=True)
class Outcome:
    """What one attempt gave: the HTTP status (None when no answer came), an error text for
    failures, the receiver's Retry-After in seconds, and how long the attempt took."""

    status: int | None
    error: str | None
    retry_after: float | None
    seconds: float

    @property
    def succeeded(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def gone(self) -> bool:
        return self.status == 410


def signature(secrets: list[str], message_id: str, timestamp: datetime, body: str) -> str:
    """`v1,<sig>` for each secret, space-separated (Standard Webhooks)."""
    return " ".join(Webhook(secret).sign(message_id, timestamp, body) for secret in secrets)


def headers(secrets: list[str], message_id: str, moment: datetime, body: str) -> dict[str, str]:
    timestamp = datetime.fromtimestamp(int(moment.timestamp()), UTC)
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signature(secrets, message_id, timestamp, body),
    }


def retry_after(value: str | None, moment: datetime) -> float | None:
    """Retry-After as seconds from `moment`: delta-seconds or an HTTP date, capped."""
    if not value:
        return None
    value = value.strip()
    seconds: float
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - moment).total_seconds()
    return max(0.0, min(seconds, RETRY_AFTER_CAP_SECONDS))


class Sender:
    """An HTTP client for the worker's life (its connection pool), made on first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                resolver=None if self.settings.webhook_allow_insecure else PublicOnlyResolver(),
                use_dns_cache=False,  # every new connection resolves and checks again
                # No pool limit: the worker bounds the attempts in flight, and an attempt
                # waiting for a pool slot would spend its timeout there.
                limit=0,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=self.settings.webhook_timeout_seconds),
                auto_decompress=False,
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def post(
        self, url: str, message_id: str, body: str, secrets: list[str], moment: datetime
    ) -> Outcome:
        started = time.perf_counter()
        try:
            if not self.settings.webhook_allow_insecure:
                host = urlsplit(url).hostname or ""
                if urlsplit(url).scheme != "https":
                    raise UnsafeTarget("The URL must start with https://.")
                if literal_address(host) is not None:
                    check_address(host, host.strip("[]"))
            async with self._client().post(
                url,
                data=body.encode(),
                headers=headers(secrets, message_id, moment, body),
                allow_redirects=False,
            ) as response:
                status = response.status
                wait = retry_after(response.headers.get("Retry-After"), moment)
                # Read a short answer whole so the connection (and its TLS session) can be
                # kept for the next delivery; a longer one is dropped with its connection.
                await response.content.read(BODY_READ_MAX)
        except UnsafeTarget as exc:
            return Outcome(None, f"refused: {exc}"[:ERROR_MAX], None, time.perf_counter() - started)
        except TimeoutError:
            error = f"no answer within {self.settings.webhook_timeout_seconds:g} s"
            return Outcome(None, error, None, time.perf_counter() - started)
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            cause = exc.__cause__ if isinstance(exc.__cause__, UnsafeTarget) else exc
            error = f"{type(cause).__name__}: {cause}"[:ERROR_MAX]
            return Outcome(None, error, None, time.perf_counter() - started)
        elapsed = time.perf_counter() - started
        if 200 <= status < 300:
            return Outcome(status, None, None, elapsed)
        reason = "redirect not followed" if 300 <= status < 400 else "not a 2xx answer"
        return Outcome(status, f"HTTP {status}: {reason}", wait, elapsed)
