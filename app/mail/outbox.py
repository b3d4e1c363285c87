"""Writing mail: a row in the outbox, in the caller's transaction."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from app.mail.templates import render
from app.models import OutboxMail
from app.services.tx import after_commit

_notify: Callable[[], None] = lambda: None  # noqa: E731 - replaced by the running worker


def set_notifier(callback: Callable[[], None]) -> None:
    """The worker registers how it wants to be woken when new mail is committed."""
    global _notify
    _notify = callback


async def enqueue(kind: str, to_email: str, **values: object) -> OutboxMail:
    mail = render(kind, values)
    row = await OutboxMail.create(
        kind=kind,
        to_email=to_email,
        subject=mail.subject,
        text_body=mail.text,
        html_body=mail.html,
        next_attempt_at=datetime.now(UTC),
    )
    after_commit(lambda: _notify())
    return row
