"""The database: Tortoise configuration, start-up, migrations and small SQL helpers."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar, cast

import aiosqlite
import asyncpg
from aerich import Command
from tortoise import Tortoise
from tortoise.backends.asyncpg.client import AsyncpgDBClient, TransactionWrapper
from tortoise.backends.base.client import (
    BaseDBAsyncClient,
    ConnectionWrapper,
    TransactionalDBClient,
    TransactionContextPooled,
)
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.backends.sqlite.client import (
    SqliteClient,
    SqliteTransactionContext,
    SqliteTransactionWrapper,
)
from tortoise.connection import get_connection, get_connections
from tortoise.exceptions import DBConnectionError
from tortoise.fields import DatetimeField
from tortoise.models import Model
from tortoise.queryset import QuerySet

from app import config

log = logging.getLogger(__name__)
M = TypeVar("M", bound=Model)


class PooledConnection(asyncpg.Connection):
    """No reset query on release to the pool.

    asyncpg's default (advisory unlock, CLOSE ALL, UNLISTEN, RESET ALL) is one
    extra round trip per checkout; Roster uses none of those session features,
    and an open transaction is still rolled back on release.
    """

    def get_reset_query(self) -> str:
        return ""


class _Transaction(TransactionContextPooled):
    """Tortoise's pooled transaction, releasing its connection when BEGIN fails.

    Tortoise acquires the connection and then sends BEGIN; when BEGIN raises (the
    database went away) `__aexit__` never runs and the connection never returns to
    the pool. After `pool size` such failures every later request waits for a
    connection forever, also once the database is back.
    """

    __slots__ = ()

    async def __aenter__(self) -> TransactionalDBClient:
        try:
            return await super().__aenter__()
        except BaseException:
            token = getattr(self, "token", None)
            if token is not None:  # acquired, then BEGIN failed
                get_connections().reset(token)
                await self.client._parent._pool.release(self.client._connection)
            raise


class RosterAsyncpgClient(AsyncpgDBClient):
    def _in_transaction(self) -> _Transaction:
        return _Transaction(TransactionWrapper(self), self._pool_init_lock)


class _SqliteConnection(ConnectionWrapper[aiosqlite.Connection]):
    """Tortoise's SQLite connection wrapper, releasing its lock when opening the file fails
    (else every later statement waits for that lock forever)."""

    __slots__ = ()

    async def __aenter__(self) -> aiosqlite.Connection:
        await self._lock.acquire()
        try:
            await self.ensure_connection()
        except BaseException:
            self._lock.release()
            raise
        return self.connection


class _ImmediateTransaction(SqliteTransactionWrapper):
    """A transaction that takes SQLite's write lock when it begins (`BEGIN IMMEDIATE`).

    With a plain (deferred) BEGIN a transaction reads first and asks for the write lock
    at its first write; when another process holds it then, SQLite cannot wait (the
    reads already seen might change) and fails at once with "database is locked". Asked
    for at BEGIN, the lock is waited for up to the busy timeout.
    """

    async def begin(self) -> None:
        await self._connection.commit()
        await self._connection.execute("BEGIN IMMEDIATE")


class _SqliteTransaction(SqliteTransactionContext):
    """Tortoise's SQLite transaction context, giving the connection back when BEGIN fails
    (the lock stayed busy past the timeout): `__aexit__` does not run then."""

    __slots__ = ()

    async def __aenter__(self) -> TransactionalDBClient:
        await self._trxlock.acquire()
        try:
            await self.ensure_connection()
            client: _ImmediateTransaction = self.connection
            self.token = get_connections().set(self.connection_name, client)
            try:
                await client.begin()
            except BaseException:
                get_connections().reset(self.token)
                raise
        except BaseException:
            self._trxlock.release()
            raise
        return client


class RosterSqliteClient(SqliteClient):
    def acquire_connection(self) -> ConnectionWrapper[aiosqlite.Connection]:
        return _SqliteConnection(self._lock, self)

    def _in_transaction(self) -> _SqliteTransaction:
        return _SqliteTransaction(_ImmediateTransaction(self), self._lock)


def get_client_class(db_info: dict[str, Any]) -> type[BaseDBAsyncClient]:
    """This module is the Tortoise engine of both databases (see tortoise_config)."""
    if "file_path" in db_info["credentials"]:
        return RosterSqliteClient
    return RosterAsyncpgClient


MODEL_MODULES = ["app.models", "aerich.models"]
MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def tortoise_config(
    database_url: str, pool_size: int = 10, timeout_ms: float = config.DEFAULT_DB_TIMEOUT_MS
) -> dict[str, Any]:
    """Tortoise's configuration; `timeout_ms` is how long a statement waits for SQLite's
    write lock, or a new PostgreSQL connection for the server's answer."""
    url = database_url.replace("postgresql://", "postgres://", 1)
    connection = expand_db_url(url)
    credentials = connection["credentials"]
    if connection["engine"] == "tortoise.backends.sqlite":
        path = credentials["file_path"]
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        credentials.setdefault("journal_mode", "WAL")
        # A second process (a CLI command, a backup) holding the write lock is waited
        # for; beyond the timeout the request answers SERVICE_UNAVAILABLE.
        credentials.setdefault("busy_timeout", round(timeout_ms))
    else:
        credentials.setdefault("minsize", 1)
        credentials.setdefault("maxsize", pool_size)
        # asyncpg's connect timeout (its default is 60 s): a server that does not answer.
        credentials.setdefault("timeout", timeout_ms / 1000)
        credentials["connection_class"] = PooledConnection
    connection["engine"] = __name__  # get_client_class
    return {
        "connections": {"default": connection},
        "apps": {"models": {"models": MODEL_MODULES, "default_connection": "default"}},
        "use_tz": True,
        "timezone": "UTC",
    }


