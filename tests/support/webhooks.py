"""A real webhook receiver on 127.0.0.1 that verifies every delivery with
`standardwebhooks.Webhook.verify`, and endpoints written straight to the database."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from app import config
from app.ids import pk_of
from app.models import WebhookDelivery, WebhookEndpoint
from app.webhooks.secrets import encrypt, new_secret
from tests.conftest import free_port

Reply = Callable[["Received"], Awaitable[web.StreamResponse]]


@dataclass
class Received:
    """One POST as the receiver saw it, and whether its signature verified."""

    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    payload: Any
    verified_with: list[str] = field(default_factory=list)

    @property
    def message_id(self) -> str:
        return self.headers["webhook-id"]


async def answer_ok(received: Received) -> web.StreamResponse:
    return web.Response(status=200, text="ok")


class Receiver:
    """An aiohttp server in the test's event loop. `secrets` are the secrets it verifies
    with (each tried alone); `reply` decides each answer (200 by default)."""

    def __init__(self, secrets: list[str] | None = None) -> None:
        self.secrets: list[str] = list(secrets or [])
        self.received: list[Received] = []
        self.reply: Reply = answer_ok
        self.port = free_port()
        self._runner: web.AppRunner | None = None
        self._arrived = asyncio.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def start(self) -> Receiver:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        headers = {k.lower(): v for k, v in request.headers.items()}
        verified_with = []
        payload = None
        for secret in self.secrets:
            try:
                payload = Webhook(secret).verify(body, headers)
            except WebhookVerificationError:
                continue
            verified_with.append(secret)
        received = Received(
            request.path, headers, body, bool(verified_with), payload, verified_with
        )
        self.received.append(received)
        self._arrived.set()
        return await self.reply(received)

    async def wait_for(self, count: int, timeout: float = 15.0) -> list[Received]:
        """Until `count` requests have arrived (to any path)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.received) < count:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"{len(self.received)} of {count} webhooks arrived")
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), min(remaining, 0.5))
            except TimeoutError:
                pass
        return self.received[:count]


async def make_endpoint(
    organization_id: str | int,
    url: str,
    event_types: list[str] | None = None,
    *,
    enabled: bool = True,
) -> tuple[WebhookEndpoint, str]:
    """An endpoint written directly (no SSRF check), and its secret."""
    secret = new_secret()
    org_pk = (
        organization_id
        if isinstance(organization_id, int)
        else pk_of(organization_id, "Organization")
    )
    endpoint = await WebhookEndpoint.create(
        organization_id=org_pk,
        url=url,
        event_types=event_types or [],
        enabled=enabled,
        secret_encrypted=encrypt(config.current(), secret),
    )
    return endpoint, secret


async def wait_for_delivery(
    predicate: Callable[[WebhookDelivery], bool], timeout: float = 15.0, **filters: Any
) -> WebhookDelivery:
    deadline = asyncio.get_running_loop().time() + timeout
    last: list[WebhookDelivery] = []
    while asyncio.get_running_loop().time() < deadline:
        last = list(await WebhookDelivery.filter(**filters).order_by("id"))
        for row in last:
            if predicate(row):
                return row
        await asyncio.sleep(0.05)
    raise AssertionError(f"no delivery matched; rows: {[r.__dict__ for r in last]}")


def body_of(received: Received) -> dict[str, Any]:
    return json.loads(received.body)
