"""The stricter raw baseline: bench/raw_baseline.py with orjson and uvloop.

    python bench/raw_strict.py serve --database-url URL [--port 18082] [--workers N]

The same SQL, the same bytes (checked by `raw_baseline.py check --raw` against this
server too), but the body is parsed and written with orjson and the server runs on
uvloop: what plain Python on this machine can do for scenario 1, the third column of
bench/run's table, so the gap to the machine stays visible.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import sys

import orjson
import raw_baseline as base
import uvloop
from aiohttp import web


def render(role, members, users, assignments) -> bytes:
    if role is None:
        return b'{"data":{"organization":null}}'
    privileged = role in base.ADMINS
    user_names = {row[0]: row[1] for row in users}
    by_member: dict[int, list] = {}
    for member_id, a_role, project_id, project_name in assignments:
        by_member.setdefault(member_id, []).append(
            {
                "role": a_role,
                "project": {"id": base.gid("Project", project_id), "name": project_name},
            }
        )
    edges = [
        {
            "node": {
                "id": base.gid("Member", m[0]),
                "name": m[1],
                "email": m[2] if privileged else None,
                "role": m[3],
                "status": m[4],
                "joinedAt": base.iso(m[5]),
                "user": {"id": base.gid("User", m[6]), "name": user_names[m[6]]},
                "projectAssignments": by_member.get(m[0], []),
            }
        }
        for m in members
    ]
    return orjson.dumps({"data": {"organization": {"members": {"edges": edges}}}})


def main() -> int:
    parser = argparse.ArgumentParser(description="raw aiohttp + SQL + orjson + uvloop")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve")
    serve.add_argument("--database-url", required=True)
    serve.add_argument("--port", type=int, default=18082)
    serve.add_argument("--workers", type=int, default=1, help="processes sharing the port")
    args = parser.parse_args()

    def run() -> None:
        web.run_app(
            base.make_app(args.database_url, render=render, loads=orjson.loads),
            host="127.0.0.1",  # loopback only
            port=args.port,
            access_log=None,
            print=None,
            shutdown_timeout=5,
            reuse_port=args.workers > 1,
            loop=uvloop.new_event_loop(),
        )

    if args.workers == 1:
        run()
        return 0
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
