"""Webhook endpoint management over GraphQL: create (the secret once, encrypted at rest),
update, rotate (both signatures during the overlap), delete, test messages, redelivery,
the deliveries list; permissions and validation with nothing written when refused."""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web

from app.ids import pk_of
from app.models import AuditEvent, WebhookDelivery, WebhookEndpoint
from app.services.webhooks import MAX_ENDPOINTS
from tests.support.api import (
    INVITE,
    add_member,
    create_org,
    gql,
    mutate,
    ok,
    refused,
    sign_up,
    top_codes,
    unique_email,
)
from tests.support.webhooks import Receiver, body_of, wait_for_delivery

CREATE = """
mutation($input: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) {
    errors { code field message } secret
    endpoint { id url description eventTypes enabled disabledReason createdAt }
  }
}"""
UPDATE = """
mutation($input: UpdateWebhookEndpointInput!) {
  updateWebhookEndpoint(input: $input) {
    errors { code field message } endpoint { id url description eventTypes enabled disabledReason }
  }
}"""
ROTATE = """
mutation($id: ID!) {
  rotateWebhookSecret(input: {endpointId: $id}) { errors { code field } secret endpoint { id } }
}"""
DELETE = """
mutation($id: ID!) { deleteWebhookEndpoint(input: {endpointId: $id}) { errors { code field } ok } }"""
TEST = """
mutation($id: ID!) {
  sendTestWebhook(input: {endpointId: $id}) {
    errors { code field } delivery { id eventType messageId status attempts event { id } }
  }
}"""
REDELIVER = """
mutation($id: ID!) {
  redeliverWebhook(input: {deliveryId: $id}) {
    errors { code field } delivery { id messageId status attempts nextAttemptAt }
  }
}"""
ENDPOINTS = """
query($id: ID!) { organization(id: $id) { webhookEndpoints { id url eventTypes enabled } } }"""
DELIVERIES = """
query($id: ID!, $first: Int, $after: String, $statuses: [WebhookDeliveryStatus!]) {
  node(id: $id) {
    ... on WebhookEndpoint {
      deliveries(first: $first, after: $after, statuses: $statuses) {
        totalCount pageInfo { hasNextPage endCursor }
        nodes {
          id eventType messageId status attempts responseStatus lastAttemptAt nextAttemptAt
          createdAt endpoint { id } event { id action }
        }
      }
    }
  }
}"""
EVENTS = """
query($id: ID!) {
  organization(id: $id) { auditEvents(first: 50) { nodes { action targetId data } } }
}"""


@pytest.fixture
def settings_overrides():
    return {"webhook_allow_insecure": True, "webhook_retry_schedule": (0.2,)}


@pytest.fixture
async def receiver():
    server = await Receiver().start()
    yield server
    await server.stop()


async def create(client, org, url, token=None, **extra):
    variables = {"input": {"organizationId": org.id, "url": url, **extra}}
    return await mutate(client, CREATE, variables, token or org.owner.token)


async def invite(client, org):
    variables = {"input": {"organizationId": org.id, "email": unique_email(), "role": "USER"}}
    return await mutate(client, INVITE, variables, org.owner.token)


async def all_succeeded(count: int, timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while await WebhookDelivery.filter(status="SUCCEEDED").count() != count:
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.05)


async def test_create_returns_the_secret_once_and_stores_it_encrypted(client, receiver):
    org = await create_org(client)
    payload = await create(
        client, org, receiver.url, description="HR sync", eventTypes=["member.removed"]
    )
    secret, endpoint = payload["secret"], payload["endpoint"]
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert endpoint["url"] == receiver.url and endpoint["description"] == "HR sync"
    assert endpoint["eventTypes"] == ["member.removed"] and endpoint["enabled"] is True
    row = await WebhookEndpoint.get(id=pk_of(endpoint["id"], "WebhookEndpoint"))
    assert secret not in row.secret_encrypted
    assert secret.removeprefix("whsec_") not in row.secret_encrypted
    listed = await ok(client, ENDPOINTS, {"id": org.id}, org.owner.token)
    assert [e["id"] for e in listed["organization"]["webhookEndpoints"]] == [endpoint["id"]]
    events = await ok(client, EVENTS, {"id": org.id}, org.owner.token)
    (created,) = [
        e
        for e in events["organization"]["auditEvents"]["nodes"]
        if e["action"] == "webhook_endpoint.created"
    ]
    assert created["targetId"] == endpoint["id"]
    assert created["data"]["url"] == receiver.url and "secret" not in str(created["data"])


