"""Test rig: a real database, and the real aiohttp app over HTTP with a real SMTP sink.

The suite runs on SQLite by default and on PostgreSQL when
ROSTER_TEST_BACKEND=postgres (with TEST_DATABASE_URL naming a server). Each
run makes its own database (a temp file, or a fresh PostgreSQL database that
is dropped afterwards), migrates it once, and empties every table between
tests.

Two ways in: `client` starts the app (and its mail worker) for tests over HTTP;
`db` only opens the database, for tests that call services and write models
directly (tests/services/).
"""

from __future__ import annotations

import asyncio
import os
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from aiohttp.test_utils import TestClient
from tortoise import connections

from app import clock as app_clock
from app import config
from app import db as app_db
from app.auth import session_cache
from app.config import Settings, SmtpSettings
from app.web import create_app
from tests.support.mailbox import Mailbox, start_smtp_sink

BACKEND = os.environ.get("ROSTER_TEST_BACKEND", "sqlite")
TABLES = [
    "webhook_deliveries",
    "webhook_endpoints",
    "rate_limit_hits",
    "team_project_roles",
    "team_members",
    "teams",
    "audit_events",
    "join_requests",
    "invitation_project_assignments",
    "project_assignments",
    "ownership_transfers",
    "invitations",
    "projects",
    "api_keys",
    "domains",
    "members",
    "scim_connections",
    "email_tokens",
    "sessions",
    "outbox_mails",
    "organizations",
    "users",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url.replace("postgresql://", "postgres://", 1))
    return urlunsplit(parts._replace(path=f"/{name}"))


async def _admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    if BACKEND == "postgres":
        server = os.environ.get("TEST_DATABASE_URL")
        if not server:
            pytest.exit("ROSTER_TEST_BACKEND=postgres needs TEST_DATABASE_URL", returncode=2)
        name = f"roster_test_{uuid.uuid4().hex[:12]}"
        asyncio.run(_admin(server, f'CREATE DATABASE "{name}"'))
        url = _with_database(server, name)
        try:
            asyncio.run(app_db.migrate(url))
            yield url
        finally:
            asyncio.run(_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    else:
        with tempfile.TemporaryDirectory(prefix="roster-test-") as tmp:
            url = f"sqlite://{Path(tmp) / 'roster.sqlite3'}"
            asyncio.run(app_db.migrate(url))
            yield url


@pytest.fixture(scope="session")
def smtp_sink() -> Iterator[Mailbox]:
    mailbox, controller = start_smtp_sink("127.0.0.1", free_port())
    try:
        yield mailbox
    finally:
        controller.stop()


@pytest.fixture
def mailbox(smtp_sink: Mailbox) -> Mailbox:
    smtp_sink.clear()
    return smtp_sink


def make_settings(database_url: str, mailbox: Mailbox | None, **overrides) -> Settings:
    values = {
        "database_url": database_url,
        "smtp": SmtpSettings(hostname=mailbox.host, port=mailbox.port) if mailbox else None,
        "public_url": "http://roster.test",
        "rate_limits": False,
        "outbox_poll_seconds": 0.2,
        "db_pool_size": 10,
        "secret_key": "test secret key",
        "webhook_poll_seconds": 0.2,
        # Longer than any test: whether a session is cached never depends on the
        # machine's speed (statement counts); every invalidation is explicit.
        "session_cache_seconds": 300.0,
    }
    values.update(overrides)
    return Settings(**values)


async def truncate_all() -> None:
    session_cache.forget_all()
    conn = connections.get("default")
    if app_db.dialect() == "postgres":
        # DELETE rather than TRUNCATE: on a test's few rows it takes about a millisecond,
        # TRUNCATE (new files for every table) some 60. The ids restart as with TRUNCATE's
        # RESTART IDENTITY.
        await conn.execute_script(
            "".join(f'DELETE FROM "{t}";' for t in TABLES)
            + "".join(
                f"SELECT setval(pg_get_serial_sequence('\"{t}\"', 'id'), 1, false);" for t in TABLES
            )
        )
    else:
        # And no fsync on this process's connection: a test database need not survive a
        # power cut (a killed process loses nothing either way), and it saves a tenth.
        await conn.execute_script(
            "PRAGMA synchronous = OFF;" + "".join(f'DELETE FROM "{t}";' for t in TABLES)
        )


@pytest.fixture(autouse=True)
def real_clock() -> Iterator[None]:
    """Every test starts and ends on the real time, whatever it moved (tests/support/clock.py)."""
    app_clock.set_offset(None)
    yield
    app_clock.set_offset(None)


@pytest.fixture
def settings_overrides() -> dict:
    """Override in a test module to start the app with other settings."""
    return {}


@pytest.fixture
async def client(
    aiohttp_client, database_url: str, mailbox: Mailbox, settings_overrides: dict
) -> AsyncIterator[TestClient]:
    app = create_app(make_settings(database_url, mailbox, **settings_overrides))
    test_client = await aiohttp_client(app)
    await truncate_all()
    yield test_client


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[None]:
    """The test database without the app: no HTTP, no mail worker, no SMTP (mail stays in
    the outbox). The settings are the app's test settings, every table is emptied."""
    config.set_current(make_settings(database_url, None))
    await app_db.init_db(database_url, pool_size=2)
    try:
        await truncate_all()
        yield
    finally:
        await app_db.close_db()
