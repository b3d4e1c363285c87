"""Subscriptions across real server processes: an event committed through one process
reaches the subscribers of another (PostgreSQL LISTEN/NOTIFY; on SQLite, which serves one
process, through that process), each process holds ONE listening connection whatever its
number of subscribers, and the listener comes back after its connection is killed."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from urllib.parse import urlsplit

import aiohttp
import asyncpg
import pytest

from app.ids import pk_of
from app.services.event_stream import BROKER, LISTENER_NAME
from tests.conftest import BACKEND, free_port
from tests.ops.test_cli import ROOT, wait_healthy
from tests.support.api import create_org
from tests.support.ws import GraphQLWs, WsClosed

UPDATE_ORG = """
mutation($input: UpdateOrganizationInput!) {
  updateOrganization(input: $input) { errors { code } organization { id } }
}"""


class Server:
    def __init__(self, database_url: str):
        self.port = free_port()
        environment = {
            **os.environ,
            "DATABASE_URL": database_url,
            "PYTHONPATH": str(ROOT),
            "SMTP_URL": "",
            "PORT": str(self.port),
            "RATE_LIMITS": "off",
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app", "serve"],
            env=environment,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    async def rename(self, org, name: str) -> None:
        async with aiohttp.ClientSession() as session:
            response = await session.post(
                f"http://127.0.0.1:{self.port}/graphql",
                json={
                    "query": UPDATE_ORG,
                    "variables": {"input": {"organizationId": org.id, "name": name}},
                },
                headers={"Authorization": f"Bearer {org.owner.token}"},
            )
            body = await response.json()
        assert body["data"]["updateOrganization"]["errors"] == [], body

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.fixture
def servers(db, database_url) -> Iterator[tuple[Server, Server]]:
    """Two server processes on the test database (one twice on SQLite: it serves one)."""
    first = Server(database_url)
    second = Server(database_url) if BACKEND == "postgres" else first
    try:
        wait_healthy(first.port)
        wait_healthy(second.port)
        yield first, second
    finally:
        first.stop()
        if second is not first:
            second.stop()


async def open_subscription(server: Server, org) -> GraphQLWs:
    ws = await GraphQLWs.open(server.ws_url)
    await ws.init(org.owner.token)
    await ws.subscribe(org.id)
    return ws


async def metric(server: Server, name: str) -> float:
    async with aiohttp.ClientSession() as session:
        text = await (await session.get(f"http://127.0.0.1:{server.port}/metrics")).text()
    (line,) = [x for x in text.splitlines() if x.startswith(name + " ")]
    return float(line.split()[1])


async def until_open(server: Server, count: int) -> None:
    for _ in range(500):
        if await metric(server, "roster_open_subscriptions") >= count:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the subscriptions did not open")


async def test_an_event_committed_through_another_process_reaches_the_subscriber(servers):
    reader, writer = servers
    org = await create_org(None)
    subscribers = [await open_subscription(reader, org) for _ in range(3)]
    try:
        await until_open(reader, 3)
        await writer.rename(org, "Renamed elsewhere")
        events = [await ws.event(timeout=15) for ws in subscribers]
        assert {e["action"] for e in events} == {"organization.updated"}
        assert len({e["id"] for e in events}) == 1  # the same event, the same id
        assert events[0]["targetId"] == org.id
        await reader.rename(org, "Renamed here")
        again = [await ws.event(timeout=15) for ws in subscribers]
        assert len({e["id"] for e in again}) == 1 and again[0]["id"] != events[0]["id"]
    finally:
        for ws in subscribers:
            await ws.close()


def _database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


async def listeners(database_url: str) -> list[int]:
    """Backend pids of the event listeners connected to the test database."""
    connection = await asyncpg.connect(database_url.replace("postgres://", "postgresql://", 1))
    try:
        rows = await connection.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = $2",
            _database_name(database_url),
            LISTENER_NAME,
        )
    finally:
        await connection.close()
    return [row["pid"] for row in rows]


postgres_only = pytest.mark.skipif(
    BACKEND != "postgres", reason="LISTEN/NOTIFY is PostgreSQL's; SQLite wakes in-process"
)


@postgres_only
async def test_one_listening_connection_per_process_whatever_the_subscribers(servers, database_url):
    first, second = servers
    org = await create_org(None)
    subscribers = [await open_subscription(first, org) for _ in range(8)]
    subscribers += [await open_subscription(second, org) for _ in range(4)]
    try:
        await until_open(first, 8)
        await until_open(second, 4)
        assert len(await listeners(database_url)) == 2
    finally:
        for ws in subscribers:
            await ws.close()


@postgres_only
async def test_the_listener_reconnects_after_its_connection_is_killed(client, database_url):
    org = await create_org(client)
    ws = await GraphQLWs.open(f"ws://{client.host}:{client.port}/graphql")
    try:
        await ws.init(org.owner.token)
        await ws.subscribe(org.id)
        await asyncio.wait_for(BROKER.listening.wait(), 10)
        (pid,) = await listeners(database_url)
        admin = await asyncpg.connect(database_url.replace("postgres://", "postgresql://", 1))
        try:
            await admin.execute("SELECT pg_terminate_backend($1)", pid)
        finally:
            await admin.close()
        for _ in range(300):
            now = await listeners(database_url)
            if now and now != [pid] and BROKER.listening.is_set():
                break
            await asyncio.sleep(0.05)
        assert len(now) == 1 and now != [pid]
        org_pk = pk_of(org.id, "Organization")
        response = await client.post(
            "/graphql",
            json={
                "query": UPDATE_ORG,
                "variables": {"input": {"organizationId": org.id, "name": f"Back {org_pk}"}},
            },
            headers={"Authorization": f"Bearer {org.owner.token}"},
        )
        assert response.status == 200
        assert (await ws.event(timeout=15))["action"] == "organization.updated"
    finally:
        await ws.close()


async def test_sigterm_closes_open_subscriptions_and_the_server_stops(db, database_url):
    server = Server(database_url)
    try:
        wait_healthy(server.port)
        org = await create_org(None)
        ws = await open_subscription(server, org)
        await until_open(server, 1)
        server.process.terminate()
        with pytest.raises(WsClosed) as closed:
            while True:
                await ws.next_message(timeout=20)
        assert closed.value.code == 1001
        assert await asyncio.to_thread(server.process.wait, 30) == 0
    finally:
        if server.process.poll() is None:
            server.process.kill()