async def test_every_change_is_audited_and_update_changes_what_is_given(client, receiver):
    org = await create_org(client)
    endpoint = (await create(client, org, receiver.url, description="a"))["endpoint"]
    payload = await mutate(
        client,
        UPDATE,
        {"input": {"endpointId": endpoint["id"], "eventTypes": ["invitation.created"]}},
        org.owner.token,
    )
    assert payload["endpoint"]["eventTypes"] == ["invitation.created"]
    assert payload["endpoint"]["description"] == "a"
    disabled = await mutate(
        client, UPDATE, {"input": {"endpointId": endpoint["id"], "enabled": False}}, org.owner.token
    )
    assert disabled["endpoint"]["enabled"] is False and disabled["endpoint"]["disabledReason"]
    enabled = await mutate(
        client,
        UPDATE,
        {"input": {"endpointId": endpoint["id"], "enabled": True, "description": ""}},
        org.owner.token,
    )
    assert enabled["endpoint"]["disabledReason"] is None
    assert enabled["endpoint"]["description"] is None
    await mutate(client, ROTATE, {"id": endpoint["id"]}, org.owner.token)
    await mutate(client, DELETE, {"id": endpoint["id"]}, org.owner.token)
    assert await WebhookEndpoint.all().count() == 0
    actions = [
        e.action for e in await AuditEvent.filter(target_type="WebhookEndpoint").order_by("id")
    ]
    assert actions == [
        "webhook_endpoint.created",
        "webhook_endpoint.updated",
        "webhook_endpoint.updated",
        "webhook_endpoint.updated",
        "webhook_endpoint.secret_rotated",
        "webhook_endpoint.deleted",
    ]
    first_update = await AuditEvent.filter(action="webhook_endpoint.updated").order_by("id").first()
    assert first_update.data == {
        "before": {"eventTypes": []},
        "after": {"eventTypes": ["invitation.created"]},
    }


async def test_rotation_signs_with_both_secrets_for_the_overlap_then_the_new_one(client, receiver):
    org = await create_org(client)
    created = await create(client, org, receiver.url, eventTypes=["invitation.created"])
    old, endpoint_id = created["secret"], created["endpoint"]["id"]
    rotated = await mutate(client, ROTATE, {"id": endpoint_id}, org.owner.token)
    new = rotated["secret"]
    assert new != old and new.startswith("whsec_")
    receiver.secrets = [new, old]
    await invite(client, org)
    (got,) = await receiver.wait_for(1)
    # Each secret alone verifies: receivers switch over at their own pace.
    assert got.verified_with == [new, old]
    signatures = got.headers["webhook-signature"].split(" ")
    assert len(signatures) == 2 and all(s.startswith("v1,") for s in signatures)
    # The overlap is 24 hours.
    row = await WebhookEndpoint.get(id=pk_of(endpoint_id, "WebhookEndpoint"))
    assert row.previous_secret_expires_at - datetime.now(UTC) > timedelta(hours=23, minutes=59)
    # Once it has passed, only the new secret signs.
    row.previous_secret_expires_at = datetime.now(UTC) - timedelta(seconds=1)
    await row.save()
    await invite(client, org)
    _, after = await receiver.wait_for(2)
    assert after.verified_with == [new]
    assert len(after.headers["webhook-signature"].split(" ")) == 1


