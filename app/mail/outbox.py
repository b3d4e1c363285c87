"""Writing mail: a row in the outbox (in the caller's transaction, if any), and waking
the worker that delivers it.

This package knows nothing of transactions: app/services/mail.py wakes the worker
once the transaction that wrote the mail commits.
"""

from __future__ import annotations

from collections.abc import Callable

from app.clock import now
from app.mail.templates import render
from app.models import OutboxMail

# How the running worker wants to be woken (None: no worker runs).
_notify: Callable[[], None] | None = None


def set_notifier(callback: Callable[[], None] | None) -> None:
    """The worker registers how it wants to be woken when new mail is committed."""
    global _notify
    _notify = callback


def notify() -> None:
    """Wake the worker, if one runs: mail is waiting."""
    if _notify is not None:
        _notify()


async def write(kind: str, to_email: str, **values: object) -> OutboxMail:
    """The mail of `kind` rendered with `values`, queued for delivery now."""
    mail = render(kind, values)
    return await OutboxMail.create(
        kind=kind,
        to_email=to_email,
        subject=mail.subject,
        text_body=mail.text,
        html_body=mail.html,
        next_attempt_at=now(),
    )
