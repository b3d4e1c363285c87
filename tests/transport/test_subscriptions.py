"""`Subscription.organizationEvents` over graphql-transport-ws on /graphql, against the
real server with a real WebSocket client: sign-in, permissions, delivery, filters, the
cut-off of a subscriber who loses their role or session, and the open-subscriptions gauge.
"""

from __future__ import annotations

import asyncio

import pytest
import websockets

from app.ids import pk_of
from app.models import AuditEvent
from app.services.event_stream import BROKER
from tests.support.api import add_member, create_org, gql, mutate, ok, top_codes
from tests.support.members import UPDATE_ROLE
from tests.support.ws import EVENTS, GraphQLWs, WsClosed, ws_url

UPDATE_ORG = """
mutation($input: UpdateOrganizationInput!) {
  updateOrganization(input: $input) { errors { code field } organization { id name } }
}"""
FEED = """
query($id: ID!) { organization(id: $id) { events(first: 100) { nodes { id action } } } }"""
LOG_OUT = "mutation { logOut { ok errors { code } } }"


async def rename(client, org, name: str, token: str | None = None) -> None:
    await mutate(
        client,
        UPDATE_ORG,
        {"input": {"organizationId": org.id, "name": name}},
        token or org.owner.token,
    )


async def subscribed(client, org, token: str, types=None) -> tuple[GraphQLWs, str]:
    """A connection signed in with `token`, subscribed to `org`'s events, once the broker
    holds the subscription."""
    before = BROKER.open_subscriptions
    ws = await GraphQLWs.open(ws_url(client))
    await ws.init(token)
    operation = await ws.subscribe(org.id, types)
    for _ in range(200):
        if BROKER.open_subscriptions > before:
            break
        await asyncio.sleep(0.01)
    assert BROKER.open_subscriptions > before
    return ws, operation


async def test_an_admin_receives_the_feeds_events_with_the_same_ids(client):
    org = await create_org(client)
    ws, _ = await subscribed(client, org, org.owner.token)
    try:
        await rename(client, org, "Acme One")
        await rename(client, org, "Acme Two")
        first = await ws.event()
        second = await ws.event()
        assert [first["action"], second["action"]] == ["organization.updated"] * 2
        assert first["targetId"] == org.id
        feed = await ok(client, FEED, {"id": org.id}, org.owner.token)
        listed = [n["id"] for n in feed["organization"]["events"]["nodes"]]
        assert listed[-2:] == [first["id"], second["id"]]
    finally:
        await ws.close()


async def test_types_filter(client, mailbox):
    org = await create_org(client)
    ws, _ = await subscribed(client, org, org.owner.token, types=["member.role_changed"])
    try:
        _, member_id = await add_member(client, mailbox, org, "USER")
        await rename(client, org, "Not this one")
        await mutate(client, UPDATE_ROLE, {"id": member_id, "role": "ADMIN"}, org.owner.token)
        event = await ws.event()
        assert event["action"] == "member.role_changed"
        assert event["targetId"] == member_id
    finally:
        await ws.close()


async def test_events_of_other_organizations_are_not_delivered(client):
    org = await create_org(client)
    other = await create_org(client, "Other")
    ws, _ = await subscribed(client, org, org.owner.token)
    try:
        await rename(client, other, "Other renamed")
        await rename(client, org, "Acme renamed")
        event = await ws.event()
        assert event["targetId"] == org.id
    finally:
        await ws.close()


async def test_an_admin_api_key_may_subscribe(client):
    org = await create_org(client)
    body = await ok(
        client,
        """mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret } }""",
        {"input": {"organizationId": org.id, "name": "stream", "role": "ADMIN"}},
        org.owner.token,
    )
    ws, _ = await subscribed(client, org, body["createApiKey"]["secret"])
    try:
        await rename(client, org, "Keyed")
        assert (await ws.event())["action"] == "organization.updated"
    finally:
        await ws.close()


async def test_a_user_is_forbidden_and_gets_no_events(client, mailbox):
    org = await create_org(client)
    person, _ = await add_member(client, mailbox, org, "USER")
    ws = await GraphQLWs.open(ws_url(client))
    try:
        await ws.init(person.token)
        operation = await ws.subscribe(org.id)
        message = await ws.next_message()
        assert message["type"] == "error" and message["id"] == operation
        assert [e["extensions"]["code"] for e in message["payload"]] == ["FORBIDDEN"]
        assert BROKER.open_subscriptions == 0
        await rename(client, org, "Unseen")
        with pytest.raises(TimeoutError):
            await ws.next_message(timeout=1.5)
    finally:
        await ws.close()


async def test_a_non_member_gets_not_found(client):
    org = await create_org(client)
    stranger = await create_org(client, "Elsewhere")
    ws = await GraphQLWs.open(ws_url(client))
    try:
        await ws.init(stranger.owner.token)
        for org_id in (org.id, "T3JnYW5pemF0aW9uOjk5OTk5", "not an id"):
            await ws.subscribe(org_id)
            message = await ws.next_message()
            assert message["type"] == "error", message
            assert [e["extensions"]["code"] for e in message["payload"]] == ["NOT_FOUND"]
    finally:
        await ws.close()