async def test_send_test_and_redeliver_reuse_the_message_id(client, receiver):
    org = await create_org(client)
    created = await create(client, org, receiver.url, eventTypes=["member.removed"])
    receiver.secrets.append(created["secret"])
    endpoint_id = created["endpoint"]["id"]
    delivery = (await mutate(client, TEST, {"id": endpoint_id}, org.owner.token))["delivery"]
    assert delivery["eventType"] == "webhook.test" and delivery["event"] is None
    assert delivery["status"] == "PENDING" and delivery["attempts"] == 0
    (got,) = await receiver.wait_for(1)
    assert got.verified and got.message_id == delivery["messageId"]
    assert body_of(got)["type"] == "webhook.test"
    await wait_for_delivery(lambda d: d.status == "SUCCEEDED")
    again = await mutate(client, REDELIVER, {"id": delivery["id"]}, org.owner.token)
    assert again["delivery"]["status"] == "PENDING"
    assert again["delivery"]["messageId"] == delivery["messageId"]
    _, second = await receiver.wait_for(2)
    assert second.message_id == delivery["messageId"] and second.body == got.body
    await wait_for_delivery(lambda d: d.status == "SUCCEEDED")

    # A FAILED one too; a PENDING one is refused.
    async def fail(received):
        return web.Response(status=500)

    receiver.reply = fail
    failing = (await mutate(client, TEST, {"id": endpoint_id}, org.owner.token))["delivery"]
    assert await refused(client, REDELIVER, {"id": failing["id"]}, org.owner.token) == [
        "INVALID_INPUT"
    ]
    await wait_for_delivery(lambda d: d.status == "FAILED")
    receiver.reply = Receiver().reply
    again = await mutate(client, REDELIVER, {"id": failing["id"]}, org.owner.token)
    assert again["delivery"]["messageId"] == failing["messageId"]
    await wait_for_delivery(
        lambda d: d.status == "SUCCEEDED" and d.message_id == failing["messageId"]
    )


async def test_deliveries_newest_first_with_statuses_and_pages(client, receiver):
    org = await create_org(client)
    created = await create(client, org, receiver.url, eventTypes=["invitation.created"])
    endpoint_id = created["endpoint"]["id"]
    for _ in range(3):
        await invite(client, org)
    await receiver.wait_for(3)
    await all_succeeded(3)
    data = await ok(client, DELIVERIES, {"id": endpoint_id, "first": 2}, org.owner.token)
    page = data["node"]["deliveries"]
    assert page["totalCount"] == 3 and page["pageInfo"]["hasNextPage"]
    first, second = page["nodes"]
    assert first["createdAt"] >= second["createdAt"]
    assert pk_of(first["id"], "WebhookDelivery") > pk_of(second["id"], "WebhookDelivery")
    assert first["event"]["action"] == "invitation.created"
    assert first["endpoint"]["id"] == endpoint_id
    rest = await ok(
        client,
        DELIVERIES,
        {"id": endpoint_id, "first": 2, "after": page["pageInfo"]["endCursor"]},
        org.owner.token,
    )
    assert len(rest["node"]["deliveries"]["nodes"]) == 1
    done = await ok(
        client, DELIVERIES, {"id": endpoint_id, "statuses": ["SUCCEEDED"]}, org.owner.token
    )
    nodes = done["node"]["deliveries"]["nodes"]
    assert {n["status"] for n in nodes} == {"SUCCEEDED"} and len(nodes) == 3
    assert all(n["responseStatus"] == 200 and n["nextAttemptAt"] is None for n in nodes)
    none = await ok(
        client, DELIVERIES, {"id": endpoint_id, "statuses": ["FAILED"]}, org.owner.token
    )
    assert none["node"]["deliveries"]["nodes"] == []


