"""Metrics, JSON logs, slow-request and slow-query warnings, request ids."""

from __future__ import annotations

import json
import logging

import pytest

from app.observability import JsonFormatter
from tests.support.api import LOG_IN, gql, refused, sign_up, sign_up_by_api

ME = "query Me { me { id } }"


async def graphql(client, query, operation=None, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await client.post(
        "/graphql", json={"query": query, "operationName": operation}, headers=headers
    )


def sample(text: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        if line.startswith(f"{name}{{{wanted}}} ") or (not labels and line.startswith(name + " ")):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_metrics_count_requests_latency_and_outbox(client, mailbox):
    before = await (await client.get("/metrics")).text()
    await graphql(client, ME, "Me")
    await graphql(client, "{ nope }")
    person = await sign_up_by_api(client)
    await mailbox.wait_for(person.email)
    response = await client.get("/metrics")
    assert response.status == 200
    text = await response.text()
    ok_before = sample(before, "roster_requests_total", operation="Me", outcome="ok")
    assert sample(text, "roster_requests_total", operation="Me", outcome="ok") == ok_before + 1
    assert sample(text, "roster_requests_total", operation="-", outcome="rejected") >= 1
    assert 'roster_request_duration_seconds_bucket{operation="Me",le="+Inf"}' in text
    assert "roster_outbox_mails" in text


class TestMetricsToken:
    @pytest.fixture
    def settings_overrides(self):
        return {"metrics_token": "s3cret-metrics"}

    async def test_metrics_need_the_token_when_set(self, client):
        assert (await client.get("/metrics")).status == 401
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status == 401
        right = await client.get("/metrics", headers={"Authorization": "Bearer s3cret-metrics"})
        assert right.status == 200


class TestRateLimitMetric:
    @pytest.fixture
    def settings_overrides(self):
        return {"rate_limits": True}

    async def test_rate_limit_hits_are_counted(self, client):
        wrong = {"input": {"email": "x@example.com", "password": "wrong password!"}}
        for _ in range(11):
            await gql(client, LOG_IN, wrong)
        assert await refused(client, LOG_IN, wrong) == ["RATE_LIMITED"]
        text = await (await client.get("/metrics")).text()
        assert sample(text, "roster_rate_limited_total", limit="login_failed") >= 2


class TestSlowWarnings:
    @pytest.fixture
    def settings_overrides(self):
        return {"slow_request_ms": 0.0, "slow_query_ms": 0.0}

    async def test_slow_requests_and_queries_are_logged(self, client, caplog):
        caplog.set_level("WARNING")
        await graphql(client, ME, "Me")
        await sign_up(client)
        messages = [r.getMessage() for r in caplog.records]
        assert any(m.startswith("slow request") and "op=Me" in m for m in messages)
        assert any(m.startswith("slow query") for m in messages)


def test_json_log_lines_carry_extras():
    record = logging.makeLogRecord(
        {
            "name": "roster.access",
            "levelname": "INFO",
            "msg": "hello %s",
            "args": ("x",),
            "request_id": "abc",
        }
    )
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "hello x"
    assert line["request_id"] == "abc"
    assert line["logger"] == "roster.access"


async def test_request_id_is_echoed_and_taken_from_the_client(client):
    response = await client.get("/healthz", headers={"X-Request-Id": "trace-123"})
    assert response.headers["X-Request-Id"] == "trace-123"
    fresh = await client.get("/healthz")
    assert len(fresh.headers["X-Request-Id"]) == 32
