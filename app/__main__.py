"""Command line: `roster` (also `python -m app`). `roster --help` lists the commands.

Each command imports the server, the services or the mail client inside its function
(start-up cost): `roster --help` and `roster migrate` load none of them.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import getpass
import logging
import multiprocessing
import os
import signal
import socket
import sys
from collections.abc import Awaitable, Callable

from aiohttp import web

from app import config, db
from app.clock import now
from app.config import ConfigError, Settings
from app.errors import DomainError
from app.observability import configure_logging

log = logging.getLogger("roster")


# The cyclic garbage collector, tuned for a server process. A list page allocates some
# 10,000 objects, nearly all freed by reference counting, and Python's default (a young
# collection every 700 allocations, a full one now and then over every object of the
# schema, the ORM and the libraries) spent about a tenth of a members page's CPU time in
# collections, with pauses of tens of ms. What importing made is frozen out of collections
# and young collections run every GC_YOUNG_THRESHOLD allocations. bench/rss.py keeps the
# memory figure: flat.
GC_YOUNG_THRESHOLD = 20_000
GC_OLDER_THRESHOLDS = (20, 20)


def _settle_garbage_collector() -> None:
    """Before serving: freeze what importing the app made, then collect less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *GC_OLDER_THRESHOLDS)


def _run_server(settings: Settings, sock: socket.socket | None = None) -> None:
    import uvloop

    from app.web import create_app

    application = create_app(settings)
    _settle_garbage_collector()

    # run_app turns SIGTERM and SIGINT into a graceful shutdown: in-flight
    # requests finish, the mail worker drains, connections close. The server's loop is
    # uvloop's (libuv: cheaper sockets and callbacks than asyncio's selector loop); tests
    # run the application on their own loop.
    web.run_app(
        application,
        loop=uvloop.new_event_loop(),
        host=None if sock else settings.host,
        port=None if sock else settings.port,
        sock=sock,
        access_log=None,
        # Called once the socket listens (startup done): what tests and operators wait for.
        print=lambda _banner: log.info("ready: process %s accepts requests", os.getpid()),
        shutdown_timeout=10,
        handle_signals=True,
    )


def _worker(settings: Settings, sock: socket.socket) -> None:
    configure_logging(settings.log_format)
    _run_server(settings, sock)


def serve(settings: Settings) -> int:
    asyncio.run(_migrate(settings))
    log.info(
        "serving on http://%s:%s with %s worker(s)", settings.host, settings.port, settings.workers
    )
    if settings.workers == 1:
        _run_server(settings)
        return 0
    # Several processes accept on one shared socket; each runs its own mail
    # worker (the outbox is claimed with SKIP LOCKED, so mail goes out once).
    sock = socket.create_server((settings.host, settings.port), reuse_port=False, backlog=1024)
    sock.set_inheritable(True)
    context = multiprocessing.get_context("fork")
    children = [
        context.Process(target=_worker, args=(settings, sock), daemon=False)
        for _ in range(settings.workers)
    ]
    for child in children:
        child.start()

    def stop(signum: int, frame: object) -> None:
        for child in children:
            if child.is_alive():
                child.terminate()  # SIGTERM

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for child in children:
        child.join()
    return 0


async def _migrate(settings: Settings) -> None:
    applied = await db.migrate(settings.database_url)
    if applied:
        log.info("migrations applied: %s", ", ".join(applied))


async def _with_db(settings: Settings, work: Callable[[], Awaitable[int]]) -> int:
    config.set_current(settings)
    await db.init_db(settings.database_url, 2)
    try:
        return await work()
    finally:
        await db.close_db()


async def create_user(args: argparse.Namespace) -> int:
    from app.auth import passwords
    from app.models import User
    from app.services.validation import clean_email, clean_name

    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else None
    if password is None:
        password = getpass.getpass("Password: ")
    email = clean_email(args.email)
    passwords.check_policy(password, email, clean_name(args.name))
    if await User.exists(email=email):
        print(f"roster: {email} has an account already", file=sys.stderr)
        return 1
    user = await User.create(
        email=email,
        name=clean_name(args.name),
        password_hash=await passwords.hash_password(password),
        email_verified_at=now(),  # the operator vouches for the address
    )
    print(f"created user {user.email} (id {user.id}, email verified)")
    return 0


