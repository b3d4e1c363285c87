"""Command line: `python -m app serve|migrate` (also installed as `roster`)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from aiohttp import web

from app import db
from app.config import ConfigError, Settings


def _serve(settings: Settings) -> None:
    from app.web import create_app

    asyncio.run(_migrate(settings))
    logging.getLogger("roster").info("serving on http://%s:%s", settings.host, settings.port)
    # run_app turns SIGTERM and SIGINT into a graceful shutdown: in-flight
    # requests finish, the mail worker drains, connections close.
    web.run_app(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        access_log=None,
        print=None,
        shutdown_timeout=10,
    )


async def _migrate(settings: Settings) -> None:
    applied = await db.migrate(settings.database_url)
    if applied:
        logging.getLogger("roster").info("migrations applied: %s", ", ".join(applied))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="roster", description="Roster membership API server")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="apply migrations, then serve HTTP on HOST:PORT")
    commands.add_parser("migrate", help="apply migrations and exit")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("tortoise").setLevel(logging.WARNING)
    logging.getLogger("aerich").setLevel(logging.WARNING)
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"roster: configuration error: {exc}", file=sys.stderr)
        return 2
    if args.command == "serve":
        _serve(settings)
    else:
        asyncio.run(_migrate(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
