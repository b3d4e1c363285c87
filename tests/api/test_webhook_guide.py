"""The receiver in docs/guides/webhooks.md, run as written against the real server: it verifies
every delivery with standardwebhooks and handles each message once."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from aiohttp import ClientSession, web

from app.models import WebhookDelivery
from tests.conftest import free_port
from tests.support.api import INVITE, create_org, mutate, unique_email
from tests.support.webhooks import wait_for_delivery

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "guides" / "webhooks.md"
CREATE = """
mutation($input: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) { errors { code } secret endpoint { id } }
}"""
REDELIVER = """
mutation($id: ID!) { redeliverWebhook(input: {deliveryId: $id}) { errors { code } } }"""


def receiver_module() -> dict:
    (code,) = re.findall(r"^```python\n(.*?)^```", GUIDE.read_text(), re.M | re.S)
    namespace: dict = {"__name__": "receiver"}
    exec(compile(code, str(GUIDE), "exec"), namespace)
    return namespace


@pytest.fixture
def settings_overrides():
    return {"webhook_allow_insecure": True}


async def test_the_guide_s_receiver_verifies_and_handles_each_message_once(client):
    org = await create_org(client)
    port = free_port()
    url = f"http://127.0.0.1:{port}/roster-webhooks"
    created = await mutate(
        client,
        CREATE,
        {"input": {"organizationId": org.id, "url": url, "eventTypes": ["invitation.created"]}},
        org.owner.token,
    )
    handled = []

    async def handle(event):
        handled.append(event)

    runner = web.AppRunner(receiver_module()["make_app"](created["secret"], handle))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        variables = {"input": {"organizationId": org.id, "email": unique_email(), "role": "USER"}}
        await mutate(client, INVITE, variables, org.owner.token)
        delivery = await wait_for_delivery(lambda d: d.status == "SUCCEEDED")
        assert delivery.response_status == 204
        assert [e["type"] for e in handled] == ["invitation.created"]
        # A redelivery (same webhook-id) is answered but not handled twice.
        await mutate(client, REDELIVER, {"id": _gid(delivery)}, org.owner.token)
        await wait_for_delivery(lambda d: d.status == "SUCCEEDED" and d.attempts == 1)
        again = await WebhookDelivery.get(id=delivery.id)
        assert again.status == "SUCCEEDED" and again.response_status == 204
        assert len(handled) == 1
        # A forged message is refused.
        async with ClientSession() as session:
            forged = await session.post(
                url,
                data=b'{"type":"member.removed"}',
                headers={
                    "webhook-id": "msg_forged",
                    "webhook-timestamp": "1767225600",
                    "webhook-signature": "v1,AAAA",
                },
            )
            assert forged.status == 400
        assert len(handled) == 1
    finally:
        await runner.cleanup()


def _gid(delivery: WebhookDelivery) -> str:
    from app.ids import to_global_id

    return to_global_id("WebhookDelivery", delivery.id)
