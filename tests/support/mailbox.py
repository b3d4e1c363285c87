"""A real SMTP server (aiosmtpd) that keeps what it receives, for tests to read."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller

LINK_RE = re.compile(r"(https?://\S+?)\?token=([A-Za-z0-9_-]+)")


@dataclass
class Mail:
    to: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def text(self) -> str:
        return self.message.get_body(preferencelist=("plain",)).get_content()

    @property
    def html(self) -> str:
        return self.message.get_body(preferencelist=("html",)).get_content()

    def link(self) -> tuple[str, str]:
        """(url without query, token) of the link in the text part."""
        match = LINK_RE.search(self.text)
        assert match, f"no link in mail: {self.text!r}"
        return match.group(1), match.group(2)

    @property
    def token(self) -> str:
        return self.link()[1]


@dataclass
class Mailbox:
    host: str
    port: int
    mails: list[Mail] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Set by tests to make the server answer the next DATA with this reply.
    reply: str | None = None

    def clear(self) -> None:
        with self.lock:
            self.mails.clear()
            self.reply = None

    def to(self, address: str) -> list[Mail]:
        with self.lock:
            return [m for m in self.mails if address.lower() in (t.lower() for t in m.to)]

    async def wait_for(self, address: str, count: int = 1, timeout: float = 10.0) -> list[Mail]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.to(address)
            if len(found) >= count:
                return found
            await asyncio.sleep(0.02)
        raise AssertionError(f"expected {count} mail(s) to {address}, got {len(self.to(address))}")

    async def latest(self, address: str, timeout: float = 10.0) -> Mail:
        before = len(self.to(address))
        return (await self.wait_for(address, before + 1 if before == 0 else before, timeout))[-1]


class _Handler:
    def __init__(self, mailbox: Mailbox):
        self.mailbox = mailbox

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.mailbox.reply:
            return self.mailbox.reply
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self.mailbox.lock:
            self.mailbox.mails.append(Mail(to=list(envelope.rcpt_tos), message=message))
        return "250 OK"


def start_smtp_sink(host: str, port: int) -> tuple[Mailbox, Controller]:
    mailbox = Mailbox(host=host, port=port)
    controller = Controller(_Handler(mailbox), hostname=host, port=port)
    controller.start()
    return mailbox, controller
