"""Metrics in Prometheus' text format, JSON logs, slow-request and slow-query warnings.

Counters live in the process; with several WORKERS each process answers for
itself (scrape them through the load balancer's per-instance targets, or sum).
Outbox figures come from the database, so every process reports the same.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

from tortoise.backends.asyncpg.client import AsyncpgDBClient
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.backends.sqlite.client import SqliteClient

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Histogram:
    def __init__(self) -> None:
        self.counts: dict[tuple[str, ...], list[int]] = defaultdict(
            lambda: [0] * (len(BUCKETS) + 1)
        )
        self.sums: dict[tuple[str, ...], float] = defaultdict(float)

    def observe(self, labels: tuple[str, ...], seconds: float) -> None:
        self.counts[labels][bisect_left(BUCKETS, seconds)] += 1
        self.sums[labels] += seconds


# Operation names are the client's choice: a label is at most this long, and at most
# MAX_OPERATIONS distinct names get one; later names share OTHER.
MAX_NAME_LENGTH = 64
MAX_OPERATIONS = 200
ANONYMOUS = "-"
OTHER = "other"


def short_name(name: str, limit: int = MAX_NAME_LENGTH) -> str:
    """`name` cut to `limit` characters (the last one an ellipsis when cut)."""
    return name if len(name) <= limit else name[: limit - 1] + "…"


class Metrics:
    def __init__(self, max_operations: int = MAX_OPERATIONS) -> None:
        self.requests: dict[tuple[str, str], int] = defaultdict(int)
        self.latency = Histogram()
        self.rate_limited: dict[str, int] = defaultdict(int)
        # Webhook attempts made by this process, by outcome (succeeded, http_error, error).
        self.webhook_attempts = Histogram()
        self.started = time.time()
        self.max_operations = max_operations
        self.operations: set[str] = set()
        # GraphQL subscriptions open in this process (app/services/event_stream.py).
        self.open_subscriptions = 0

    def operation_label(self, name: str | None) -> str:
        """The label of operation `name` (a name taken from the document, never the
        client's `operationName` unchecked): cut to MAX_NAME_LENGTH, and OTHER once
        `max_operations` names have labels."""
        if not name or name == ANONYMOUS:
            return ANONYMOUS
        label = short_name(name)
        if label in self.operations or label == OTHER:
            return label
        if len(self.operations) >= self.max_operations:
            return OTHER
        self.operations.add(label)
        return label

    def request(self, operation: str | None, outcome: str, seconds: float) -> None:
        label = self.operation_label(operation)
        self.requests[(label, outcome)] += 1
        self.latency.observe((label,), seconds)

    def webhook_attempt(self, outcome: str, seconds: float) -> None:
        self.webhook_attempts.observe((outcome,), seconds)

    def render(self, gauges: dict[str, tuple[str, list[tuple[dict[str, str], float]]]]) -> str:
        lines = [
            "# HELP roster_requests_total GraphQL requests by operation and outcome.",
            "# TYPE roster_requests_total counter",
        ]
        for (operation, outcome), count in sorted(self.requests.items()):
            lines.append(
                f"roster_requests_total{_labels(operation=operation, outcome=outcome)} {count}"
            )
        lines += [
            "# HELP roster_request_duration_seconds GraphQL request latency by operation.",
            "# TYPE roster_request_duration_seconds histogram",
        ]
        for (operation,), counts in sorted(self.latency.counts.items()):
            running = 0
            for bound, count in zip((*BUCKETS, float("inf")), counts, strict=True):
                running += count
                le = "+Inf" if bound == float("inf") else repr(bound)
                lines.append(
                    f"roster_request_duration_seconds_bucket{_labels(operation=operation, le=le)} "
                    f"{running}"
                )
            lines.append(
                f"roster_request_duration_seconds_sum{_labels(operation=operation)} "
                f"{self.latency.sums[(operation,)]:.6f}"
            )
            lines.append(
                f"roster_request_duration_seconds_count{_labels(operation=operation)} {running}"
            )
        lines += [
            "# HELP roster_rate_limited_total Requests refused by a rate limit.",
            "# TYPE roster_rate_limited_total counter",
        ]
        for name, count in sorted(self.rate_limited.items()):
            lines.append(f"roster_rate_limited_total{_labels(limit=name)} {count}")
        lines += _histogram(
            "roster_webhook_attempt_duration_seconds",
            "Webhook delivery attempts by this process, by outcome (succeeded, http_error, "
            "error): how long each took.",
            "outcome",
            self.webhook_attempts,
        )
        lines += [
            "# HELP roster_open_subscriptions GraphQL subscriptions open in this process.",
            "# TYPE roster_open_subscriptions gauge",
            f"roster_open_subscriptions {self.open_subscriptions}",
        ]
        for name, (help_text, samples) in gauges.items():
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
            for labels, value in samples:
                lines.append(f"{name}{_labels(**labels)} {value:g}")
        return "\n".join(lines) + "\n"


def _histogram(name: str, help_text: str, label: str, histogram: Histogram) -> list[str]:
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} histogram"]
    for (value,), counts in sorted(histogram.counts.items()):
        running = 0
        for bound, count in zip((*BUCKETS, float("inf")), counts, strict=True):
            running += count
            le = "+Inf" if bound == float("inf") else repr(bound)
            lines.append(f"{name}_bucket{_labels(**{label: value, 'le': le})} {running}")
        lines.append(f"{name}_sum{_labels(**{label: value})} {histogram.sums[(value,)]:.6f}")
        lines.append(f"{name}_count{_labels(**{label: value})} {running}")
    return lines


def _labels(**labels: str) -> str:
    if not labels:
        return ""
    inner = ",".join(
        f'{key}="{str(value).replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
        for key, value in labels.items()
    )
    return "{" + inner + "}"


METRICS = Metrics()


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and any extras."""

    RESERVED = set(vars(logging.makeLogRecord({})))

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in self.RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(log_format: str = "text", level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("tortoise", "aerich", "aiosqlite", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


_slow_query_seconds: float | None = None
_patched: set[type[BaseDBAsyncClient]] = set()
_query_log = logging.getLogger("roster.slow_query")


# A client's execute_query / execute_query_dict / execute_insert: (self, query, ...) -> result.
_Execute = Callable[..., Awaitable[Any]]


def _timed(method: _Execute) -> _Execute:
    @functools.wraps(method)
    async def wrapper(self: BaseDBAsyncClient, query: str, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await method(self, query, *args, **kwargs)
        finally:
            elapsed = time.perf_counter() - started
            if _slow_query_seconds is not None and elapsed >= _slow_query_seconds:
                _query_log.warning(
                    "slow query %.1f ms: %s",
                    elapsed * 1000,
                    str(query)[:500],
                    extra={"duration_ms": round(elapsed * 1000, 1)},
                )

    return wrapper


def watch_slow_queries(threshold_ms: float | None) -> None:
    """Warn about SQL statements slower than `threshold_ms` (None turns it off).

    Wraps the execute methods of the database client classes once per process.
    """
    global _slow_query_seconds
    _slow_query_seconds = None if threshold_ms is None else threshold_ms / 1000
    for base in (SqliteClient, AsyncpgDBClient):
        for cls in (base, *base.__subclasses__()):
            if cls in _patched:
                continue
            for name in ("execute_query", "execute_query_dict", "execute_insert"):
                if name in vars(cls):
                    setattr(cls, name, _timed(vars(cls)[name]))
            _patched.add(cls)
