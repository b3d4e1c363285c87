"""Delivery through SMTP with aiosmtplib."""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib

from app.config import SmtpSettings


class PermanentFailure(Exception):
    """The server refused the mail for good (5xx): no retry."""


class TemporaryFailure(Exception):
    """Try again later: 4xx, connection refused, time-out."""


def build_message(mail_from: str, to: str, subject: str, text: str, html: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = to
    message["Subject"] = subject
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