@dataclass
class _SqliteFile:
    """The SQLite file this process opened, and its inode once seen (see `ping`)."""

    path: Path | None = None
    inode: int | None = None


_sqlite_file = _SqliteFile()


async def init_db(database_url: str, pool_size: int = 10, timeout_ms: float | None = None) -> None:
    """Connect; `timeout_ms` defaults to the running configuration's DB_TIMEOUT_MS."""
    if timeout_ms is None:
        timeout_ms = config.current().db_timeout_ms
    # The global fallback lets tasks created before start-up (aiohttp's
    # connection handlers) reach the same connections.
    settings = tortoise_config(database_url, pool_size, timeout_ms)
    await Tortoise.init(config=settings, _enable_global_fallback=True)
    credentials = settings["connections"]["default"]["credentials"]
    path = credentials.get("file_path")
    file = Path(path) if path and path != ":memory:" else None
    _sqlite_file.path = file
    _sqlite_file.inode = file.stat().st_ino if file and file.exists() else None


async def close_db() -> None:
    await Tortoise.close_connections()


async def migrate(database_url: str) -> list[str]:
    """Apply every migration not yet applied; returns the files applied."""
    command = Command(
        tortoise_config=tortoise_config(database_url, 2),
        app="models",
        location=str(MIGRATIONS_DIR),
    )
    try:
        await command.init()
        try:
            # A fresh database: aerich applies every migration file in order.
            await command.init_db(safe=True)
            return ["(all)"]
        except FileExistsError:
            return await command.upgrade(run_in_transaction=True)
    finally:
        await Tortoise.close_connections()


def connection() -> BaseDBAsyncClient:
    return get_connection("default")


def dialect() -> str:
    """'sqlite' or 'postgres'."""
    return connection().schema_generator.DIALECT


_DATETIME = DatetimeField()


