"""Mail from services: written to the outbox in the caller's transaction, so it is sent
only if the change commits; the mail worker is woken once it has."""

from __future__ import annotations

from app.mail import outbox
from app.models import OutboxMail
from app.services.tx import after_commit


async def enqueue(kind: str, to_email: str, **values: object) -> OutboxMail:
    """Queue the mail of `kind` (a template in app/mail/templates) to `to_email`."""
    mail = await outbox.write(kind, to_email, **values)
    after_commit(outbox.notify)
    return mail
