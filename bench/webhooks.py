#!/usr/bin/env python3
"""Webhook figures: deliveries per second to a local receiver, and what the fan-out adds to
inviteMember. Prints figures; asserts nothing.

    .venv/bin/python bench/webhooks.py throughput [--deliveries 2000] [--db sqlite|postgres]
    .venv/bin/python bench/webhooks.py fanout [--invites 300] [--rounds 3] [--db sqlite|postgres]
    .venv/bin/python bench/webhooks.py statements [--events 500] [--db sqlite|postgres]

throughput: N deliveries are written to a fresh database (one endpoint), then a Roster
server starts and its worker sends them to an aiohttp receiver in this process that
verifies every signature with standardwebhooks; the rate is N over the time from the first
arrival to the last.

fanout: inviteMember, 4 at a time, against one server whose organization has 0 webhook
endpoints, then 5 endpoints (every event type, enabled), in alternating rounds; p50 and
throughput per setting, and the difference. Run twice: with WEBHOOK_WORKER=off (the
fan-out alone: the SELECT and INSERT in inviteMember's transaction), then with the worker
on (the same process also sends the 5 deliveries per invitation to a receiver answering
204 at once: the whole cost on one process).

statements: in this process, no HTTP: the time of `fan_out` itself (the SELECT of the
organization's endpoints and the INSERT of the deliveries) inside the transaction of an
audit event, with 0 and with 5 endpoints, next to the time of the whole transaction.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from _server import PYTHON, ROOT, RosterServer, percentile
from aiohttp import web
from standardwebhooks import Webhook

sys.path.insert(0, str(ROOT))

from app import config, db
from app.config import Settings
from app.ids import to_global_id
from app.models import WebhookDelivery, WebhookEndpoint
from app.webhooks import outbox
from app.webhooks.secrets import encrypt, new_secret
from tests.support import factories

SECRET_KEY = "bench secret key"
INVITE = (
    "mutation($input: InviteMemberInput!) {"
    " inviteMember(input: $input) { invitation { id } errors { code } } }"
)
SERVER_ENV = {
    "SECRET_KEY": SECRET_KEY,
    "WEBHOOK_ALLOW_INSECURE": "1",
}


class Receiver:
    def __init__(self, secret: str | None = None) -> None:
        self.webhook = Webhook(secret) if secret else None
        self.times: list[float] = []
        self.bad = 0
        self.port = 0
        self.runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if self.webhook is not None:
            try:
                self.webhook.verify(body, dict(request.headers))
            except Exception:
                self.bad += 1
        self.times.append(time.perf_counter())
        return web.Response(status=204)

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return f"http://127.0.0.1:{self.port}/hook"

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


def database(kind: str, tmp: str) -> tuple[str, str | None]:
    """A fresh database URL, and the PostgreSQL database name to drop afterwards."""
    if kind == "sqlite":
        return f"sqlite://{Path(tmp) / 'bench.sqlite3'}", None
    name = f"roster_bench_wh_{secrets.token_hex(4)}"
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], check=True)
    return f"postgres://postgres@127.0.0.1:5432/{name}", name


def drop(name: str | None) -> None:
    if name:
        subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--force", name])


async def open_db(url: str) -> None:
    await asyncio.to_thread(
        subprocess.run,
        [str(PYTHON), "-m", "app", "migrate"],
        env={"DATABASE_URL": url, "PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    config.set_current(Settings(database_url=url, secret_key=SECRET_KEY))
    await db.init_db(url, 2)


async def throughput(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="roster-bench-wh-") as tmp:
        url, name = database(args.db, tmp)
        receiver = None
        try:
            await open_db(url)
            owner = await factories.make_user(name="Bench Owner")
            organization, _ = await factories.make_organization(owner, "Bench")
            secret = new_secret()
            receiver = Receiver(secret)
            endpoint = await WebhookEndpoint.create(
                organization_id=organization.id,
                url=await receiver.start(),
                event_types=[],
                secret_encrypted=encrypt(config.current(), secret),
            )
            moment = datetime.now(UTC)
            body = outbox.ping_body(endpoint.id, organization.id)
            rows = [
                WebhookDelivery(
                    endpoint_id=endpoint.id,
                    event_type=outbox.TEST_EVENT_TYPE,
                    message_id=outbox.new_message_id(),
                    body=body,
                    next_attempt_at=moment,
                )
                for _ in range(args.deliveries)
            ]
            await WebhookDelivery.bulk_create(rows, batch_size=500)
            await db.close_db()
            # Started from a thread: the receiver in this loop answers from the first moment.
            server = await asyncio.to_thread(RosterServer, url, env=SERVER_ENV)
            try:
                deadline = time.monotonic() + 600
                while len(receiver.times) < args.deliveries and time.monotonic() < deadline:  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
            finally:
                await asyncio.to_thread(server.stop)
            got = len(receiver.times)
            span = receiver.times[-1] - receiver.times[0] if got > 1 else float("nan")
            print(
                f"webhook throughput ({args.db}, 1 server process, receiver in the bench "
                f"process verifying every signature): {got}/{args.deliveries} delivered, "
                f"{(got - 1) / span:.0f} deliveries/s (first to last arrival {span:.2f} s), "
                f"{receiver.bad} failed verification"
            )
        finally:
            if receiver is not None:
                await receiver.stop()
            drop(name)


async def post(session: aiohttp.ClientSession, url: str, query: str, variables: dict, token: str):
    async with session.post(
        f"{url}/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    ) as response:
        data = await response.json()
    (payload,) = data["data"].values()
    assert payload["errors"] == [], payload
    return payload


async def fanout(args: argparse.Namespace) -> None:
    for worker in ("off", "on"):
        await fanout_once(args, worker)


async def fanout_once(args: argparse.Namespace, worker: str) -> None:
    """Fresh organizations for every round (an organization's invitations pile up and slow
    inviteMember down over a run): the even ones without endpoints, the odd ones with 5."""
    with tempfile.TemporaryDirectory(prefix="roster-bench-wh-") as tmp:
        url, name = database(args.db, tmp)
        receiver = Receiver()
        try:
            await open_db(url)
            hook = await receiver.start()
            owner = await factories.make_user(name="Bench Owner")
            token = await factories.make_session(owner)
            orgs: list[str] = []
            for i in range(2 * args.rounds):
                organization, _ = await factories.make_organization(owner, f"Bench {i}")
                orgs.append(to_global_id("Organization", organization.id))
                for _ in range(5 if i % 2 else 0):
                    await WebhookEndpoint.create(
                        organization_id=organization.id,
                        url=hook,
                        event_types=[],
                        secret_encrypted=encrypt(config.current(), new_secret()),
                    )
            await db.close_db()
            counter = iter(range(10**9))
            latencies: dict[int, list[float]] = {0: [], 5: []}
            rates: dict[int, list[float]] = {0: [], 5: []}
            env = {**SERVER_ENV, "WEBHOOK_WORKER": worker}
            server = await asyncio.to_thread(RosterServer, url, env=env)
            try:
                async with aiohttp.ClientSession() as session:

                    async def invite(org_id: str) -> float:
                        email = f"i{next(counter)}@bench.example.com"
                        variables = {"input": {"organizationId": org_id, "email": email}}
                        started = time.perf_counter()
                        await post(session, server.url, INVITE, variables, token)
                        return (time.perf_counter() - started) * 1000

                    async def load(targets: list[tuple[str, int]]) -> float:
                        """4 clients; the k-th request goes to targets[k % len]."""
                        jobs = iter(range(args.invites * len(targets)))

                        async def client() -> None:
                            for k in jobs:
                                org_id, kind = targets[k % len(targets)]
                                latencies[kind].append(await invite(org_id))

                        started = time.perf_counter()
                        await asyncio.gather(*(client() for _ in range(4)))
                        return args.invites * len(targets) / (time.perf_counter() - started)

                    await load([(orgs[0], 0)])  # warm-up
                    latencies = {0: [], 5: []}
                    for r in range(args.rounds):
                        plain, hooked = (orgs[2 * r], 0), (orgs[2 * r + 1], 5)
                        if worker == "off":
                            # Interleaved: both kinds see the same moment of the machine.
                            await load([plain, hooked])
                        else:
                            # Blocks (the deliveries' sending would slow both kinds alike),
                            # in alternating order against drift.
                            for target in (plain, hooked) if r % 2 == 0 else (hooked, plain):
                                await asyncio.sleep(1.0)  # the worker drains
                                rates[target[1]].append(await load([target]))
            finally:
                await asyncio.to_thread(server.stop)
            p0 = percentile(latencies[0], 0.5)
            p5 = percentile(latencies[5], 0.5)
            how = "interleaved" if worker == "off" else "in alternating blocks"
            print(
                f"inviteMember, 4 clients, {args.rounds} rounds of {args.invites} per setting "
                f"{how} ({args.db}, 1 server process, WEBHOOK_WORKER={worker}):"
            )
            line = f"  p50 with 0 endpoints {p0:.1f} ms, with 5 endpoints {p5:.1f} ms: "
            line += f"{100 * (p5 - p0) / p0:+.1f}%"
            if worker == "on":
                r0 = sorted(rates[0])[len(rates[0]) // 2]
                r5 = sorted(rates[5])[len(rates[5]) // 2]
                line += f"; throughput {r0:.0f} vs {r5:.0f} req/s ({100 * (r5 - r0) / r0:+.1f}%)"
            print(line + f"; {len(receiver.times)} deliveries sent during the run")
        finally:
            await receiver.stop()
            drop(name)


async def statements(args: argparse.Namespace) -> None:
    from tortoise.transactions import in_transaction

    from app.models import AuditEvent
    from app.webhooks.outbox import fan_out

    with tempfile.TemporaryDirectory(prefix="roster-bench-wh-") as tmp:
        url, name = database(args.db, tmp)
        try:
            await open_db(url)
            owner = await factories.make_user(name="Bench Owner")
            print(f"fan_out inside an audit event's transaction ({args.db}, {args.events} events):")
            for count in (0, 5):
                organization, _ = await factories.make_organization(owner, f"Bench {count}")
                for _ in range(count):
                    await WebhookEndpoint.create(
                        organization_id=organization.id,
                        url="https://hooks.example.com/roster",
                        event_types=[],
                        secret_encrypted=encrypt(config.current(), new_secret()),
                    )
                fan: list[float] = []
                whole: list[float] = []
                for i in range(args.events):
                    started = time.perf_counter()
                    async with in_transaction():
                        event = await AuditEvent.create(
                            organization_id=organization.id,
                            action="invitation.created",
                            target_type="Invitation",
                            target_id=i + 1,
                            data={"email": f"i{i}@example.com", "role": "USER"},
                        )
                        before = time.perf_counter()
                        await fan_out(event)
                        fan.append((time.perf_counter() - before) * 1000)
                    whole.append((time.perf_counter() - started) * 1000)
                print(
                    f"  {count} endpoints: fan_out p50 {percentile(fan, 0.5):.2f} ms "
                    f"(p95 {percentile(fan, 0.95):.2f}); the whole transaction p50 "
                    f"{percentile(whole, 0.5):.2f} ms"
                )
            await db.close_db()
        finally:
            drop(name)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    one = commands.add_parser("throughput")
    one.add_argument("--deliveries", type=int, default=2000)
    one.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    two = commands.add_parser("fanout")
    two.add_argument("--invites", type=int, default=300)
    two.add_argument("--rounds", type=int, default=3)
    two.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    three = commands.add_parser("statements")
    three.add_argument("--events", type=int, default=500)
    three.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    arguments = parser.parse_args()
    commands_by_name = {"throughput": throughput, "fanout": fanout, "statements": statements}
    asyncio.run(commands_by_name[arguments.command](arguments))