async def test_anonymous_is_unauthenticated(client):
    org = await create_org(client)
    ws = await GraphQLWs.open(ws_url(client))
    try:
        await ws.init()
        await ws.subscribe(org.id)
        message = await ws.next_message()
        assert message["type"] == "error"
        assert [e["extensions"]["code"] for e in message["payload"]] == ["UNAUTHENTICATED"]
    finally:
        await ws.close()


@pytest.mark.parametrize(
    "payload",
    [
        {"Authorization": "Bearer rs_sess_unknown"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": 42},
    ],
)
async def test_a_bad_token_in_connection_init_closes_with_4403(client, payload):
    ws = await GraphQLWs.open(ws_url(client))
    await ws.send({"type": "connection_init", "payload": payload})
    with pytest.raises(WsClosed) as closed:
        await ws.receive()
    assert closed.value.code == 4403


async def test_a_bad_token_in_the_upgrade_header_closes_with_4403(client):
    ws = await GraphQLWs.open(ws_url(client), header="Bearer rs_sess_unknown")
    await ws.send({"type": "connection_init", "payload": {}})
    with pytest.raises(WsClosed) as closed:
        await ws.receive()
    assert closed.value.code == 4403


async def test_the_upgrade_header_signs_in(client):
    org = await create_org(client)
    ws = await GraphQLWs.open(ws_url(client), header=f"Bearer {org.owner.token}")
    try:
        await ws.init(payload={})
        await ws.subscribe(org.id)
        for _ in range(200):
            if BROKER.open_subscriptions:
                break
            await asyncio.sleep(0.01)
        await rename(client, org, "Header")
        assert (await ws.event())["action"] == "organization.updated"
    finally:
        await ws.close()


async def test_queries_and_mutations_are_refused_over_the_websocket(client):
    org = await create_org(client)
    ws = await GraphQLWs.open(ws_url(client))
    try:
        await ws.init(org.owner.token)
        await ws.send({"id": "q", "type": "subscribe", "payload": {"query": "{ me { id } }"}})
        message = await ws.next_message()
        assert message["type"] == "error" and message["id"] == "q", message
    finally:
        await ws.close()


async def test_a_subscription_over_http_post_is_still_refused(client):
    org = await create_org(client)
    body = await gql(client, EVENTS, {"id": org.id}, org.owner.token, status=400)
    assert top_codes(body) == ["BAD_REQUEST"]
    assert "WebSocket" in body["errors"][0]["message"]


async def test_the_schemas_security_rules_apply(client):
    """The validation rules of queries apply: here the alias limit."""
    org = await create_org(client)
    aliases = " ".join(f"a{i}: id" for i in range(40))
    query = "subscription($id: ID!) { organizationEvents(organizationId: $id) { " + aliases + " } }"
    ws = await GraphQLWs.open(ws_url(client))
    try:
        await ws.init(org.owner.token)
        await ws.send(
            {
                "id": "d",
                "type": "subscribe",
                "payload": {"query": query, "variables": {"id": org.id}},
            }
        )
        message = await ws.next_message()
        assert message["type"] == "error", message
        assert "aliases" in message["payload"][0]["message"]
        assert BROKER.open_subscriptions == 0
    finally:
        await ws.close()


async def test_losing_admin_ends_the_subscription(client, mailbox):
    org = await create_org(client)
    admin, member_id = await add_member(client, mailbox, org, "ADMIN")
    ws, _ = await subscribed(client, org, admin.token)
    try:
        await mutate(client, UPDATE_ROLE, {"id": member_id, "role": "USER"}, org.owner.token)
        # The role change itself may still arrive; then the stream ends with FORBIDDEN.
        while True:
            message = await ws.next_message(timeout=8)
            if message["type"] == "next" and "errors" not in message["payload"]:
                continue
            break
        assert message["type"] == "next", message
        assert [e["extensions"]["code"] for e in message["payload"]["errors"]] == ["FORBIDDEN"]
        assert (await ws.next_message())["type"] == "complete"
        assert BROKER.open_subscriptions == 0
    finally:
        await ws.close()


async def test_logging_out_ends_the_subscription(client):
    org = await create_org(client)
    ws, _ = await subscribed(client, org, org.owner.token)
    try:
        await mutate(client, LOG_OUT, token=org.owner.token)
        message = await ws.next_message(timeout=8)
        assert message["type"] == "next", message
        codes = [e["extensions"]["code"] for e in message["payload"]["errors"]]
        assert codes == ["UNAUTHENTICATED"]
        assert (await ws.next_message())["type"] == "complete"
    finally:
        await ws.close()


async def test_the_open_subscriptions_gauge_moves(client):
    async def gauge() -> float:
        text = await (await client.get("/metrics")).text()
        (line,) = [x for x in text.splitlines() if x.startswith("roster_open_subscriptions ")]
        return float(line.split()[1])

    org = await create_org(client)
    assert await gauge() == 0
    ws, operation = await subscribed(client, org, org.owner.token)
    second, _ = await subscribed(client, org, org.owner.token)
    assert await gauge() == 2
    await ws.send({"id": operation, "type": "complete"})
    await second.close()
    for _ in range(200):
        if await gauge() == 0:
            break
        await asyncio.sleep(0.02)
    assert await gauge() == 0
    await ws.close()


async def test_events_committed_outside_a_request_are_delivered(client):
    """Written by another writer of the database (a CLI command, SQL): the periodic re-read
    delivers it."""
    org = await create_org(client)
    ws, _ = await subscribed(client, org, org.owner.token)
    try:
        org_pk = pk_of(org.id, "Organization")
        await AuditEvent.create(
            organization_id=org_pk,
            action="organization.updated",
            target_type="Organization",
            target_id=org_pk,
            data={},
        )
        assert (await ws.event())["action"] == "organization.updated"
    finally:
        await ws.close()


async def test_revoking_the_api_key_ends_the_subscription(client):
    org = await create_org(client)
    body = await ok(
        client,
        """mutation($input: CreateApiKeyInput!) {
          createApiKey(input: $input) { secret apiKey { id } } }""",
        {"input": {"organizationId": org.id, "name": "stream", "role": "ADMIN"}},
        org.owner.token,
    )
    key = body["createApiKey"]
    ws, _ = await subscribed(client, org, key["secret"])
    try:
        await mutate(
            client,
            """mutation($id: ID!) { revokeApiKey(input: {apiKeyId: $id}) { errors { code } } }""",
            {"id": key["apiKey"]["id"]},
            org.owner.token,
        )
        while True:
            message = await ws.next_message(timeout=8)
            if message["type"] == "next" and "errors" not in message["payload"]:
                continue  # the revocation's own event
            break
        codes = [e["extensions"]["code"] for e in message["payload"]["errors"]]
        assert codes == ["UNAUTHENTICATED"]
    finally:
        await ws.close()


async def test_a_blocked_admin_is_cut_off(client, mailbox):
    org = await create_org(client)
    admin, member_id = await add_member(client, mailbox, org, "ADMIN")
    ws, _ = await subscribed(client, org, admin.token)
    try:
        await mutate(
            client,
            """mutation($id: ID!) { blockMember(input: {memberId: $id}) { errors { code } } }""",
            {"id": member_id},
            org.owner.token,
        )
        while True:
            message = await ws.next_message(timeout=8)
            if message["type"] == "next" and "errors" not in message["payload"]:
                continue
            break
        assert [e["extensions"]["code"] for e in message["payload"]["errors"]] == ["FORBIDDEN"]
    finally:
        await ws.close()


async def test_too_many_types_are_refused_before_the_stream_starts(client):
    org = await create_org(client)
    ws = await GraphQLWs.open(ws_url(client))
    try:
        await ws.init(org.owner.token)
        await ws.subscribe(org.id, types=[f"t{i}" for i in range(1000)])
        message = await ws.next_message()
        assert message["type"] == "error", message
        assert [e["extensions"]["code"] for e in message["payload"]] == ["INVALID_INPUT"]
        assert BROKER.open_subscriptions == 0
    finally:
        await ws.close()


async def test_a_malformed_upgrade_is_answered_as_plain_http(client):
    """`Upgrade: websocket` without a valid handshake goes to the HTTP handler."""
    response = await client.get(
        "/graphql",
        params={"query": "{ __typename }"},
        headers={"Upgrade": "websocket", "Connection": "Upgrade", "Accept": "application/json"},
    )
    assert response.status == 200
    assert await response.json() == {"data": {"__typename": "Query"}}


async def test_a_client_without_the_subprotocol_is_closed_with_4406(client):
    socket = await websockets.connect(ws_url(client), proxy=None)
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await socket.recv()
    assert closed.value.rcvd.code == 4406


async def test_depth_and_cost_limits_apply(client):
    org = await create_org(client)
    nested = "memberships { user { " * 7 + "id" + " } }" * 7
    query = (
        "subscription($id: ID!) { organizationEvents(organizationId: $id) { actor { "
        + nested
        + " } } }"
    )
    ws = await GraphQLWs.open(ws_url(client))
    try:
        await ws.init(org.owner.token)
        await ws.send(
            {
                "id": "deep",
                "type": "subscribe",
                "payload": {"query": query, "variables": {"id": org.id}},
            }
        )
        message = await ws.next_message()
        assert message["type"] == "error", message
        codes = {e["extensions"]["code"] for e in message["payload"]}
        assert codes == {"QUERY_TOO_COMPLEX"}
        assert BROKER.open_subscriptions == 0
    finally:
        await ws.close()
