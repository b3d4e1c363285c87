#!/usr/bin/env python3
"""Subscription fan-out latency: 200 subscribers on one server process. Prints figures;
asserts nothing.

    .venv/bin/python bench/subscriptions_fanout.py [--db sqlite|postgres|all]
        [--subscribers 200] [--events 30] [--postgres postgres://postgres@127.0.0.1:5432/test]

Starts Roster (`python -m app serve`, one process; a fresh SQLite file, or a fresh
PostgreSQL database created next to --postgres and dropped afterwards), opens
`--subscribers` WebSocket connections with one `organizationEvents` subscription each
(graphql-transport-ws, the `websockets` client, all in this one client process), then
runs `--events` updateOrganization mutations one after another. For each event and each
subscriber it takes the time from the mutation's answer (and from its sending) to the
event's arrival, and prints p50/p99/max. The client shares the machine's 2 cores with the
server: its own receive work is part of the figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import asyncpg
import websockets
from _server import RosterServer, ensure_path, percentile

ensure_path()

from app import db  # noqa: E402
from app.ids import to_global_id  # noqa: E402
from tests.support import factories  # noqa: E402

SUBSCRIBE = """
subscription($id: ID!) { organizationEvents(organizationId: $id) { id action } }"""
RENAME = """
mutation($input: UpdateOrganizationInput!) {
  updateOrganization(input: $input) { errors { code } organization { id } }
}"""


async def prepare(database_url: str) -> tuple[str, str]:
    """An owner's session token and their organization's id, written through the models."""
    await db.init_db(database_url, pool_size=2, timeout_ms=10_000)
    try:
        user = await factories.make_user(f"bench-{uuid.uuid4().hex[:8]}@example.com")
        organization, _ = await factories.make_organization(user, "Fan-out Bench")
        token = await factories.make_session(user)
    finally:
        await db.close_db()
    return token, to_global_id("Organization", organization.id)


class Subscriber:
    def __init__(self) -> None:
        self.arrivals: list[float] = []
        self.socket: websockets.ClientConnection | None = None

    async def open(self, url: str, token: str, org_id: str) -> None:
        self.socket = await websockets.connect(
            url, subprotocols=["graphql-transport-ws"], proxy=None, max_queue=None
        )
        await self.socket.send(
            json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
        )
        ack = json.loads(await self.socket.recv())
        assert ack["type"] == "connection_ack", ack
        await self.socket.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": SUBSCRIBE, "variables": {"id": org_id}},
                }
            )
        )

    async def read(self) -> None:
        assert self.socket is not None
        async for raw in self.socket:
            message = json.loads(raw)
            if message["type"] == "next":
                assert "errors" not in message["payload"], message
                self.arrivals.append(time.perf_counter())
            elif message["type"] == "ping":
                await self.socket.send(json.dumps({"type": "pong"}))
            else:
                raise AssertionError(message)


async def open_subscriptions(
    server: RosterServer, session: aiohttp.ClientSession, count: int
) -> float:
    for _ in range(1000):
        async with session.get(f"{server.url}/metrics") as response:
            text = await response.text()
        line = next(x for x in text.splitlines() if x.startswith("roster_open_subscriptions "))
        if float(line.split()[1]) >= count:
            return float(line.split()[1])
        await asyncio.sleep(0.05)
    raise SystemExit("the subscriptions never all opened")


async def run(database_url: str | None, label: str, args: argparse.Namespace) -> None:
    with RosterServer(database_url) as server:
        token, org_id = await prepare(server.database_url)
        ws_url = server.url.replace("http://", "ws://") + "/graphql"
        subscribers = [Subscriber() for _ in range(args.subscribers)]
        for chunk in range(0, len(subscribers), 50):
            await asyncio.gather(
                *(s.open(ws_url, token, org_id) for s in subscribers[chunk : chunk + 50])
            )
        readers = [asyncio.create_task(s.read()) for s in subscribers]
        async with aiohttp.ClientSession() as session:
            opened = await open_subscriptions(server, session, args.subscribers)
            sent: list[float] = []
            answered: list[float] = []
            for i in range(args.events):
                started = time.perf_counter()
                variables = {"input": {"organizationId": org_id, "name": f"Bench {i}"}}
                async with session.post(
                    f"{server.url}/graphql",
                    json={"query": RENAME, "variables": variables},
                    headers={"Authorization": f"Bearer {token}"},
                ) as response:
                    body = await response.json()
                done = time.perf_counter()
                assert body["data"]["updateOrganization"]["errors"] == [], body
                sent.append(started)
                answered.append(done)
                deadline = time.monotonic() + 10
                while any(len(s.arrivals) <= i for s in subscribers):
                    if time.monotonic() > deadline:
                        raise SystemExit(f"event {i} did not reach every subscriber in 10 s")
                    await asyncio.sleep(0.001)
                await asyncio.sleep(0.05)  # the next mutation starts on a quiet server
        for reader in readers:
            reader.cancel()
        for s in subscribers:
            if s.socket is not None:
                await s.socket.close()
        from_answer = [
            (s.arrivals[i] - answered[i]) * 1000 for s in subscribers for i in range(args.events)
        ]
        from_send = [
            (s.arrivals[i] - sent[i]) * 1000 for s in subscribers for i in range(args.events)
        ]
        last = [
            (max(s.arrivals[i] for s in subscribers) - answered[i]) * 1000
            for i in range(args.events)
        ]
        mutation = [(answered[i] - sent[i]) * 1000 for i in range(args.events)]
    print(
        f"{label}: {int(opened)} subscribers on one process, {args.events} events, "
        f"{len(from_answer)} deliveries"
    )
    for name, values in (
        ("mutation round trip", mutation),
        ("answer -> arrival (each delivery)", from_answer),
        ("send -> arrival (each delivery)", from_send),
        ("answer -> last subscriber's arrival", last),
    ):
        print(
            f"  {name:38s} p50 {percentile(values, 0.5):7.1f} ms   "
            f"p99 {percentile(values, 0.99):7.1f} ms   max {max(values):7.1f} ms"
        )


async def with_postgres(server_url: str, args: argparse.Namespace) -> None:
    name = f"roster_bench_subs_{uuid.uuid4().hex[:8]}"
    admin_url = server_url.replace("postgres://", "postgresql://", 1)
    connection = await asyncpg.connect(admin_url)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    parts = urlsplit(server_url.replace("postgresql://", "postgres://", 1))
    url = urlunsplit(parts._replace(path=f"/{name}"))
    try:
        await run(url, "postgres", args)
    finally:
        connection = await asyncpg.connect(admin_url)
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()


async def main(args: argparse.Namespace) -> None:
    print(f"load average {os.getloadavg()[0]:.2f} (2 cores shared with other work)")
    if args.db == "sqlite":
        await run(None, "sqlite", args)
    else:
        await with_postgres(args.postgres, args)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "all"), default="all")
    parser.add_argument("--subscribers", type=int, default=200)
    parser.add_argument("--events", type=int, default=30)
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432/test")
    arguments = parser.parse_args()
    if arguments.db == "all":  # one process per database: Tortoise keeps per-dialect SQL
        for database in ("sqlite", "postgres"):
            subprocess.run([sys.executable, __file__, *sys.argv[1:], "--db", database], check=True)
    else:
        asyncio.run(main(arguments))