def read_datetime(value: Any) -> datetime:
    """A NOT NULL datetime column of a raw row, as Tortoise's DatetimeField reads it (aware, in
    the configured zone). SQLite's text is parsed with `datetime.fromisoformat` (C), not the
    pure-Python ISO 8601 parser Tortoise uses: most of a list page's cost on SQLite."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            pass  # Tortoise's parser reads what fromisoformat does not
    if isinstance(value, datetime) and value.tzinfo is UTC:
        return value  # what Tortoise would return (the zone is UTC), without its round trip
    return cast("datetime", _DATETIME.to_python_value(value))


def read_optional_datetime(value: Any) -> datetime | None:
    """A nullable datetime column of a raw row (see read_datetime)."""
    return None if value is None else read_datetime(value)


async def select_records(queryset: QuerySet[Any]) -> list[Any]:
    """The rows a queryset selects, as the driver returns them (records readable by column
    name: asyncpg's Record, sqlite3.Row), without building model instances: the query is
    still Tortoise's, so its filters are written once, as `Q`s."""
    # What awaiting the queryset does before it runs the query (`queryset.sql()` would
    # render the SQL a second time).
    queryset._choose_db_if_not_chosen()
    queryset._make_query()
    sql, params = queryset.query.get_parameterized_sql()
    _, rows = await connection().execute_query(sql, list(params))
    return list(rows)


def placeholders(sql: str) -> str:
    """Turn `?` placeholders into `$1, $2 …` on PostgreSQL."""
    return _numbered(sql) if dialect() == "postgres" else sql


@lru_cache(maxsize=256)
def _numbered(sql: str) -> str:
    parts = sql.split("?")
    out = [parts[0]]
    for i, part in enumerate(parts[1:], start=1):
        out.append(f"${i}{part}")
    return "".join(out)


@lru_cache(maxsize=256)
def _in_list_sql(template: str, count: int, postgres: bool) -> str:
    if postgres:
        return template.replace("IN ({keys})", "= ANY($1::bigint[])")
    return template.replace("{keys}", ",".join("?" * count) or "NULL")


async def rows_for_keys(template: str, keys: Sequence[int]) -> list[Sequence[Any]]:
    """Rows of a SELECT whose one parameter is a list of integer keys, written
    `... IN ({keys})` in the template: `= ANY($1)` with one array parameter on PostgreSQL
    (one statement text whatever the count), `IN (?, …)` on SQLite. The SQL text is built
    once per template and count; rows come back as the driver's tuples."""
    postgres = dialect() == "postgres"
    sql = _in_list_sql(template, len(keys), postgres)
    _, rows = await connection().execute_query(sql, [list(keys)] if postgres else list(keys))
    return cast("list[Sequence[Any]]", rows)


@lru_cache(maxsize=64)
def _by_keys_sql(model: type[Model]) -> str:
    meta = model._meta
    columns = ", ".join(f'"{column}"' for column in meta.fields_db_projection.values())
    return f'SELECT {columns} FROM "{meta.db_table}" WHERE "{meta.db_pk_column}" IN ({{keys}})'


async def models_by_keys(model: type[M], keys: Sequence[int]) -> list[M]:
    """`model.filter(pk__in=keys)` (in no particular order) without Tortoise building the
    query each time: the SQL is written once per model, and the instances are built by
    Tortoise's own constructor for fetched rows."""
    if not keys:
        return []
    records = await rows_for_keys(_by_keys_sql(model), keys)
    build = model._init_from_db
    return [build(**dict(cast("Any", record))) for record in records]


def _check_sqlite_file() -> None:
    """An open SQLite connection keeps answering from a file removed or replaced under
    it, and everything written from then on is lost: that is a database down."""
    path, inode = _sqlite_file.path, _sqlite_file.inode
    if path is None:
        return
    current = path.stat().st_ino  # FileNotFoundError when it is gone
    if inode is None:
        _sqlite_file.inode = current
    elif current != inode:
        raise OSError(f"{path} was replaced while open")


async def ping() -> bool:
    try:
        _check_sqlite_file()
        await connection().execute_query("SELECT 1")
    except Exception:
        log.warning("database ping failed", exc_info=True)
        return False
    return True


# SQLite result codes (primary, or extended by prefix) that mean "try again later": busy
# past the timeout, a file that cannot be opened or read, a full disk.
_SQLITE_UNAVAILABLE = (
    "SQLITE_BUSY",
    "SQLITE_LOCKED",
    "SQLITE_CANTOPEN",
    "SQLITE_IOERR",
    "SQLITE_FULL",
)


def _causes(error: BaseException) -> Iterator[BaseException]:
    """`error`, what it wraps (Tortoise wraps a driver error as its first argument) and
    what it was raised from or during, each once."""
    seen: set[int] = set()
    pending = [error]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending.extend(arg for arg in current.args if isinstance(arg, BaseException))
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)


def _unavailable(error: BaseException) -> bool:
    if isinstance(error, sqlite3.OperationalError):
        name = getattr(error, "sqlite_errorname", "")
        return name.startswith(_SQLITE_UNAVAILABLE) or "database is locked" in str(error)
    if isinstance(error, asyncpg.InterfaceError):
        return "closed" in str(error)  # "connection is closed", "pool is closed"
    if isinstance(error, asyncpg.exceptions._base.InternalClientError):
        # A statement sent while the connection is still taking in the server's shutdown
        # error: "cannot switch to state 12; another operation (2) is in progress".
        return "cannot switch to state" in str(error)
    return isinstance(
        error,
        asyncpg.PostgresConnectionError  # class 08: the connection failed or broke
        | asyncpg.OperatorInterventionError  # class 57: shutdown, "cannot connect now"
        | asyncpg.InsufficientResourcesError  # class 53: too many connections, disk full
        | asyncpg.LockNotAvailableError
        | DBConnectionError
        | ConnectionError  # refused, reset, aborted
        | TimeoutError,  # connecting took longer than the timeout
    )


def is_unavailable(error: BaseException) -> bool:
    """Whether `error` says the database cannot serve now (down, unreachable, or locked by
    another process past the timeout) rather than that a statement is wrong: such a
    request answers SERVICE_UNAVAILABLE (HTTP 503) and may be retried."""
    return any(_unavailable(cause) for cause in _causes(error))
