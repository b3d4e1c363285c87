"""The raw baseline: scenario 1 (the members page) in plain aiohttp + hand-written SQL.

    python bench/raw_baseline.py serve --database-url URL [--port 18081]
    python bench/raw_baseline.py check --roster URL --raw URL --seed bench/results/seed.json

`serve` answers POST /graphql with byte-for-byte the JSON Roster returns for

    organization(id: $id) { members(first: $first, orderBy: {field: NAME, direction: ASC}) {
      edges { node { id name email role status joinedAt user { id name }
                     projectAssignments { role project { id name } } } } } }

whatever the query text says (it reads only `variables.id` and `variables.first`).
It still does the work a fair comparison needs: the bearer session lookup and the
viewer's role in the organization (ADMIN+ see emails and BLOCKED members), then
one query for the page, one for the users and one for assignments + projects.
PostgreSQL via asyncpg (a pool without the per-release reset query), SQLite via
aiosqlite. `check` posts the same request to both servers and compares the bytes.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import multiprocessing
import os
import signal
import sys
import urllib.request
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web

ADMINS = ("OWNER", "ADMIN")


def gid(type_name: str, pk: int) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode().rstrip("=")


def pk_of(global_id: str, type_name: str) -> int | None:
    try:
        raw = base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode()
    except ValueError:
        return None
    name, _, pk = raw.partition(":")
    return int(pk) if name == type_name and pk.isdigit() else None


def iso(value) -> str:
    """Strawberry's DateTime: datetime.isoformat() of the aware UTC value."""
    if isinstance(value, str):  # SQLite keeps the text Tortoise wrote
        value = datetime.fromisoformat(value)
    return value.isoformat()


class Postgres:
    async def open(self, url: str) -> None:
        import asyncpg

        class NoReset(asyncpg.Connection):
            def get_reset_query(self) -> str:
                return ""

        url = url.replace("postgres://", "postgresql://", 1)
        self.pool = await asyncpg.create_pool(
            url, min_size=4, max_size=10, connection_class=NoReset
        )

    async def close(self) -> None:
        await self.pool.close()

    async def fetch(self, token_hash: str, org_id: int, limit: int):
        async with self.pool.acquire() as conn:
            viewer = await conn.fetchrow(
                "SELECT s.user_id, m.role FROM sessions s LEFT JOIN members m"
                " ON m.user_id = s.user_id AND m.organization_id = $2 AND m.status = 'ACTIVE'"
                " WHERE s.token_hash = $1",
                token_hash,
                org_id,
            )
            if viewer is None or viewer["role"] is None:
                return None, [], {}, {}
            statuses = ["ACTIVE", "BLOCKED"] if viewer["role"] in ADMINS else ["ACTIVE"]
            members = await conn.fetch(
                "SELECT id, name, email, role, status, joined_at, user_id FROM members"
                " WHERE organization_id = $1 AND status = ANY($2::text[])"
                " ORDER BY name, id LIMIT $3",
                org_id,
                statuses,
                limit,
            )
            users = await conn.fetch(
                "SELECT id, name FROM users WHERE id = ANY($1::bigint[])",
                [m["user_id"] for m in members],
            )
            assignments = await conn.fetch(
                "SELECT a.member_id, a.role, p.id, p.name FROM project_assignments a"
                " JOIN projects p ON p.id = a.project_id"
                " WHERE a.member_id = ANY($1::bigint[]) ORDER BY a.id",
                [m["id"] for m in members],
            )
        return viewer["role"], members, users, assignments


class Sqlite:
    async def open(self, url: str) -> None:
        import aiosqlite

        self.conn = await aiosqlite.connect(url.removeprefix("sqlite://"))

    async def close(self) -> None:
        await self.conn.close()

    async def _all(self, sql: str, *args):
        async with self.conn.execute(sql, args) as cursor:
            return await cursor.fetchall()

    async def fetch(self, token_hash: str, org_id: int, limit: int):
        rows = await self._all(
            "SELECT s.user_id, m.role FROM sessions s LEFT JOIN members m"
            " ON m.user_id = s.user_id AND m.organization_id = ? AND m.status = 'ACTIVE'"
            " WHERE s.token_hash = ?",
            org_id,
            token_hash,
        )
        if not rows or rows[0][1] is None:
            return None, [], {}, {}
        role = rows[0][1]
        statuses = "('ACTIVE','BLOCKED')" if role in ADMINS else "('ACTIVE')"
        members = await self._all(
            "SELECT id, name, email, role, status, joined_at, user_id FROM members"
            f" WHERE organization_id = ? AND status IN {statuses} ORDER BY name, id LIMIT ?",
            org_id,
            limit,
        )
        keys = ",".join("?" * len(members)) or "NULL"
        users = await self._all(
            f"SELECT id, name FROM users WHERE id IN ({keys})", *[m[6] for m in members]
        )
        assignments = await self._all(
            "SELECT a.member_id, a.role, p.id, p.name FROM project_assignments a"
            f" JOIN projects p ON p.id = a.project_id WHERE a.member_id IN ({keys}) ORDER BY a.id",
            *[m[0] for m in members],
        )
        return role, members, users, assignments


