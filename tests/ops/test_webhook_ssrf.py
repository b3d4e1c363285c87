"""SSRF: webhook URLs go to public https addresses only, checked when an endpoint is
created or changed and again at every attempt against the addresses the name resolves to
then (DNS rebinding). These run without WEBHOOK_ALLOW_INSECURE."""

from __future__ import annotations

import ipaddress

import pytest

from app.models import WebhookDelivery, WebhookEndpoint
from app.webhooks.ssrf import is_public
from tests.support.api import INVITE, create_org, mutate, ok, unique_email
from tests.support.webhooks import Receiver, make_endpoint, wait_for_delivery

CREATE = """
mutation($input: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) { errors { code field message } secret endpoint { id } }
}"""
UPDATE = """
mutation($input: UpdateWebhookEndpointInput!) {
  updateWebhookEndpoint(input: $input) { errors { code field message } endpoint { id url } }
}"""

REFUSED_URLS = [
    "https://127.0.0.1/hook",  # loopback
    "https://127.8.9.10:8443/hook",
    "https://10.0.0.7/hook",  # RFC 1918
    "https://172.16.5.4/hook",
    "https://192.168.1.20/hook",
    "https://169.254.169.254/latest/meta-data",  # link-local (cloud metadata)
    "https://[::1]/hook",  # IPv6 loopback
    "https://[fe80::1]/hook",  # IPv6 link-local
    "https://[fd12:3456::1]/hook",  # fc00::/7
    "https://[::ffff:127.0.0.1]/hook",  # IPv4-mapped loopback
    "https://224.0.0.1/hook",  # multicast
    "https://0.0.0.0/hook",  # unspecified
    "https://100.64.1.1/hook",  # shared address space
    "https://localhost/hook",  # a name that resolves to 127.0.0.1
    "https://localhost:9443/hook",
    "http://93.184.215.14/hook",  # not https
    "https://no-such-host.invalid/hook",  # does not resolve
]


@pytest.fixture
def settings_overrides():
    return {"webhook_allow_insecure": False, "webhook_retry_schedule": ()}


@pytest.mark.parametrize("url", REFUSED_URLS)
async def test_creation_refuses_non_public_targets(client, url):
    org = await create_org(client)
    body = await ok(
        client, CREATE, {"input": {"organizationId": org.id, "url": url}}, org.owner.token
    )
    payload = body["createWebhookEndpoint"]
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("INVALID_INPUT", ["url"])]
    assert payload["secret"] is None
    assert await WebhookEndpoint.all().count() == 0


async def test_a_public_https_target_is_accepted_and_updates_are_checked_too(client):
    org = await create_org(client)
    payload = await mutate(
        client,
        CREATE,
        {"input": {"organizationId": org.id, "url": "https://93.184.215.14/hook"}},
        org.owner.token,
    )
    endpoint_id = payload["endpoint"]["id"]
    body = await ok(
        client,
        UPDATE,
        {"input": {"endpointId": endpoint_id, "url": "https://[::1]:8443/x"}},
        org.owner.token,
    )
    errors = body["updateWebhookEndpoint"]["errors"]
    assert [(e["code"], e["field"]) for e in errors] == [("INVALID_INPUT", ["url"])]
    assert (await WebhookEndpoint.get()).url == "https://93.184.215.14/hook"


def test_the_address_rule():
    for address in ("8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"):
        assert is_public(ipaddress.ip_address(address)), address
    for address in (
        "127.0.0.1", "10.1.2.3", "172.31.255.255", "192.168.0.1", "169.254.0.1", "::1",
        "fc00::1", "fe80::1", "ff02::1", "224.0.0.251", "0.0.0.0", "::", "240.0.0.1",
        "255.255.255.255", "::ffff:10.0.0.1", "2002:7f00:1::1", "100.64.0.1",
    ):  # fmt: skip
        assert not is_public(ipaddress.ip_address(address)), address


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]"])
async def test_every_attempt_checks_the_address_it_connects_to(client, host):
    """An endpoint whose name now resolves to a loopback address (DNS rebinding; here the
    row is written directly, as if it had resolved elsewhere at creation) gets nothing."""
    receiver = await Receiver().start()
    try:
        org = await create_org(client)
        endpoint, _ = await make_endpoint(org.id, f"https://{host}:{receiver.port}/hook")
        await mutate(
            client,
            INVITE,
            {"input": {"organizationId": org.id, "email": unique_email(), "role": "USER"}},
            org.owner.token,
        )
        delivery = await wait_for_delivery(lambda d: d.status == "FAILED")
        assert "public addresses only" in delivery.last_error, delivery.last_error
        assert delivery.response_status is None
        assert receiver.received == []
        assert await WebhookDelivery.filter(endpoint_id=endpoint.id).count() == 1
    finally:
        await receiver.stop()
