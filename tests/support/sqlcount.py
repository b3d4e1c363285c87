"""Count the SQL statements the app sends, by listening to Tortoise's query log.

Tortoise logs every statement at DEBUG on the `tortoise.db_client` logger
(`execute_query`, `execute_insert`, ... in tortoise/backends/*/client.py), so a
handler there sees exactly what reaches the database, on SQLite and PostgreSQL.
The app runs in the test's process (aiohttp TestClient), so requests count too;
statements from background tasks (the mail and webhook workers, the expiry sweeper, the
event stream) do not, since they come and go on their own clock.

    with count_statements() as sql:
        await gql(client, QUERY, ...)
    assert sql.count == 7, sql.statements
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager

_LOGGER = "tortoise.db_client"
BACKGROUND_TASKS = frozenset(
    {
        "mail-worker",
        "webhook-worker",
        "expiry-sweeper",
        "event-stream reader",
        "event-stream listener",
    }
)
_SQL_START = ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "BEGIN", "COMMIT", "ROLLBACK")


def _in_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class StatementCounter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        # Queries are logged as ("%s: %s", query, values) or (query,); connection
        # open/close messages are not SQL and are skipped.
        task = asyncio.current_task() if _in_loop() else None
        if task is not None and task.get_name() in BACKGROUND_TASKS:
            return
        text = str(record.args[0]) if record.args else str(record.msg)
        if text.lstrip().upper().startswith(_SQL_START):
            self.statements.append(text.strip())

    @property
    def count(self) -> int:
        return len(self.statements)

    def selects(self) -> list[str]:
        return [s for s in self.statements if s.upper().startswith(("SELECT", "WITH"))]


@contextmanager
def count_statements() -> Iterator[StatementCounter]:
    logger = logging.getLogger(_LOGGER)
    counter = StatementCounter()
    level = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(counter)
    try:
        yield counter
    finally:
        logger.removeHandler(counter)
        logger.setLevel(level)