def render(role, members, users, assignments) -> bytes:
    if role is None:
        return b'{"data":{"organization":null}}'
    privileged = role in ADMINS
    user_names = {row[0]: row[1] for row in users}
    by_member: dict[int, list] = {}
    for member_id, a_role, project_id, project_name in assignments:
        by_member.setdefault(member_id, []).append(
            {"role": a_role, "project": {"id": gid("Project", project_id), "name": project_name}}
        )
    edges = [
        {
            "node": {
                "id": gid("Member", m[0]),
                "name": m[1],
                "email": m[2] if privileged else None,
                "role": m[3],
                "status": m[4],
                "joinedAt": iso(m[5]),
                "user": {"id": gid("User", m[6]), "name": user_names[m[6]]},
                "projectAssignments": by_member.get(m[0], []),
            }
        }
        for m in members
    ]
    body = {"data": {"organization": {"members": {"edges": edges}}}}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def make_app(database_url: str, render=render, loads=json.loads) -> web.Application:
    """The server; bench/raw_strict.py passes orjson's encoder and decoder."""
    store = Postgres() if database_url.startswith(("postgres://", "postgresql://")) else Sqlite()

    async def graphql(request: web.Request) -> web.Response:
        params = loads(await request.read())
        variables = params.get("variables") or {}
        org_id = pk_of(str(variables.get("id", "")), "Organization")
        first = variables.get("first")
        auth = request.headers.get("Authorization", "")
        if org_id is None or not isinstance(first, int) or not 0 <= first <= 100:
            return web.json_response({"errors": [{"message": "bad request"}]}, status=400)
        token_hash = hashlib.sha256(auth.removeprefix("Bearer ").strip().encode()).hexdigest()
        body = render(*await store.fetch(token_hash, org_id, first))
        return web.Response(body=body, content_type="application/json", charset="utf-8")

    async def start(app: web.Application) -> None:
        await store.open(database_url)

    async def stop(app: web.Application) -> None:
        await store.close()

    app = web.Application()
    app.router.add_post("/graphql", graphql)
    app.router.add_get("/healthz", lambda request: web.json_response({"status": "ok"}))
    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    return app


MEMBERS_QUERY = (
    "query Members($id: ID!, $first: Int!) { organization(id: $id) {"
    " members(first: $first, orderBy: {field: NAME, direction: ASC}) {"
    " edges { node { id name email role status joinedAt user { id name }"
    " projectAssignments { role project { id name } } } } } } }"
)


def post(url: str, token: str, variables: dict) -> bytes:
    body = json.dumps({"query": MEMBERS_QUERY, "variables": variables}).encode()
    request = urllib.request.Request(
        url,
        data=body,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.read()


def check(roster: str, raw: str, seed_file: Path) -> int:
    for url in (roster, raw):
        if urlsplit(url).hostname != "127.0.0.1":
            raise SystemExit("check: only loopback (127.0.0.1) URLs")
    seed = json.loads(seed_file.read_text())
    failures = 0
    for first in (0, 1, 10, 50, 100):
        variables = {"id": seed["organization_global_id"], "first": first}
        a = post(roster, seed["owner_token"], variables)
        b = post(raw, seed["owner_token"], variables)
        same = a == b and b'"errors"' not in a
        failures += not same
        print(f"check first={first}: {'identical' if same else 'DIFFERENT'} ({len(a)} bytes)")
        if not same:
            at = next(
                (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y),
                min(len(a), len(b)),
            )
            print(f"  roster: {a[max(0, at - 80) : at + 80]!r}")
            print(f"  raw:    {b[max(0, at - 80) : at + 80]!r}")
    return 1 if failures else 0


def main() -> int:
    parser = argparse.ArgumentParser(description="raw aiohttp + SQL baseline for scenario 1")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve")
    serve.add_argument("--database-url", required=True)
    serve.add_argument("--port", type=int, default=18081)
    serve.add_argument("--workers", type=int, default=1, help="processes sharing the port")
    checker = commands.add_parser("check")
    checker.add_argument("--roster", default="http://127.0.0.1:18080/graphql")
    checker.add_argument("--raw", default="http://127.0.0.1:18081/graphql")
    checker.add_argument(
        "--seed", type=Path, default=Path(__file__).parent / "results" / "seed.json"
    )
    args = parser.parse_args()
    if args.command == "check":
        return check(args.roster, args.raw, args.seed)

    def run() -> None:
        web.run_app(
            make_app(args.database_url),
            host="127.0.0.1",  # loopback only
            port=args.port,
            access_log=None,
            print=None,
            shutdown_timeout=5,
            reuse_port=args.workers > 1,
        )

    if args.workers == 1:
        run()
        return 0
    # The same process model as Roster's WORKERS: N processes on one port.
    children = [
        multiprocessing.get_context("fork").Process(target=run) for _ in range(args.workers)
    ]
    for child in children:
        child.start()
    signal.signal(signal.SIGTERM, lambda *_: [os.kill(c.pid, signal.SIGTERM) for c in children])
    for child in children:
        child.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
