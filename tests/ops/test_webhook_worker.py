"""The webhook outbox and worker against real receivers on 127.0.0.1: the body and the
Standard Webhooks headers, retries with the same webhook-id, Retry-After, redirects,
410 and repeated failures disabling the endpoint."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web

from app.ids import to_global_id
from app.models import AuditEvent, WebhookDelivery, WebhookEndpoint
from app.webhooks import outbox
from app.webhooks.sender import retry_after
from tests.support.api import INVITE, create_org, mutate, ok, unique_email
from tests.support.webhooks import Receiver, body_of, make_endpoint, wait_for_delivery

FAST = {"webhook_allow_insecure": True, "webhook_retry_schedule": (0.2, 0.2, 0.2)}


@pytest.fixture
def settings_overrides():
    return dict(FAST)


@pytest.fixture
async def receiver():
    server = await Receiver().start()
    yield server
    await server.stop()


async def invite(client, org, email=None):
    return await mutate(
        client,
        INVITE,
        {"input": {"organizationId": org.id, "email": email or unique_email(), "role": "USER"}},
        org.owner.token,
    )


async def test_an_event_is_posted_signed_with_the_standard_headers(client, receiver):
    org = await create_org(client)
    endpoint, secret = await make_endpoint(org.id, receiver.url)
    receiver.secrets.append(secret)
    payload = await invite(client, org, "new.person@example.com")
    (got,) = await receiver.wait_for(1)
    assert got.verified, got.headers
    assert got.headers["content-type"] == "application/json"
    assert got.headers["webhook-id"].startswith("msg_")
    assert int(got.headers["webhook-timestamp"]) > 0
    assert got.headers["webhook-signature"].startswith("v1,")
    event = await AuditEvent.get(action="invitation.created")
    body = body_of(got)
    assert body == {
        "type": "invitation.created",
        "timestamp": body["timestamp"],
        "data": {
            "id": to_global_id("AuditEvent", event.id),
            "organizationId": org.id,
            "actorId": org.owner.user_id,
            "actorApiKeyId": None,
            "targetType": "Invitation",
            "targetId": payload["invitation"]["id"],
            "data": event.data,
        },
    }
    assert datetime.fromisoformat(body["timestamp"]) == event.created_at
    # The same ids as the audit trail's GraphQL type.
    data = await ok(
        client,
        "query($id: ID!) { organization(id: $id) { auditEvents(first: 1, actions: "
        '["invitation.created"]) { nodes { id targetId } } } }',
        {"id": org.id},
        org.owner.token,
    )
    (node,) = data["organization"]["auditEvents"]["nodes"]
    assert node == {"id": body["data"]["id"], "targetId": body["data"]["targetId"]}
    delivery = await wait_for_delivery(lambda d: d.status == "SUCCEEDED")
    assert delivery.message_id == got.message_id
    assert delivery.attempts == 1 and delivery.response_status == 200
    assert delivery.event_id == event.id and delivery.event_type == "invitation.created"
    assert delivery.endpoint_id == endpoint.id


async def test_only_enabled_endpoints_of_the_organization_whose_types_match(client, receiver):
    org = await create_org(client)
    other = await create_org(client, "Other")
    await make_endpoint(org.id, receiver.url, ["invitation.created"])
    await make_endpoint(org.id, receiver.url, ["member.removed"])
    await make_endpoint(org.id, receiver.url, [])
    await make_endpoint(org.id, receiver.url, enabled=False)
    await make_endpoint(other.id, receiver.url)
    await invite(client, org)
    rows = await WebhookDelivery.filter(event_type="invitation.created")
    assert len(rows) == 2  # written by the mutation, in its transaction
    assert len({r.message_id for r in rows}) == 2
    await receiver.wait_for(2)


async def test_a_server_error_is_retried_with_the_same_webhook_id(client, receiver):
    org = await create_org(client)
    _, secret = await make_endpoint(org.id, receiver.url)
    receiver.secrets.append(secret)
    answers = iter([500, 502, 200])

    async def reply(received):
        return web.Response(status=next(answers))

    receiver.reply = reply
    await invite(client, org)
    received = await receiver.wait_for(3)
    assert len({r.message_id for r in received}) == 1
    assert all(r.verified for r in received)
    assert len({r.body for r in received}) == 1
    delivery = await wait_for_delivery(lambda d: d.status == "SUCCEEDED")
    assert delivery.attempts == 3 and delivery.response_status == 200


class TestTimeout:
    @pytest.fixture
    def settings_overrides(self):
        return {**FAST, "webhook_timeout_seconds": 0.5}

    async def test_no_answer_in_time_is_retried_with_the_same_webhook_id(self, client, receiver):
        org = await create_org(client)
        _, secret = await make_endpoint(org.id, receiver.url)
        receiver.secrets.append(secret)

        async def reply(received):
            if len(receiver.received) == 1:
                await asyncio.sleep(3)
            return web.Response(status=204)

        receiver.reply = reply
        await invite(client, org)
        first, second = await receiver.wait_for(2)
        assert first.message_id == second.message_id and second.verified
        delivery = await wait_for_delivery(lambda d: d.status == "SUCCEEDED")
        assert delivery.attempts == 2 and delivery.response_status == 204


async def test_retry_after_is_honoured(client, receiver):
    org = await create_org(client)
    _, secret = await make_endpoint(org.id, receiver.url)
    receiver.secrets.append(secret)

    async def reply(received):
        if len(receiver.received) == 1:
            return web.Response(status=503, headers={"Retry-After": "3"})
        return web.Response(status=200)

    receiver.reply = reply
    await invite(client, org)
    await receiver.wait_for(1)
    delivery = await wait_for_delivery(lambda d: d.attempts == 1 and d.response_status == 503)
    assert delivery.status == "PENDING"
    # The schedule says 0.2 s; the receiver asked for 3 s.
    assert delivery.next_attempt_at - delivery.last_attempt_at >= timedelta(seconds=2.9)
    first, second = await receiver.wait_for(2)
    assert second.message_id == first.message_id


def test_retry_after_reads_seconds_and_http_dates_and_is_capped():
    moment = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert retry_after("120", moment) == 120
    assert retry_after("Thu, 01 Jan 2026 12:01:00 GMT", moment) == 60
    assert retry_after("Wed, 01 Jan 2025 12:00:00 GMT", moment) == 0
    assert retry_after("99999999", moment) == 86400
    assert retry_after("soon", moment) is None
    assert retry_after(None, moment) is None


async def test_a_redirect_is_not_followed(client, receiver):
    org = await create_org(client)
    await make_endpoint(org.id, receiver.url)

    async def reply(received):
        if received.path == "/hook":
            raise web.HTTPTemporaryRedirect(f"http://127.0.0.1:{receiver.port}/elsewhere")
        return web.Response(status=200)

    receiver.reply = reply
    await invite(client, org)
    delivery = await wait_for_delivery(lambda d: d.status == "FAILED", timeout=20)
    assert delivery.response_status == 307 and delivery.attempts == 4
    assert "redirect" in delivery.last_error
    assert {r.path for r in receiver.received} == {"/hook"}


async def test_410_disables_the_endpoint(client, receiver):
    org = await create_org(client)
    endpoint, _ = await make_endpoint(org.id, receiver.url)

    async def reply(received):
        return web.Response(status=410)

    receiver.reply = reply
    await invite(client, org)
    delivery = await wait_for_delivery(lambda d: d.status == "FAILED")
    assert delivery.attempts == 1 and delivery.response_status == 410
    endpoint = await WebhookEndpoint.get(id=endpoint.id)
    assert endpoint.enabled is False and "410" in endpoint.disabled_reason
    # Audited in the same transaction, by no person.
    (audited,) = await AuditEvent.filter(action="webhook_endpoint.disabled")
    assert audited.data == {"reason": endpoint.disabled_reason}
    assert audited.actor_user_id is None and audited.target_id == endpoint.id
    # A disabled endpoint gets no more deliveries.
    await invite(client, org)
    assert await WebhookDelivery.filter(endpoint_id=endpoint.id).count() == 1
    assert len(receiver.received) == 1


class TestNoRetries:
    @pytest.fixture
    def settings_overrides(self):
        return {**FAST, "webhook_retry_schedule": ()}

    async def test_twenty_failed_deliveries_in_a_row_disable_the_endpoint(self, client, receiver):
        org = await create_org(client)
        endpoint, _ = await make_endpoint(org.id, receiver.url)

        async def reply(received):
            return web.Response(status=500)

        receiver.reply = reply

        async def queue(n):
            for _ in range(n):
                await WebhookDelivery.create(
                    endpoint_id=endpoint.id,
                    event_type=outbox.TEST_EVENT_TYPE,
                    message_id=outbox.new_message_id(),
                    body=outbox.ping_body(endpoint.id, endpoint.organization_id),
                    next_attempt_at=datetime.now(UTC),
                )

        await queue(19)
        await _until(lambda: WebhookDelivery.filter(status="FAILED").count(), 19)
        assert (await WebhookEndpoint.get(id=endpoint.id)).enabled
        await queue(1)
        await _until(lambda: WebhookDelivery.filter(status="FAILED").count(), 20)
        endpoint = await WebhookEndpoint.get(id=endpoint.id)
        assert endpoint.enabled is False
        assert "20" in endpoint.disabled_reason
        (audited,) = await AuditEvent.filter(action="webhook_endpoint.disabled")
        assert audited.data == {"reason": endpoint.disabled_reason}

    async def test_a_success_breaks_the_run_of_failures(self, client, receiver):
        org = await create_org(client)
        endpoint, _ = await make_endpoint(org.id, receiver.url)
        statuses = iter([500] * 10 + [200] + [500] * 19)

        async def reply(received):
            return web.Response(status=next(statuses))

        receiver.reply = reply
        for _ in range(30):
            await WebhookDelivery.create(
                endpoint_id=endpoint.id,
                event_type=outbox.TEST_EVENT_TYPE,
                message_id=outbox.new_message_id(),
                body=outbox.ping_body(endpoint.id, endpoint.organization_id),
                next_attempt_at=datetime.now(UTC),
            )
            await receiver.wait_for(len(receiver.received) + 1)
        await _until(lambda: WebhookDelivery.exclude(status="PENDING").count(), 30)
        assert (await WebhookEndpoint.get(id=endpoint.id)).enabled


async def _until(count, expected, timeout=15.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while (value := await count()) != expected:
        assert asyncio.get_running_loop().time() < deadline, f"{value} != {expected}"
        await asyncio.sleep(0.05)


async def test_a_rolled_back_change_writes_no_delivery(client, receiver):
    org = await create_org(client)
    await make_endpoint(org.id, receiver.url)
    body = await ok(
        client,
        INVITE,
        {"input": {"organizationId": org.id, "email": "not an address", "role": "USER"}},
        org.owner.token,
    )
    assert body["inviteMember"]["errors"]
    assert await WebhookDelivery.all().count() == 0


class TestSlowReceiver:
    @pytest.fixture
    def settings_overrides(self):
        return {**FAST, "webhook_timeout_seconds": 20.0}

    async def test_a_slow_receiver_does_not_hold_back_the_others(self, client):
        slow, fast = await Receiver().start(), await Receiver().start()
        release = asyncio.Event()

        async def hang(received):
            await release.wait()
            return web.Response(status=200)

        slow.reply = hang
        try:
            org = await create_org(client)
            slow_endpoint, _ = await make_endpoint(org.id, slow.url)
            fast_endpoint, _ = await make_endpoint(org.id, fast.url)
            for endpoint in (slow_endpoint, fast_endpoint):
                await WebhookDelivery.create(
                    endpoint_id=endpoint.id,
                    event_type=outbox.TEST_EVENT_TYPE,
                    message_id=outbox.new_message_id(),
                    body=outbox.ping_body(endpoint.id, org_id_pk(org)),
                    next_attempt_at=datetime.now(UTC),
                )
                if endpoint is slow_endpoint:
                    await slow.wait_for(1)  # its attempt is under way, and hangs
            await fast.wait_for(1)
            await wait_for_delivery(lambda d: d.status == "SUCCEEDED", endpoint_id=fast_endpoint.id)
            stuck = await WebhookDelivery.get(endpoint_id=slow_endpoint.id)
            assert stuck.status == "PENDING" and stuck.last_error is None
            release.set()
            await wait_for_delivery(lambda d: d.status == "SUCCEEDED", endpoint_id=slow_endpoint.id)
        finally:
            release.set()
            await slow.stop()
            await fast.stop()


def org_id_pk(org):
    from app.ids import pk_of

    return pk_of(org.id, "Organization")
