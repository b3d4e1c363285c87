#!/usr/bin/env python3
"""Does argon2 block the event loop? Prints figures; asserts nothing.

    .venv/bin/python bench/loop_block.py [--rounds 10] [--database-url URL]

Starts Roster (a fresh SQLite file unless --database-url), then:
1. the latency of `{ __typename }` requests sent one after another, alone and
   while 8 logIn calls run in parallel (target: none delayed by more than 20 ms);
2. logIn with a wrong password vs an unknown email (target: the same time).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid

import aiohttp
from _server import RosterServer, percentile

PASSWORD = "correct horse battery staple"
SIGN_UP = "mutation($input: SignUpInput!) { signUp(input: $input) { token errors { code } } }"
LOG_IN = "mutation($input: LogInInput!) { logIn(input: $input) { token errors { code } } }"
TYPENAME = "{ __typename }"


async def post(session: aiohttp.ClientSession, url: str, query: str, variables=None) -> dict:
    async with session.post(f"{url}/graphql", json={"query": query, "variables": variables}) as r:
        assert r.status == 200, await r.text()
        return await r.json()


async def probe(session, url: str, stop: asyncio.Event) -> list[float]:
    """`{ __typename }` back to back until `stop`; returns each latency in ms."""
    latencies = []
    while not stop.is_set():
        started = time.perf_counter()
        await post(session, url, TYPENAME)
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


async def log_in(session, url: str, email: str, password: str) -> float:
    started = time.perf_counter()
    body = await post(session, url, LOG_IN, {"input": {"email": email, "password": password}})
    elapsed = (time.perf_counter() - started) * 1000
    assert "errors" not in body, body
    return elapsed


async def main(args: argparse.Namespace) -> None:
    with RosterServer(args.database_url) as server:
        url = server.url
        async with aiohttp.ClientSession() as session:
            email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
            variables = {"input": {"email": email, "password": PASSWORD, "name": "Bench"}}
            assert (await post(session, url, SIGN_UP, variables))["data"]["signUp"]["token"]
            for _ in range(50):  # warm up caches and connections
                await post(session, url, TYPENAME)

            stop = asyncio.Event()
            idle_task = asyncio.create_task(probe(session, url, stop))
            await asyncio.sleep(2)
            stop.set()
            idle = await idle_task

            busy: list[float] = []
            login_ms: list[float] = []
            for _ in range(args.rounds):
                stop = asyncio.Event()
                task = asyncio.create_task(probe(session, url, stop))
                login_ms += await asyncio.gather(
                    *(log_in(session, url, email, PASSWORD) for _ in range(8))
                )
                stop.set()
                busy += await task

            wrong, unknown = [], []
            for i in range(args.timing):
                wrong.append(await log_in(session, url, email, f"wrong password {i}"))
                unknown.append(await log_in(session, url, f"nobody{i}@example.com", PASSWORD))

    def row(name: str, values: list[float]) -> str:
        return (
            f"{name:<42} n={len(values):<5} p50={percentile(values, 0.5):7.2f} ms"
            f"  p99={percentile(values, 0.99):7.2f} ms  max={max(values):7.2f} ms"
        )

    print("Event loop blocking (latency of { __typename }, sent one after another)")
    print(row("alone", idle))
    print(row("while 8 logIn run in parallel", busy))
    print(row("the logIn calls themselves", login_ms))
    over = sum(v > 20 for v in busy)
    print(f"{'probes slower than 20 ms under logIn load':<42} {over} of {len(busy)}")
    print()
    print("logIn timing (sequential)")
    print(row("wrong password", wrong))
    print(row("unknown email", unknown))
    diff = statistics.median(unknown) - statistics.median(wrong)
    print(f"{'median difference (unknown - wrong)':<42} {diff:+.2f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10, help="rounds of 8 parallel logIn")
    parser.add_argument("--timing", type=int, default=30, help="logIn calls of each kind")
    parser.add_argument("--database-url", default=None)
    asyncio.run(main(parser.parse_args()))
