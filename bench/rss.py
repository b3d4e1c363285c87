"""RSS of one Roster server process across many requests (issue #16: flat within ±10 %).

    python bench/rss.py [--db sqlite|postgres] [--requests 100000] [--members-every 10]

Seeds a fresh database (bench/seed.py: the 10,000-member organization), starts one
`roster serve` process, drives `--requests` requests through `--concurrency` keep-alive
connections (`{ me { id } }` with the owner's session, every `--members-every`-th the
members page of scenario 1, every 100th an unknown token, answered 401), and samples the
server's VmRSS from /proc/<pid>/status every `--every` requests. Prints the samples and the
change from the first sample after warm-up to the last. Figures only, nothing asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import tempfile
import time
from pathlib import Path

import aiohttp
from _server import PYTHON, ROOT, RosterServer

MEMBERS = (
    "query Members($id: ID!, $first: Int!) { organization(id: $id) {"
    " members(first: $first, orderBy: {field: NAME, direction: ASC}) {"
    " edges { node { id name email role status joinedAt user { id name }"
    " projectAssignments { role project { id name } } } } } } }"
)
ME = "{ me { id } }"


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def drive(url: str, pid: int, seed: dict, args: argparse.Namespace) -> list[tuple[int, int]]:
    token, org = seed["owner_token"], seed["organization_global_id"]
    members = {"query": MEMBERS, "variables": {"id": org, "first": 50}}
    me = {"query": ME}
    counter = 0
    samples: list[tuple[int, int]] = [(0, rss_kib(pid))]
    failures = 0

    async def worker(http: aiohttp.ClientSession) -> None:
        nonlocal counter, failures
        while counter < args.requests:
            counter += 1
            n = counter
            bad = n % 100 == 0
            body = members if n % args.members_every == 0 else me
            headers = {"Authorization": f"Bearer {'rs_unknown' if bad else token}"}
            async with http.post(url, json=body, headers=headers) as response:
                await response.read()
                if response.status != (401 if bad else 200):
                    failures += 1
            if n % args.every == 0:
                samples.append((n, rss_kib(pid)))

    connector = aiohttp.TCPConnector(limit=args.concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:
        await asyncio.gather(*(worker(http) for _ in range(args.concurrency)))
    if failures:
        print(f"unexpected answers: {failures}")
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432/roster_rss")
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--every", type=int, default=10_000)
    parser.add_argument("--members-every", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="roster-rss-") as tmp:
        if args.db == "sqlite":
            url = f"sqlite://{Path(tmp) / 'rss.sqlite3'}"
        else:
            url = args.pg_url
            name = url.rsplit("/", 1)[1]
            subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", name])
            subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], check=True)
        seed_json = Path(tmp) / "seed.json"
        subprocess.run(
            [str(PYTHON), "bench/seed.py", "--database-url", url, "--out", str(seed_json)],
            check=True,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
        seed = json.loads(seed_json.read_text())
        try:
            with RosterServer(database_url=url) as server:
                pid = server.process.pid
                started = time.monotonic()
                samples = asyncio.run(drive(f"{server.url}/graphql", pid, seed, args))
                elapsed = time.monotonic() - started
        finally:
            if args.db == "postgres":
                subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", name])
    print(f"{args.db}: {args.requests} requests in {elapsed:.0f} s, server pid {pid}")
    print("| requests | RSS MiB |")
    print("|--:|--:|")
    for n, kib in samples:
        print(f"| {n} | {kib / 1024:.1f} |")
    base = samples[1][1] if len(samples) > 2 else samples[0][1]
    last = samples[-1][1]
    print(
        f"from {samples[1][0] if len(samples) > 2 else 0} requests on: "
        f"{base / 1024:.1f} → {last / 1024:.1f} MiB ({(last - base) / base * 100:+.1f} %); "
        f"max {max(k for _, k in samples[1:]) / 1024:.1f} MiB"
    )


if __name__ == "__main__":
    main()
