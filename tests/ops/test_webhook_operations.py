"""Operating webhooks: `roster webhooks list|endpoints|retry` as a real subprocess, and the
webhook figures on /metrics."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from aiohttp import web

from app.models import WebhookDelivery
from app.webhooks import outbox
from tests.ops.test_cli import roster
from tests.support import factories
from tests.support.api import create_org
from tests.support.webhooks import Receiver, make_endpoint, wait_for_delivery


async def queued(endpoint, status="PENDING", attempts=0, error=None):
    return await WebhookDelivery.create(
        endpoint_id=endpoint.id,
        event_type=outbox.TEST_EVENT_TYPE,
        message_id=outbox.new_message_id(),
        body=outbox.ping_body(endpoint.id, endpoint.organization_id),
        status=status,
        attempts=attempts,
        last_error=error,
        next_attempt_at=None if status != "PENDING" else datetime.now(UTC),
    )


async def test_cli_lists_and_retries_deliveries(db, database_url):
    user = await factories.make_user()
    organization, _ = await factories.make_organization(user)
    endpoint, _ = await make_endpoint(organization.id, "https://hooks.example.com/roster")
    failed = await queued(endpoint, "FAILED", 8, "HTTP 500: not a 2xx answer")
    succeeded = await queued(endpoint, "SUCCEEDED", 1)

    listing = roster(database_url, "webhooks", "list")
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.splitlines()
    assert [line.split("\t")[0] for line in lines] == [str(succeeded.id), str(failed.id)]
    assert failed.message_id in listing.stdout and "HTTP 500" in listing.stdout
    only_failed = roster(database_url, "webhooks", "list", "--status", "FAILED")
    assert [line.split("\t")[0] for line in only_failed.stdout.splitlines()] == [str(failed.id)]
    endpoints = roster(database_url, "webhooks", "endpoints")
    assert "https://hooks.example.com/roster" in endpoints.stdout and "enabled" in endpoints.stdout

    retry = roster(database_url, "webhooks", "retry")
    assert retry.returncode == 0 and "1 webhook deliver(ies)" in retry.stdout, retry.stdout
    again = await WebhookDelivery.get(id=failed.id)
    assert again.status == "PENDING" and again.attempts == 0
    assert again.message_id == failed.message_id and again.next_attempt_at is not None
    assert (await WebhookDelivery.get(id=succeeded.id)).status == "SUCCEEDED"
    by_id = roster(database_url, "webhooks", "retry", str(succeeded.id))
    assert "1 webhook deliver(ies)" in by_id.stdout
    assert (await WebhookDelivery.get(id=succeeded.id)).status == "PENDING"
    assert roster(database_url, "webhooks", "--help").returncode == 0


@pytest.fixture
def settings_overrides():
    return {"webhook_allow_insecure": True, "webhook_retry_schedule": (60.0,)}


async def test_metrics_show_deliveries_by_status_queue_depth_and_attempt_latency(client):
    receiver = await Receiver().start()

    async def fail(received):
        return web.Response(status=503)

    receiver.reply = fail
    try:
        org = await create_org(client)
        endpoint, _ = await make_endpoint(org.id, receiver.url)
        await queued(endpoint)
        await wait_for_delivery(lambda d: d.attempts == 1 and d.response_status == 503)
        text = await (await client.get("/metrics")).text()
        assert 'roster_webhook_deliveries{status="PENDING"} 1' in text
        assert 'roster_webhook_deliveries{status="FAILED"} 0' in text
        assert "roster_webhook_queue_depth 0" in text  # the retry is a minute away
        assert "# TYPE roster_webhook_attempt_duration_seconds histogram" in text
        assert 'roster_webhook_attempt_duration_seconds_count{outcome="http_error"}' in text
        await WebhookDelivery.all().update(next_attempt_at=datetime(2000, 1, 1, tzinfo=UTC))
        await receiver.stop()
        await endpoint.__class__.filter(id=endpoint.id).update(enabled=False)
        text = await (await client.get("/metrics")).text()
        assert "roster_webhook_queue_depth 1" in text
    finally:
        await receiver.stop()
