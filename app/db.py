"""The database: Tortoise configuration, start-up, migrations and small SQL helpers."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
from aerich import Command
from tortoise import Tortoise
from tortoise.backends.asyncpg.client import AsyncpgDBClient, TransactionWrapper
from tortoise.backends.base.client import (
    BaseDBAsyncClient,
    TransactionalDBClient,
    TransactionContextPooled,
)
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.connection import get_connection, get_connections

log = logging.getLogger(__name__)


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


# This module is the Tortoise engine for PostgreSQL (see tortoise_config).
client_class = RosterAsyncpgClient

MODEL_MODULES = ["app.models", "aerich.models"]
MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def tortoise_config(database_url: str, pool_size: int = 10) -> dict[str, Any]:
    url = database_url.replace("postgresql://", "postgres://", 1)
    connection = expand_db_url(url)
    if connection["engine"] == "tortoise.backends.sqlite":
        path = connection["credentials"]["file_path"]
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        connection["credentials"].setdefault("journal_mode", "WAL")
        # A second process (the CLI next to the server) waits for the lock
        # instead of failing at once.
        connection["credentials"].setdefault("busy_timeout", 5000)
    else:
        connection["credentials"].setdefault("minsize", 1)
        connection["credentials"].setdefault("maxsize", pool_size)
        connection["credentials"]["connection_class"] = PooledConnection
        connection["engine"] = __name__  # RosterAsyncpgClient
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


async def init_db(database_url: str, pool_size: int = 10) -> None:
    # The global fallback lets tasks created before start-up (aiohttp's
    # connection handlers) reach the same connections.
    config = tortoise_config(database_url, pool_size)
    await Tortoise.init(config=config, _enable_global_fallback=True)
    credentials = config["connections"]["default"]["credentials"]
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


def placeholders(sql: str) -> str:
    """Turn `?` placeholders into `$1, $2 …` on PostgreSQL."""
    if dialect() != "postgres":
        return sql
    parts = sql.split("?")
    out = [parts[0]]
    for i, part in enumerate(parts[1:], start=1):
        out.append(f"${i}{part}")
    return "".join(out)


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