async def create_organization(args: argparse.Namespace) -> int:
    from app.models import User
    from app.services import organizations

    owner = await User.get_or_none(email=args.owner.strip().lower())
    if owner is None:
        print(f"roster: no user {args.owner}; create it with `roster create-user`", file=sys.stderr)
        return 1
    organization = await organizations.create_organization(owner, args.name, args.slug, None)
    print(
        f"created organization {organization.name} (slug {organization.slug}), owner {owner.email}"
    )
    return 0


async def outbox(args: argparse.Namespace) -> int:
    from app.models import OutboxMail

    if args.action == "list":
        rows = OutboxMail.all().order_by("-id").limit(args.limit)
        if args.status:
            rows = rows.filter(status=args.status)
        for mail in await rows:
            print(
                f"{mail.id}\t{mail.status}\t{mail.attempts}\t{mail.to_email}\t{mail.kind}\t"
                f"{mail.created_at:%Y-%m-%d %H:%M}\t{mail.last_error or ''}"
            )
        return 0
    selection = (
        OutboxMail.filter(id__in=args.ids)
        if args.ids
        else OutboxMail.filter(status__in=["FAILED", "QUEUED"])
    )
    count = await selection.update(
        status="QUEUED", next_attempt_at=now(), locked_until=None, attempts=0
    )
    print(f"{count} mail(s) queued for delivery now")
    return 0


async def webhooks(args: argparse.Namespace) -> int:
    from app.models import WebhookDelivery, WebhookEndpoint

    if args.action == "endpoints":
        for endpoint in await WebhookEndpoint.all().order_by("id").limit(args.limit):
            state = "enabled" if endpoint.enabled else f"DISABLED ({endpoint.disabled_reason})"
            types = ",".join(endpoint.event_types) or "*"
            print(
                f"{endpoint.id}\torg {endpoint.organization_id}\t{endpoint.url}\t{types}\t{state}"
            )
        return 0
    if args.action == "list":
        rows = WebhookDelivery.all().order_by("-id").limit(args.limit)
        if args.status:
            rows = rows.filter(status=args.status)
        if args.endpoint:
            rows = rows.filter(endpoint_id=args.endpoint)
        for delivery in await rows:
            due = (
                f"{delivery.next_attempt_at:%Y-%m-%d %H:%M:%S}" if delivery.next_attempt_at else "-"
            )
            print(
                f"{delivery.id}\t{delivery.status}\t{delivery.attempts}\t"
                f"{delivery.response_status or '-'}\tendpoint {delivery.endpoint_id}\t"
                f"{delivery.event_type}\t{delivery.message_id}\tnext {due}\t"
                f"{delivery.last_error or ''}"
            )
        return 0
    # retry: the same messages (body, webhook-id) with a fresh retry schedule, due now.
    selection = (
        WebhookDelivery.filter(id__in=args.ids)
        if args.ids
        else WebhookDelivery.filter(status__in=["FAILED", "PENDING"])
    )
    count = await selection.update(
        status="PENDING", next_attempt_at=now(), attempts=0, last_error=None
    )
    print(f"{count} webhook deliver(ies) queued for delivery now")
    disabled = await WebhookEndpoint.filter(enabled=False).count()
    if disabled:
        print(
            f"note: {disabled} endpoint(s) are disabled; their deliveries wait until "
            "updateWebhookEndpoint(enabled: true)"
        )
    return 0


async def export(args: argparse.Namespace) -> int:
    from app import exports
    from app.ids import pk_of
    from app.models import Organization

    pk = pk_of(args.organization, "Organization")
    organization = (
        await Organization.get_or_none(id=pk)
        if pk
        else await Organization.get_or_none(slug=args.organization)
    )
    if organization is None:
        print(f"roster: no organization {args.organization}", file=sys.stderr)
        return 1
    output = open(args.output, "wb") if args.output else sys.stdout.buffer
    written = 0
    name = {"members": "members", "audit": "audit-events"}[args.what]
    try:
        async for chunk in exports.render(name, args.format, organization.id):
            output.write(chunk)
            written += chunk.count(b"\n")
            if args.output and sys.stderr.isatty():
                print(f"\r{written:,} lines", end="", file=sys.stderr)
    finally:
        if args.output:
            output.close()
            print(f"\rwrote {written:,} lines to {args.output}", file=sys.stderr)
        else:
            output.flush()
    return 0


