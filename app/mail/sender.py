"""Delivery through SMTP with aiosmtplib.

Every mail carries a `Date` (when its outbox row was written) and a `Message-ID` made
from the outbox row's id and time and the sender's domain: a mail sent again (the
worker crashed after the SMTP server accepted it but before that was recorded, or an
operator's `outbox retry`) is the same message to the receiver. Delivery is at least
once; the stable Message-ID lets mail systems and clients recognise the repeat.
"""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from urllib.parse import urlsplit

import aiosmtplib

from app.config import Settings, SmtpSettings


class PermanentFailure(Exception):
    """The server refused the mail for good (5xx): no retry."""


class TemporaryFailure(Exception):
    """Try again later: 4xx, connection refused, time-out."""


def message_domain(settings: Settings) -> str:
    """The domain of MAIL_FROM's address; PUBLIC_URL's host when that is no real domain
    (`localhost`)."""
    _, address = parseaddr(settings.mail_from)
    domain = address.rpartition("@")[2].strip().lower()
    if "." in domain:
        return domain
    return (urlsplit(settings.public_url).hostname or domain or "localhost").lower()


def message_id(mail_id: int, created_at: datetime, settings: Settings) -> str:
    """The Message-ID of outbox row `mail_id`: the same on every attempt to send it."""
    return f"<roster.{mail_id}.{int(created_at.timestamp())}@{message_domain(settings)}>"


def build_message(
    mail_from: str,
    to: str,
    subject: str,
    text: str,
    html: str,
    *,
    message_id: str | None = None,
    date: datetime | None = None,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = to
    message["Subject"] = subject
    if date is not None:
        message["Date"] = format_datetime(date)
    if message_id is not None:
        message["Message-ID"] = message_id
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


async def send(smtp: SmtpSettings, message: EmailMessage, timeout: float = 30) -> None:
    try:
        await aiosmtplib.send(
            message,
            hostname=smtp.hostname,
            port=smtp.port,
            username=smtp.username,
            password=smtp.password,
            use_tls=smtp.use_tls,
            start_tls=smtp.start_tls,
            timeout=timeout,
        )
    except aiosmtplib.SMTPRecipientsRefused as exc:
        codes = [r.code for r in exc.recipients]
        if all(code >= 500 for code in codes):
            raise PermanentFailure(str(exc)) from exc
        raise TemporaryFailure(str(exc)) from exc
    except aiosmtplib.SMTPResponseException as exc:
        if exc.code >= 500:
            raise PermanentFailure(f"{exc.code} {exc.message}") from exc
        raise TemporaryFailure(f"{exc.code} {exc.message}") from exc
    except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
        raise TemporaryFailure(f"{type(exc).__name__}: {exc}") from exc
