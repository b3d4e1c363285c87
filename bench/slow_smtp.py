#!/usr/bin/env python3
"""Does a slow SMTP server slow inviteMember down? Prints figures; asserts nothing.

    .venv/bin/python bench/slow_smtp.py [--invites 200] [--concurrency 4]

Runs the same inviteMember load twice, each against a fresh Roster (fresh
SQLite file) whose SMTP_URL points at a local aiosmtpd sink: one that accepts
at once, one that takes 2 s per message. Mail goes through the outbox, so the
request latency should not change; the delivered count shows the slow sink
really was slow.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid

import aiohttp
from _server import RosterServer, free_port, percentile
from aiosmtpd.controller import Controller

PASSWORD = "correct horse battery staple"
SIGN_UP = "mutation($input: SignUpInput!) { signUp(input: $input) { token errors { code } } }"
CREATE_ORG = (
    "mutation($input: CreateOrganizationInput!) {"
    " createOrganization(input: $input) { organization { id } errors { code } } }"
)
INVITE = (
    "mutation($input: InviteMemberInput!) {"
    " inviteMember(input: $input) { invitation { id } errors { code } } }"
)


class Sink:
    """Accepts every message, after `delay` seconds."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.delivered = 0

    async def handle_DATA(self, server, session, envelope) -> str:
        await asyncio.sleep(self.delay)
        self.delivered += 1
        return "250 OK"


async def post(session, url: str, query: str, variables: dict, token: str | None = None) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = {"query": query, "variables": variables}
    async with session.post(f"{url}/graphql", json=body, headers=headers) as response:
        assert response.status == 200, await response.text()
        data = await response.json()
    assert "errors" not in data, data
    (payload,) = data["data"].values()
    assert payload["errors"] == [], payload
    return payload


async def run(delay: float, invites: int, concurrency: int) -> dict:
    sink = Sink(delay)
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with RosterServer(smtp_url=f"smtp://127.0.0.1:{port}") as server:
            async with aiohttp.ClientSession() as session:
                email = f"owner-{uuid.uuid4().hex[:8]}@example.com"
                signed = await post(
                    session,
                    server.url,
                    SIGN_UP,
                    {"input": {"email": email, "password": PASSWORD, "name": "Owner"}},
                )
                token = signed["token"]
                org = await post(
                    session, server.url, CREATE_ORG, {"input": {"name": "Bench"}}, token
                )
                org_id = org["organization"]["id"]
                counter = iter(range(invites + 20))

                async def invite() -> float:
                    variables = {
                        "input": {"organizationId": org_id, "email": f"i{next(counter)}@ex.com"}
                    }
                    started = time.perf_counter()
                    await post(session, server.url, INVITE, variables, token)
                    return (time.perf_counter() - started) * 1000

                for _ in range(20):  # warm-up
                    await invite()
                latencies: list[float] = []

                async def worker(n: int) -> None:
                    for _ in range(n):
                        latencies.append(await invite())

                share = [len(range(i, invites, concurrency)) for i in range(concurrency)]
                started = time.perf_counter()
                await asyncio.gather(*(worker(n) for n in share))
                elapsed = time.perf_counter() - started
                delivered = sink.delivered
    finally:
        controller.stop()
    return {
        "p50": percentile(latencies, 0.5),
        "p95": percentile(latencies, 0.95),
        "max": max(latencies),
        "rps": invites / elapsed,
        "delivered": delivered,
        "queued": invites + 21,  # the invitations, the warm-up ones and the sign-up mail
    }


async def main(args: argparse.Namespace) -> None:
    results = {}
    for name, delay in (("normal SMTP sink", 0.0), ("SMTP sink, 2 s per message", 2.0)):
        results[name] = await run(delay, args.invites, args.concurrency)
    print(f"inviteMember x {args.invites}, {args.concurrency} at a time (fresh SQLite each)")
    for name, r in results.items():
        print(
            f"{name:<28} p50={r['p50']:6.1f} ms  p95={r['p95']:6.1f} ms  max={r['max']:6.1f} ms"
            f"  {r['rps']:6.1f} req/s  mails delivered during the run: "
            f"{r['delivered']}/{r['queued']}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invites", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=4)
    asyncio.run(main(parser.parse_args()))
