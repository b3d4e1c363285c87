"""Profile scenario 1 (the members page) in-process, without HTTP.

    python bench/profile_members.py --database-url sqlite://bench/results/bench.sqlite3 \
        --seed bench/results/seed-sqlite.json [--requests 300] [--profile]

`--scenario invitations` profiles scenario 3 (the PENDING invitations by expiresAt) instead.

Runs the request the way app.web does (authenticate, Context, schema.execute, body
encoding) in a loop on one event loop and prints the mean wall and CPU time per request (CPU time
is the steadier figure on a shared machine); with
`--profile`, the top of a cProfile of those requests (cumulative and own time).
`--compare` also checks the compiled path against graphql-core's for the same request.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import db
from app.auth.viewer import authenticate
from app.config import Settings
from app.resolvers.context import Context
from app.schema import schema
from app.web import create_app, encode_body

QUERY = (
    "query Members($id: ID!, $first: Int!) { organization(id: $id) {"
    " members(first: $first, orderBy: {field: NAME, direction: ASC}) {"
    " edges { node { id name email role status joinedAt user { id name }"
    " projectAssignments { role project { id name } } } } } } }"
)
# Scenario 3, as bench/run sends it (`$first` added: 50 there).
INVITATIONS_QUERY = (
    "query Pending($id: ID!, $first: Int!) { organization(id: $id) {"
    " invitations(first: $first, statuses: [PENDING], orderBy: {field: EXPIRES_AT,"
    " direction: ASC}) { totalCount edges { cursor node { id email role status expiresAt"
    " createdAt sendCount invitedBy { id name } } } } } }"
)


QUERIES = {"members": QUERY, "invitations": INVITATIONS_QUERY}


async def one(token: str, variables: dict, query: str = QUERY) -> bytes:
    viewer = await authenticate(f"Bearer {token}")
    name = query.split("(")[0].split()[1]  # "Members", "Pending"
    context = Context(viewer=viewer, ip="127.0.0.1", request_id="p", operation_name=name)
    result = await schema.execute(query, variable_values=variables, context_value=context)
    assert not result.errors, result.errors
    return encode_body({"data": result.data})


class Http:
    """The whole request through the aiohttp application (middleware, access log, body
    parsing, authentication, execution, encoding) on an in-process server."""

    def __init__(self, database_url: str) -> None:
        from aiohttp import ClientSession
        from aiohttp.test_utils import TestServer

        settings = Settings(database_url=database_url, rate_limits=False)
        self.server = TestServer(create_app(settings), host="127.0.0.1")
        self.session_class = ClientSession

    async def __aenter__(self) -> Http:
        await self.server.start_server()
        self.session = self.session_class()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.session.close()
        await self.server.close()

    async def one(self, token: str, variables: dict, query: str = QUERY) -> bytes:
        body = json.dumps({"query": query, "variables": variables}).encode()
        async with self.session.post(
            self.server.make_url("/graphql"),
            data=body,
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        ) as response:
            return await response.read()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--seed", type=Path, required=True)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--first", type=int, default=50)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--scenario", choices=sorted(QUERIES), default="members")
    parser.add_argument("--http", action="store_true", help="through the aiohttp app")
    args = parser.parse_args()
    if args.http:
        async with Http(args.database_url) as http:
            await measure(args, partial(http.one, query=QUERIES[args.scenario]))
        return
    await db.init_db(args.database_url, 4, 5000)
    try:
        await measure(args, partial(one, query=QUERIES[args.scenario]))
    finally:
        await db.close_db()


async def measure(args: argparse.Namespace, one: Any) -> None:
    seed = json.loads(args.seed.read_text())
    variables = {"id": seed["organization_global_id"], "first": args.first}
    for _ in range(20):
        await one(seed["owner_token"], variables)
    profiler = cProfile.Profile() if args.profile else None
    started = time.perf_counter()
    cpu = time.process_time()
    if profiler:
        profiler.enable()
    for _ in range(args.requests):
        await one(seed["owner_token"], variables)
    if profiler:
        profiler.disable()
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu
    print(
        f"{elapsed / args.requests * 1000:.2f} ms per request, {cpu / args.requests * 1000:.2f}"
        f" CPU-ms (this process, all threads; {args.requests} requests)"
    )
    if profiler:
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(35)
        stats.sort_stats("tottime").print_stats(30)


if __name__ == "__main__":
    asyncio.run(main())
