"""The `roster` command line and the server process, run as real subprocesses."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.models import Organization, User
from tests.conftest import BACKEND, free_port
from tests.support import factories

ROOT = Path(__file__).resolve().parents[2]


def roster(database_url: str, *args: str, stdin: str | None = None, **env: str):
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "PYTHONPATH": str(ROOT),
        "SMTP_URL": "",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        cwd=ROOT,
    )


def test_help_everywhere(database_url):
    for command in ([], ["outbox"], ["export"], ["create-user"], ["serve"], ["check"]):
        result = roster(database_url, *command, "--help")
        assert result.returncode == 0, result.stderr
        assert "usage: roster" in result.stdout


def test_bootstrap_a_fresh_install_without_mail(database_url):
    email = f"boot-{uuid.uuid4().hex[:8]}@example.com"
    created = roster(
        database_url,
        "create-user",
        "--email",
        email,
        "--name",
        "Boot Strap",
        "--password-stdin",
        stdin="a long enough passphrase\n",
    )
    assert created.returncode == 0, created.stderr
    assert "email verified" in created.stdout
    again = roster(
        database_url,
        "create-user",
        "--email",
        email,
        "--name",
        "Boot Strap",
        "--password-stdin",
        stdin="a long enough passphrase\n",
    )
    assert again.returncode == 1 and "has an account" in again.stderr
    weak = roster(
        database_url,
        "create-user",
        "--email",
        "weak-" + email,
        "--name",
        "W",
        "--password-stdin",
        stdin="short\n",
    )
    assert weak.returncode == 1 and "WEAK_PASSWORD" in weak.stderr
    slug = f"boot-{uuid.uuid4().hex[:8]}"
    org = roster(database_url, "create-organization", "Boot Inc", "--owner", email, "--slug", slug)
    assert org.returncode == 0, org.stderr
    assert slug in org.stdout
    missing = roster(database_url, "create-organization", "X", "--owner", "nobody@example.com")
    assert missing.returncode == 1 and "no user" in missing.stderr


async def test_create_organization_refuses_an_owner_who_has_not_verified(db, database_url):
    """Signed up over the API and never verified: the command says so and creates nothing
    (issue #12, item 7); once verified, it creates."""
    user = await factories.make_user(f"unv-{uuid.uuid4().hex[:8]}@example.com", verified=False)
    slug = f"unv-{uuid.uuid4().hex[:8]}"
    refused = roster(
        database_url, "create-organization", "Spam", "--owner", user.email, "--slug", slug
    )
    assert refused.returncode == 1 and "EMAIL_NOT_VERIFIED" in refused.stderr, refused.stderr
    assert "Traceback" not in refused.stderr
    assert not await Organization.exists(slug=slug)
    await User.filter(id=user.id).update(email_verified_at=datetime.now(UTC))
    created = roster(
        database_url, "create-organization", "Real", "--owner", user.email, "--slug", slug
    )
    assert created.returncode == 0, created.stderr
    assert await Organization.exists(slug=slug)


def test_outbox_list_and_retry(database_url):
    email = f"box-{uuid.uuid4().hex[:8]}@example.com"
    assert (
        roster(
            database_url,
            "create-user",
            "--email",
            email,
            "--name",
            "Box",
            "--password-stdin",
            stdin="a long enough passphrase\n",
        ).returncode
        == 0
    )
    listing = roster(database_url, "outbox", "list", "--limit", "5")
    assert listing.returncode == 0
    retry = roster(database_url, "outbox", "retry", "999999999")
    assert retry.returncode == 0 and "0 mail(s)" in retry.stdout


def test_check_reports_the_database(database_url):
    good = roster(database_url, "check")
    assert good.returncode == 0, good.stdout + good.stderr
    assert "ok: the database answers" in good.stdout
    bad = roster(f"postgres://nobody@127.0.0.1:{free_port()}/none", "check")
    assert bad.returncode == 1
    assert "FAIL" in bad.stdout


def test_configuration_errors_are_clear(database_url):
    result = roster("mysql://x", "migrate")
    assert result.returncode == 2
    assert "DATABASE_URL" in result.stderr and "Traceback" not in result.stderr


def wait_healthy(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("server did not become healthy")


@pytest.mark.parametrize("workers", ["1", "2"] if BACKEND == "postgres" else ["1"])
def test_serve_starts_and_stops_cleanly_on_sigterm(database_url, workers):
    port = free_port()
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "PYTHONPATH": str(ROOT),
        "SMTP_URL": "",
        "PORT": str(port),
        "WORKERS": workers,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "serve"],
        env=environment,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = []
    try:
        # Every worker process says when it is ready; SIGTERM before that is not a drain.
        while sum("ready: process" in line for line in lines) < int(workers):
            line = process.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
        wait_healthy(port)
        for _ in range(5):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
                assert response.status == 200
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
        output = "".join(lines) + output
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    assert output.count("stopped: mail worker drained") == int(workers), output
    assert "Traceback" not in output


def test_export_members_and_audit(database_url, tmp_path):
    email = f"exp-{uuid.uuid4().hex[:8]}@example.com"
    roster(
        database_url,
        "create-user",
        "--email",
        email,
        "--name",
        "Ex, Porter",
        "--password-stdin",
        stdin="a long enough passphrase\n",
    )
    slug = f"exp-{uuid.uuid4().hex[:8]}"
    assert (
        roster(
            database_url, "create-organization", "Exports", "--owner", email, "--slug", slug
        ).returncode
        == 0
    )
    members = roster(database_url, "export", "members", slug, "--format", "csv")
    assert members.returncode == 0, members.stderr
    header, row = members.stdout.splitlines()[:2]
    assert header.startswith("id,") and '"Ex, Porter"' in row and "OWNER" in row
    target = tmp_path / "audit.jsonl"
    audit = roster(database_url, "export", "audit", slug, "--format", "jsonl", "-o", str(target))
    assert audit.returncode == 0, audit.stderr
    lines = target.read_text().splitlines()
    assert len(lines) == 1 and '"organization.created"' in lines[0]
    missing = roster(database_url, "export", "members", "no-such-org")
    assert missing.returncode == 1 and "no organization" in missing.stderr
