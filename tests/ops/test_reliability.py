"""Reliability with real processes: several servers sharing the outbox, SIGKILL mid-write."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import aiohttp

from tests.conftest import free_port
from tests.support.api import PASSWORD, SIGN_UP

ROOT = Path(__file__).resolve().parents[2]


def start_server(database_url: str, port: int, workers: int, smtp: str = "") -> subprocess.Popen:
    """`python -m app serve` as a real process; its output is drained into `process.lines`
    by a thread (an undrained pipe fills up and blocks the server's logging)."""
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "PYTHONPATH": str(ROOT),
        "SMTP_URL": smtp,
        "PORT": str(port),
        "WORKERS": str(workers),
        "RATE_LIMITS": "off",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "serve"],
        env=environment,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    process.lines = []

    def drain() -> None:
        with process.stdout:
            process.lines.extend(process.stdout)

    process.drain = threading.Thread(target=drain, daemon=True)
    process.drain.start()
    return process


async def wait_ready(process: subprocess.Popen, workers: int, timeout: float = 60) -> None:
    for _ in range(int(timeout * 20)):
        if sum("ready: process" in line for line in process.lines) >= workers:
            return
        assert process.poll() is None, "server exited before it was ready:\n" + output_of(process)
        await asyncio.sleep(0.05)
    raise AssertionError("server not ready:\n" + output_of(process))


def output_of(process: subprocess.Popen) -> str:
    return "".join(process.lines)


async def finish(process: subprocess.Popen, timeout: float = 30) -> str:
    """Wait for the process to end; its whole output."""
    await asyncio.to_thread(process.wait, timeout)
    await asyncio.to_thread(process.drain.join, timeout)
    return output_of(process)


async def sign_up(session: aiohttp.ClientSession, port: int, email: str) -> int:
    body = {
        "query": SIGN_UP,
        "variables": {"input": {"email": email, "password": PASSWORD, "name": "R"}},
    }
    async with session.post(f"http://127.0.0.1:{port}/graphql", json=body) as response:
        return response.status


async def test_two_processes_deliver_every_mail_exactly_once(client, mailbox, database_url):
    """Two server processes, each with its mail worker, one outbox: no mail twice, none lost.

    SQLite has a single writer: there, several processes are refused at start-up.
    """
    port = free_port()
    if database_url.startswith("sqlite"):
        process = start_server(database_url, port, workers=2)
        output = await finish(process)
        assert process.returncode == 2
        assert "WORKERS > 1 needs PostgreSQL" in output
        return
    process = start_server(
        database_url, port, workers=2, smtp=f"smtp://{mailbox.host}:{mailbox.port}"
    )
    try:
        await wait_ready(process, 2)
        emails = [f"once{i}@example.com" for i in range(40)]
        async with aiohttp.ClientSession() as session:
            statuses = await asyncio.gather(*(sign_up(session, port, e) for e in emails))
        assert statuses == [200] * 40
        for email in emails:
            await mailbox.wait_for(email, timeout=30)
        await asyncio.sleep(1.0)  # a duplicate would arrive now
        assert sorted(to for mail in mailbox.mails for to in mail.to) == sorted(emails)
    finally:
        process.send_signal(signal.SIGTERM)
        output = await finish(process)
        assert "Traceback" not in output, output[-5000:]


async def test_sigkill_mid_run_leaves_no_half_written_change(client, database_url):
    """Kill the server while sign-ups are in flight: each one is all there or not at all."""
    from app.models import EmailToken, OutboxMail, Session, User

    port = free_port()
    process = start_server(database_url, port, workers=1)
    await wait_ready(process, 1)
    async with aiohttp.ClientSession() as session:
        tasks = [
            asyncio.create_task(sign_up(session, port, f"kill{i}@example.com")) for i in range(60)
        ]
        # Kill as soon as the first sign-up has succeeded: the rest are still in flight,
        # however fast or loaded the machine is.
        for answered in asyncio.as_completed(tasks, timeout=60):
            if await answered == 200:
                break
        process.send_signal(signal.SIGKILL)
        await finish(process)
        await asyncio.gather(*tasks, return_exceptions=True)
    users = await User.filter(email__startswith="kill").values_list("id", "email")
    assert users, "the server should have finished some sign-ups before it died"
    assert len(users) < 60, "the kill should have caught sign-ups in flight"
    user_ids = [u for u, _ in users]
    assert await Session.filter(user_id__in=user_ids).count() == len(users)
    assert await EmailToken.filter(user_id__in=user_ids).count() == len(users)
    assert await OutboxMail.filter(to_email__startswith="kill").count() == len(users)
    # And nothing belongs to a user that does not exist.
    assert await EmailToken.all().count() == len(users)