async def check(settings: Settings) -> int:
    """Configuration and connectivity, with a clear line for each."""
    from app.mail.sender import TemporaryFailure

    failures = 0
    print(f"database: {settings.database_url.split('@')[-1]}")
    try:
        await db.init_db(settings.database_url, 1)
        if await db.ping():
            print("  ok: the database answers")
        else:
            print("  FAIL: the database does not answer")
            failures += 1
    except Exception as exc:  # any failure is reported, not raised
        print(f"  FAIL: {type(exc).__name__}: {exc}")
        failures += 1
    finally:
        await db.close_db()
    if settings.smtp is None:
        print("mail: SMTP_URL unset; mail is logged and kept in the outbox")
    else:
        import aiosmtplib

        smtp = settings.smtp
        print(f"mail: {smtp.hostname}:{smtp.port}")
        client = aiosmtplib.SMTP(
            hostname=smtp.hostname,
            port=smtp.port,
            use_tls=smtp.use_tls,
            start_tls=smtp.start_tls,
            timeout=10,
        )
        try:
            await client.connect()
            if smtp.username:
                await client.login(smtp.username, smtp.password or "")
            await client.quit()
            print("  ok: the SMTP server accepts connections")
        except (aiosmtplib.SMTPException, OSError, TemporaryFailure) as exc:
            print(f"  FAIL: {type(exc).__name__}: {exc}")
            failures += 1
    print(f"public url: {settings.public_url}")
    return 1 if failures else 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="roster",
        description="Roster, the organization membership API server. Configured by environment "
        "variables (DATABASE_URL, SMTP_URL, MAIL_FROM, PUBLIC_URL, HOST, PORT, ...).",
    )
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("serve", help="apply migrations, then serve HTTP on HOST:PORT")
    commands.add_parser("migrate", help="apply pending migrations and exit")
    commands.add_parser("check", help="check the configuration and connectivity")
    user = commands.add_parser(
        "create-user", help="create a verified user (bootstrap without mail)"
    )
    user.add_argument("--email", required=True)
    user.add_argument("--name", required=True)
    user.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    org = commands.add_parser("create-organization", help="create an organization for an owner")
    org.add_argument("name")
    org.add_argument("--owner", required=True, metavar="EMAIL", help="the owner's account email")
    org.add_argument("--slug")
    box = commands.add_parser("outbox", help="look at or retry the mail outbox")
    box_actions = box.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = box_actions.add_parser("list", help="the newest mails")
    listing.add_argument("--status", choices=["QUEUED", "SENT", "FAILED"])
    listing.add_argument("--limit", type=int, default=50)
    retry = box_actions.add_parser(
        "retry", help="queue mails for delivery now (default: all not sent)"
    )
    retry.add_argument("ids", nargs="*", type=int, metavar="ID")
    hooks = commands.add_parser("webhooks", help="look at or retry webhook deliveries")
    hook_actions = hooks.add_subparsers(dest="action", required=True, metavar="ACTION")
    hook_list = hook_actions.add_parser("list", help="the newest deliveries")
    hook_list.add_argument("--status", choices=["PENDING", "SUCCEEDED", "FAILED"])
    hook_list.add_argument("--endpoint", type=int, metavar="ID", help="one endpoint's only")
    hook_list.add_argument("--limit", type=int, default=50)
    hook_endpoints = hook_actions.add_parser("endpoints", help="the endpoints and their state")
    hook_endpoints.add_argument("--limit", type=int, default=200)
    hook_retry = hook_actions.add_parser(
        "retry",
        help="queue deliveries again now, same webhook-id, fresh retry schedule "
        "(default: every FAILED or PENDING one)",
    )
    hook_retry.add_argument("ids", nargs="*", type=int, metavar="ID")
    exp = commands.add_parser("export", help="export members or the audit trail")
    exp.add_argument("what", choices=["members", "audit"])
    exp.add_argument("organization", metavar="ORG", help="the organization's id or slug")
    exp.add_argument("--format", choices=["csv", "jsonl"], default="csv")
    exp.add_argument("--output", "-o", help="a file (default: standard output)")
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"roster: configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_format)
    try:
        if args.command == "serve":
            return serve(settings)
        if args.command == "migrate":
            asyncio.run(_migrate(settings))
            return 0
        if args.command == "check":
            return asyncio.run(check(settings))
        work = {
            "create-user": create_user,
            "create-organization": create_organization,
            "outbox": outbox,
            "webhooks": webhooks,
            "export": export,
        }[args.command]
        return asyncio.run(_with_db(settings, lambda: work(args)))
    except DomainError as exc:
        print(f"roster: {exc.code.value}: {exc.message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
