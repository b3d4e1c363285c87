"""The outbox and its worker against a real SMTP server: retries, failures, restarts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer

from app.config import SmtpSettings
from app.mail import worker as worker_module
from app.mail.worker import claim
from app.models import OutboxMail
from app.web import WORKER, create_app
from tests.conftest import free_port, make_settings, truncate_all
from tests.support.api import PASSWORD, SIGN_UP, mutate
from tests.support.mailbox import start_smtp_sink


async def sign_up_mail(client, email: str) -> None:
    await mutate(client, SIGN_UP, {"input": {"email": email, "password": PASSWORD, "name": "Max"}})


async def wait_for_row(predicate, timeout: float = 10.0) -> OutboxMail:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        row = await OutboxMail.first()
        if row is not None and predicate(row):
            return row
        await asyncio.sleep(0.05)
    raise AssertionError(f"outbox row never matched; last: {row and row.__dict__}")


async def make_due_and_wake(client: TestClient) -> None:
    await OutboxMail.all().update(next_attempt_at=datetime.now(UTC))
    client.app[WORKER].wake()


async def test_mail_goes_out_with_text_and_html_and_is_marked_sent(client, mailbox):
    await sign_up_mail(client, "sent@example.com")
    (mail,) = await mailbox.wait_for("sent@example.com")
    assert mail.message["From"] == "Roster <no-reply@localhost>"
    assert "http://roster.test/email/verify?token=" in mail.text
    assert "<a href=" in mail.html
    row = await wait_for_row(lambda r: r.status == "SENT")
    assert row.sent_at is not None and row.attempts == 1


async def test_temporary_refusal_is_retried_later(client, mailbox):
    mailbox.reply = "451 4.3.0 try again later"
    await sign_up_mail(client, "retry@example.com")
    row = await wait_for_row(lambda r: r.last_error is not None)
    assert row.status == "QUEUED"
    assert "451" in row.last_error
    assert row.next_attempt_at > datetime.now(UTC)
    mailbox.reply = None
    await make_due_and_wake(client)
    await mailbox.wait_for("retry@example.com")
    row = await wait_for_row(lambda r: r.status == "SENT")
    assert row.attempts == 2


async def test_permanent_refusal_is_marked_failed(client, mailbox):
    mailbox.reply = "550 5.1.1 no such user"
    await sign_up_mail(client, "gone@example.com")
    row = await wait_for_row(lambda r: r.status == "FAILED")
    assert "550" in row.last_error and row.failed_at is not None


async def test_gives_up_after_the_last_attempt(client, mailbox, monkeypatch):
    monkeypatch.setattr(worker_module, "MAX_ATTEMPTS", 2)
    mailbox.reply = "421 busy"
    await sign_up_mail(client, "busy@example.com")
    await wait_for_row(lambda r: r.attempts == 1 and r.last_error is not None)
    await make_due_and_wake(client)
    row = await wait_for_row(lambda r: r.status == "FAILED")
    assert row.attempts == 2


def test_backoff_grows_with_jitter_and_a_cap():
    for attempts in range(1, 20):
        delay = worker_module.backoff(attempts).total_seconds()
        ceiling = min(
            worker_module.BACKOFF_CAP_SECONDS,
            worker_module.BACKOFF_BASE_SECONDS * 2 ** (attempts - 1),
        )
        assert ceiling / 2 <= delay <= ceiling


async def test_mail_survives_smtp_down_and_a_restart(aiohttp_client, database_url):
    """Queued while the SMTP server is down; a later server process delivers it."""
    port = free_port()
    down = make_settings(database_url, None, smtp=SmtpSettings(hostname="127.0.0.1", port=port))
    first = await aiohttp_client(create_app(down))
    await truncate_all()
    await sign_up_mail(first, "patient@example.com")
    row = await wait_for_row(lambda r: r.last_error is not None)
    assert row.status == "QUEUED"
    await first.close()  # the server process stops with the mail undelivered

    mailbox, controller = start_smtp_sink("127.0.0.1", port)
    try:
        second = TestClient(TestServer(create_app(down)))
        await second.start_server()
        try:
            await make_due_and_wake(second)
            (mail,) = await mailbox.wait_for("patient@example.com")
            assert "/email/verify?token=" in mail.text
            await wait_for_row(lambda r: r.status == "SENT")
        finally:
            await second.close()
    finally:
        controller.stop()


class TestWithoutSmtp:
    @pytest.fixture
    def settings_overrides(self):
        return {"smtp": None}

    async def test_mail_is_logged_and_kept_in_the_outbox(self, client, mailbox, caplog):
        caplog.set_level("INFO", logger="roster.mail")
        await sign_up_mail(client, "logged@example.com")
        row = await wait_for_row(lambda r: r.last_error is not None)
        assert row.status == "QUEUED" and row.to_email == "logged@example.com"
        assert any("logged@example.com" in r.getMessage() for r in caplog.records)
        assert mailbox.mails == []


async def test_concurrent_claims_never_share_a_mail(client):
    """Two workers (two processes in production) claim disjoint rows."""
    client.app[WORKER]._stopping = True  # keep the app's own worker out of the way
    client.app[WORKER].wake()
    await asyncio.sleep(0.1)
    now = datetime.now(UTC)
    await OutboxMail.bulk_create(
        [
            OutboxMail(
                kind="test",
                to_email=f"n{i}@example.com",
                subject="s",
                text_body="t",
                html_body="h",
                next_attempt_at=now - timedelta(seconds=1),
            )
            for i in range(60)
        ]
    )
    batches = await asyncio.gather(claim(25), claim(25), claim(25))
    claimed = [row["id"] for batch in batches for row in batch]
    assert len(claimed) == len(set(claimed)) == 60
