"""A log-out through one server process reaches the session cache of another (PostgreSQL
NOTIFY on `roster_sessions`), well before the cache's lifetime ends."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator

import aiohttp
import pytest

from tests.conftest import BACKEND, free_port
from tests.ops.test_cli import ROOT, wait_healthy
from tests.support.api import sign_up

pytestmark = pytest.mark.skipif(BACKEND != "postgres", reason="SQLite serves one process")

ME = "{ me { id } }"
LOG_OUT = "mutation { logOut { ok errors { code } } }"
# Far longer than the bound below: only the notification can end the entry in time.
CACHE_SECONDS = "120"
BOUND_SECONDS = 10.0


def _start(database_url: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "PYTHONPATH": str(ROOT),
        "SMTP_URL": "",
        "PORT": str(port),
        "RATE_LIMITS": "off",
        "SESSION_CACHE_SECONDS": CACHE_SECONDS,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "serve"],
        env=environment,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return process, port


@pytest.fixture
def ports(db, database_url) -> Iterator[tuple[int, int]]:
    started = [_start(database_url), _start(database_url)]
    try:
        for _, port in started:
            wait_healthy(port)
        yield started[0][1], started[1][1]
    finally:
        for process, _ in started:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


async def _post(port: int, query: str, token: str) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as http:
        response = await http.post(
            f"http://127.0.0.1:{port}/graphql",
            json={"query": query},
            headers={"Authorization": f"Bearer {token}"},
        )
        return response.status, await response.json()


async def test_log_out_on_one_process_is_401_on_another_within_seconds(client, ports):
    first, second = ports
    person = await sign_up(client)
    for port in (first, second, first, second):  # cached in both processes
        status, _ = await _post(port, ME, person.token)
        assert status == 200
    status, body = await _post(first, LOG_OUT, person.token)
    assert status == 200 and body["data"]["logOut"]["ok"] is True, body
    assert (await _post(first, ME, person.token))[0] == 401  # the same process: at once
    loop = asyncio.get_running_loop()
    deadline = loop.time() + BOUND_SECONDS
    while (status := (await _post(second, ME, person.token))[0]) == 200:
        assert loop.time() < deadline, "the other process still accepts the ended session"
        await asyncio.sleep(0.05)
    assert status == 401