async def test_users_and_outsiders_are_refused_and_nothing_is_written(client, mailbox, receiver):
    org = await create_org(client)
    endpoint = (await create(client, org, receiver.url))["endpoint"]
    delivery = (await mutate(client, TEST, {"id": endpoint["id"]}, org.owner.token))["delivery"]
    await wait_for_delivery(lambda d: d.status == "SUCCEEDED")
    user, _ = await add_member(client, mailbox, org, "USER")
    outsider = await sign_up(client, name="Otto Outsider")
    endpoints = await WebhookEndpoint.all().count()
    events = await AuditEvent.all().count()
    deliveries = await WebhookDelivery.all().count()
    attempts = [
        (CREATE, {"input": {"organizationId": org.id, "url": receiver.url}}),
        (UPDATE, {"input": {"endpointId": endpoint["id"], "url": receiver.url + "x"}}),
        (ROTATE, {"id": endpoint["id"]}),
        (DELETE, {"id": endpoint["id"]}),
        (TEST, {"id": endpoint["id"]}),
        (REDELIVER, {"id": delivery["id"]}),
    ]
    for query, variables in attempts:
        assert top_codes(await gql(client, query, variables, user.token)) == ["FORBIDDEN"]
        assert await refused(client, query, variables, outsider.token) == ["NOT_FOUND"]
    assert top_codes(await gql(client, ENDPOINTS, {"id": org.id}, user.token)) == ["FORBIDDEN"]
    hidden = await ok(client, DELIVERIES, {"id": endpoint["id"]}, user.token)
    assert hidden["node"] is None
    hidden = await ok(
        client, "query($id: ID!) { node(id: $id) { id } }", {"id": delivery["id"]}, user.token
    )
    assert hidden["node"] is None
    assert await WebhookEndpoint.all().count() == endpoints
    assert await AuditEvent.all().count() == events
    assert await WebhookDelivery.all().count() == deliveries
    row = await WebhookEndpoint.get(id=pk_of(endpoint["id"], "WebhookEndpoint"))
    assert row.url == receiver.url and row.previous_secret_encrypted is None


async def test_admin_api_keys_manage_endpoints_and_user_keys_do_not(client, receiver):
    org = await create_org(client)
    keys = {}
    for role in ("ADMIN", "USER"):
        payload = await mutate(
            client,
            "mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) "
            "{ errors { code } secret } }",
            {"input": {"organizationId": org.id, "name": role, "role": role}},
            org.owner.token,
        )
        keys[role] = payload["secret"]
    made = await create(client, org, receiver.url, token=keys["ADMIN"])
    assert made["secret"].startswith("whsec_")
    variables = {"input": {"organizationId": org.id, "url": receiver.url}}
    assert top_codes(await gql(client, CREATE, variables, keys["USER"])) == ["FORBIDDEN"]
    assert await WebhookEndpoint.all().count() == 1


async def test_refused_input_writes_nothing(client, receiver):
    org = await create_org(client)
    cases = [
        ({"url": receiver.url, "eventTypes": ["member.exploded"]}, "eventTypes"),
        ({"url": receiver.url, "eventTypes": ["member.removed"] * 101}, "eventTypes"),
        ({"url": receiver.url, "description": "x" * 2001}, "description"),
        ({"url": "ftp://example.com/hook"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"url": "https://user:pw@example.com/hook"}, "url"),
    ]
    for extra, field in cases:
        body = await ok(
            client, CREATE, {"input": {"organizationId": org.id, **extra}}, org.owner.token
        )
        payload = body["createWebhookEndpoint"]
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [("INVALID_INPUT", [field])]
        assert payload["secret"] is None and payload["endpoint"] is None
    assert await WebhookEndpoint.all().count() == 0
    assert await AuditEvent.filter(target_type="WebhookEndpoint").count() == 0


async def test_endpoints_per_organization_are_bounded(client, receiver):
    org = await create_org(client)
    for _ in range(MAX_ENDPOINTS):
        await create(client, org, receiver.url)
    assert await refused(
        client, CREATE, {"input": {"organizationId": org.id, "url": receiver.url}}, org.owner.token
    ) == ["INVALID_INPUT"]
    assert await WebhookEndpoint.all().count() == MAX_ENDPOINTS


async def test_a_refused_mutation_writes_no_delivery(client, receiver):
    """The deliveries are written in the change's transaction: a change refused after it
    began (here, inviting someone already invited) leaves none."""
    org = await create_org(client)
    await create(client, org, receiver.url, eventTypes=["invitation.created"])
    email = unique_email()
    variables = {"input": {"organizationId": org.id, "email": email, "role": "USER"}}
    await mutate(client, INVITE, variables, org.owner.token)
    assert await WebhookDelivery.all().count() == 1
    assert await refused(client, INVITE, variables, org.owner.token) == ["ALREADY_INVITED"]
    assert await WebhookDelivery.all().count() == 1


def test_the_vocabulary_is_the_schema_s():
    from app.schema.audit.types import EVENT_TYPES
    from app.services.webhooks import event_types

    listed = {t.strip() for part in EVENT_TYPES.split(";") for t in part.split(",")}
    assert listed == set(event_types())
