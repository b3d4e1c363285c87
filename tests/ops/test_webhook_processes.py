"""Webhooks across real server processes: a receiver that is down across a restart still
gets every event, exactly once by webhook-id; two processes on PostgreSQL make each attempt
once (FOR UPDATE SKIP LOCKED)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from app.ids import to_global_id
from app.models import User, WebhookDelivery
from app.webhooks import outbox
from tests.conftest import BACKEND, free_port
from tests.support import factories
from tests.support.api import unique_email
from tests.support.webhooks import Receiver, make_endpoint

ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = "test secret key"  # as make_settings: the test process reads what servers write
INVITE = """
mutation($input: InviteMemberInput!) { inviteMember(input: $input) { errors { code } } }"""


class Server:
    """`python -m app serve` as a subprocess."""

    def __init__(self, database_url: str, workers: int = 1, **env: str) -> None:
        self.port = free_port()
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "PYTHONPATH": str(ROOT),
            "SMTP_URL": "",
            "PORT": str(self.port),
            "WORKERS": str(workers),
            "SECRET_KEY": SECRET_KEY,
            "WEBHOOK_ALLOW_INSECURE": "1",
            "WEBHOOK_POLL_SECONDS": "0.1",
            "RATE_LIMITS": "off",
            **env,
        }
        self.workers = workers
        self.process: asyncio.subprocess.Process | None = None
        self.output: list[str] = []

    async def __aenter__(self) -> Server:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "app",
            "serve",
            env=self.env,
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        assert self.process.stdout is not None
        ready = 0
        while ready < self.workers:
            line = (await asyncio.wait_for(self.process.stdout.readline(), 60)).decode()
            assert line, "".join(self.output)
            self.output.append(line)
            ready += "ready: process" in line
        self._drain = asyncio.create_task(self._read())
        await self._healthy()
        return self

    async def _healthy(self, timeout: float = 30.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        async with aiohttp.ClientSession() as session:
            while True:
                try:
                    async with session.get(f"http://127.0.0.1:{self.port}/healthz") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                assert asyncio.get_running_loop().time() < deadline, "".join(self.output)
                await asyncio.sleep(0.1)

    async def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        async for line in self.process.stdout:
            self.output.append(line.decode())

    async def __aexit__(self, *exc: object) -> None:
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 30)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        await self._drain

    async def graphql(self, query: str, variables: dict, token: str) -> dict:
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"http://127.0.0.1:{self.port}/graphql",
                json={"query": query, "variables": variables},
                headers={"Authorization": f"Bearer {token}"},
            ) as response,
        ):
            assert response.status == 200
            return await response.json()


async def owner_and_org():
    user = await factories.make_user(name="Olive Owner")
    organization, _ = await factories.make_organization(user)
    return await User.get(id=user.id), organization, await factories.make_session(user)


async def until(predicate, timeout=30.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.1)


async def test_a_receiver_down_across_a_restart_gets_every_event_once(db, database_url):
    _, organization, token = await owner_and_org()
    receiver = Receiver()  # not started: down
    endpoint, secret = await make_endpoint(organization.id, receiver.url)
    receiver.secrets.append(secret)
    schedule = ",".join(["0.3"] * 20)
    org_id = to_global_id("Organization", organization.id)
    async with Server(database_url, WEBHOOK_RETRY_SCHEDULE=schedule) as first:
        for _ in range(5):
            body = await first.graphql(
                INVITE,
                {"input": {"organizationId": org_id, "email": unique_email(), "role": "USER"}},
                token,
            )
            assert body["data"]["inviteMember"]["errors"] == [], body

        async def tried_twice():
            rows = await WebhookDelivery.filter(endpoint_id=endpoint.id)
            return len(rows) == 5 and all(r.attempts >= 2 for r in rows)

        await until(tried_twice)
    rows = await WebhookDelivery.filter(endpoint_id=endpoint.id)
    assert {r.status for r in rows} == {"PENDING"}
    assert all(r.last_error for r in rows)
    await receiver.start()
    try:
        async with Server(database_url, WEBHOOK_RETRY_SCHEDULE=schedule):

            async def all_done():
                return await WebhookDelivery.filter(status="SUCCEEDED").count() == 5

            await until(all_done)
            await asyncio.sleep(1.0)  # anything sent twice would have arrived by now
        received = Counter(r.message_id for r in receiver.received)
        assert set(received) == {r.message_id for r in rows}
        assert set(received.values()) == {1}
        assert all(r.verified for r in receiver.received)
        assert {r.payload["type"] for r in receiver.received} == {"invitation.created"}
    finally:
        await receiver.stop()


@pytest.mark.skipif(
    BACKEND != "postgres",
    reason="PostgreSQL only by design: SQLite serves one process (WORKERS > 1 needs PostgreSQL)",
)
async def test_two_processes_make_each_attempt_once(db, database_url):
    _, organization, _ = await owner_and_org()
    receiver = await Receiver().start()
    try:
        endpoint, secret = await make_endpoint(organization.id, receiver.url)
        receiver.secrets.append(secret)
        seen: Counter[str] = Counter()

        async def first_fails(received):
            seen[received.message_id] += 1
            await asyncio.sleep(0.01)  # overlap the two processes' attempts
            return web.Response(status=500 if seen[received.message_id] == 1 else 200)

        receiver.reply = first_fails
        total = 200
        moment = datetime.now(UTC)
        await WebhookDelivery.bulk_create(
            [
                WebhookDelivery(
                    endpoint_id=endpoint.id,
                    event_type=outbox.TEST_EVENT_TYPE,
                    message_id=outbox.new_message_id(),
                    body=outbox.ping_body(endpoint.id, organization.id),
                    next_attempt_at=moment,
                )
                for _ in range(total)
            ]
        )
        async with Server(database_url, workers=2, WEBHOOK_RETRY_SCHEDULE="0.2,0.2") as server:

            async def all_done():
                return await WebhookDelivery.filter(status="SUCCEEDED").count() == total

            await until(all_done, timeout=90)
            await asyncio.sleep(1.0)
        assert sum("ready: process" in line for line in server.output) == 2
        assert len(seen) == total
        assert set(seen.values()) == {2}, Counter(seen.values())
        assert all(r.verified for r in receiver.received)
        assert {r.attempts for r in await WebhookDelivery.all()} == {2}
    finally:
        await receiver.stop()
