"""Issue #12 over HTTP, the transport items: bearer tokens that are not usable are 401, never
anonymous (1); operation names in /metrics and the access log come from the document and
are bounded (5); request errors are 4xx with a clear message, and a database that cannot
serve is 503 SERVICE_UNAVAILABLE with Retry-After (13); GraphiQL's page has a
Content-Security-Policy and refuses framing (14).

Each test failed before the change and passes since, on SQLite and PostgreSQL (the SQLite
write-lock test is SQLite's own; PostgreSQL has no database-wide write lock).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlsplit

import pytest
from tortoise import connections

from app import observability, web
from app.models import ApiKey, Session
from app.observability import MAX_NAME_LENGTH, MAX_OPERATIONS, Metrics
from tests.browser.conftest import browser, chromium_path, live  # noqa: F401 (fixtures)
from tests.conftest import BACKEND
from tests.support.api import (
    PASSWORD,
    SIGN_UP,
    create_org,
    mutate,
    ok,
    sign_up,
    top_codes,
    unique_email,
)

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
ME = "{ me { id } }"
LOG_OUT = "mutation { logOut { ok errors { code } } }"
REQUEST_RESET = """
mutation($email: String!) { requestPasswordReset(input: {email: $email}) { ok errors { code } } }"""
RESET = """
mutation($token: String!, $password: String!) {
  resetPassword(input: {token: $token, password: $password}) { ok errors { code field } } }"""
CREATE_KEY = """
mutation($input: CreateApiKeyInput!) {
  createApiKey(input: $input) { errors { code } secret apiKey { id } }
}"""
REVOKE_KEY = """
mutation($id: ID!) { revokeApiKey(input: {apiKeyId: $id}) { errors { code } apiKey { id } } }"""
INVITE = """
mutation($input: InviteMemberInput!) {
  inviteMember(input: $input) { errors { code } invitation { id } }
}"""
ORGANIZATION = "query($id: ID!) { organization(id: $id) { id name } }"
INVALID_TOKEN = 'Bearer error="invalid_token"'


async def post(client, body, accept=GRAPHQL_RESPONSE, headers=None):
    send = {"Accept": accept, **(headers or {})}
    return await client.post("/graphql", json=body, headers=send)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def assert_invalid_token(response) -> None:
    """HTTP 401, `WWW-Authenticate: Bearer error="invalid_token"`, one UNAUTHENTICATED."""
    assert response.status == 401, await response.text()
    assert response.headers["WWW-Authenticate"] == INVALID_TOKEN
    body = await response.json()
    assert "data" not in body
    assert top_codes(body) == ["UNAUTHENTICATED"]


# 1. Unusable bearer tokens are 401; anonymous `organization`, `organizations`, `node` are
# UNAUTHENTICATED.


@pytest.mark.parametrize(
    "header",
    [
        "Basic dXNlcjpwYXNzd29yZA==",
        "Bearer",
        "Token rs_abc",
        "rs_abc",
        "Bearer rs_unknown",
        "Bearer rk_unknown",
        "Bearer not-a-roster-token",
        "Bearer rs_a rs_b",
        "Bearer " + "x" * 500,
    ],
)
async def test_an_unusable_authorization_header_is_401_everywhere(client, header):
    org = await create_org(client)
    sent = {"Authorization": header}
    await assert_invalid_token(await post(client, {"query": ME}, headers=sent))
    await assert_invalid_token(await post(client, {"query": ME}, accept=JSON, headers=sent))
    await assert_invalid_token(
        await client.get(
            "/graphql", params={"query": ME}, headers={"Accept": GRAPHQL_RESPONSE, **sent}
        )
    )
    for path in ("members.csv", "audit-events.jsonl"):
        await assert_invalid_token(
            await client.get(f"/organizations/{org.id}/{path}", headers=sent)
        )


async def reset_mail(mailbox, address: str):
    """The password-reset mail to `address` (whatever other mail it got)."""
    for _ in range(500):
        for mail in mailbox.to(address):
            if mail.link()[0].endswith("/password/reset"):
                return mail
        await asyncio.sleep(0.02)
    raise AssertionError(f"no reset mail to {address}")


async def test_ended_sessions_and_keys_are_401_not_anonymous(client, mailbox):
    org = await create_org(client)
    owner = org.owner

    logged_out = (await sign_up(client)).token
    await mutate(client, LOG_OUT, token=logged_out)

    reset = await sign_up(client)
    await mutate(client, REQUEST_RESET, {"email": reset.email})
    mail = await reset_mail(mailbox, reset.email)
    new_password = "tidal quartz ember walrus 1987"
    await mutate(client, RESET, {"token": mail.token, "password": new_password})

    idle = await sign_up(client)
    await Session.filter(user__email=idle.email).update(
        last_used_at=datetime.now(UTC) - timedelta(days=31)
    )

    def key_input(name: str) -> dict:
        return {"input": {"organizationId": org.id, "name": name, "role": "ADMIN"}}

    revoked = await mutate(client, CREATE_KEY, key_input("revoked"), owner.token)
    await mutate(client, REVOKE_KEY, {"id": revoked["apiKey"]["id"]}, owner.token)
    expired = await mutate(client, CREATE_KEY, key_input("expired"), owner.token)
    await ApiKey.filter(name="expired").update(expires_at=datetime.now(UTC) - timedelta(seconds=1))

    for token in (logged_out, reset.token, idle.token, revoked["secret"], expired["secret"]):
        # Before: `me` and `organization` read null, as for a stranger.
        await assert_invalid_token(await post(client, {"query": ME}, headers=bearer(token)))
        await assert_invalid_token(
            await post(
                client,
                {"query": ORGANIZATION, "variables": {"id": org.id}},
                headers=bearer(token),
            )
        )
        export = await client.get(f"/organizations/{org.id}/members.csv", headers=bearer(token))
        await assert_invalid_token(export)
    # Tokens that still live are unaffected.
    assert (await ok(client, ORGANIZATION, {"id": org.id}, owner.token))["organization"]


async def test_anonymous_organization_organizations_and_node_are_unauthenticated(client, mailbox):
    org = await create_org(client)
    invitee = unique_email("invitee")
    variables = {"input": {"organizationId": org.id, "email": invitee, "role": "USER"}}
    await mutate(client, INVITE, variables, org.owner.token)
    (mail,) = await mailbox.wait_for(invitee)

    for query, variables in (
        (ORGANIZATION, {"id": org.id}),
        ("{ organizations { totalCount nodes { id } } }", {}),
        ("query($id: ID!) { node(id: $id) { id } }", {"id": org.id}),
        ("query($id: ID!) { node(id: $id) { id } }", {"id": org.owner.user_id}),
    ):
        response = await post(client, {"query": query, "variables": variables})
        assert response.status == 200
        body = await response.json()
        assert top_codes(body) == ["UNAUTHENTICATED"], (query, body)
    # `me` is null for anonymous callers, and an invitation link opens without signing in.
    assert await ok(client, ME) == {"me": None}
    preview = await ok(
        client,
        "query($t: String!) { invitationByToken(token: $t) { email organizationName } }",
        {"t": mail.token},
    )
    assert preview["invitationByToken"] == {"email": invitee, "organizationName": "Acme"}
    # No header and an empty one are anonymous, not 401.
    empty = await post(client, {"query": ME}, headers={"Authorization": ""})
    assert empty.status == 200 and await empty.json() == {"data": {"me": None}}
    anonymous_export = await client.get(f"/organizations/{org.id}/members.csv")
    assert anonymous_export.status == 401
    assert anonymous_export.headers["WWW-Authenticate"] == "Bearer"


# 5. /metrics and the access log: operation names come from the document, bounded.


@pytest.fixture
def metrics(monkeypatch) -> Metrics:
    """Fresh counters for this test (they are per process), with the real caps."""
    fresh = Metrics()
    monkeypatch.setattr(observability, "METRICS", fresh)
    monkeypatch.setattr(web, "METRICS", fresh)
    return fresh


def operation_labels(text: str) -> set[str]:
    return set(re.findall(r'roster_requests_total\{operation="([^"]*)"', text))


def access_operations(caplog) -> list[str]:
    return [r.operation for r in caplog.records if r.name == "roster.access"]


async def test_client_chosen_operation_names_never_become_labels(client, metrics, caplog):
    caplog.set_level("INFO", logger="roster.access")
    for i in range(100):
        bogus = f"{i}-" + "x" * 20_000
        response = await post(client, {"query": "query Me { me { id } }", "operationName": bogus})
        # Before: 500 INTERNAL, and each name a label of its own.
        assert response.status == 400
        body = await response.json()
        assert top_codes(body) == ["BAD_REQUEST"]
        assert "no operation named" in body["errors"][0]["message"]
        assert len(body["errors"][0]["message"]) < 200
    text = await (await client.get("/metrics")).text()
    assert operation_labels(text) <= {"other", "-"}
    assert len(text) < 20_000
    operations = access_operations(caplog)
    assert len(operations) >= 100
    assert all(len(op) <= MAX_NAME_LENGTH for op in operations)


async def test_operation_labels_are_capped_in_length_and_number(client, metrics, caplog):
    caplog.set_level("INFO", logger="roster.access")
    names = [f"Op{i}_" + "n" * 200 for i in range(MAX_OPERATIONS + 50)]
    for name in names:
        response = await post(client, {"query": f"query {name} {{ __typename }}"})
        assert response.status == 200
    text = await (await client.get("/metrics")).text()
    labels = operation_labels(text)
    assert len(labels - {"other", "-"}) == MAX_OPERATIONS
    assert "other" in labels
    assert all(len(label) <= MAX_NAME_LENGTH for label in labels)
    assert all(len(op) <= MAX_NAME_LENGTH for op in access_operations(caplog))


async def test_an_unnamed_request_is_labelled_with_the_documents_operation(client, metrics, caplog):
    caplog.set_level("INFO", logger="roster.access")
    # Before: `op=-` in the log and operation="-" in /metrics.
    response = await post(client, {"query": "query WhoAmI { me { id } }"})
    assert response.status == 200
    assert "WhoAmI" in access_operations(caplog)
    text = await (await client.get("/metrics")).text()
    assert 'roster_requests_total{operation="WhoAmI",outcome="ok"} 1' in text
    # Several operations and none named: refused, labelled as no operation.
    both = await post(client, {"query": "query A { me { id } } query B { me { id } }"})
    assert both.status == 400
    assert access_operations(caplog)[-1] == "-"


# 13. Request errors: 4xx with a clear message; a database that cannot serve: 503.


async def test_unknown_operation_name_is_400(client):
    document = "query A { me { id } } query B { __typename }"
    for accept in (GRAPHQL_RESPONSE, JSON):
        response = await post(client, {"query": document, "operationName": "C"}, accept=accept)
        assert response.status == 400, await response.text()  # before: 500 INTERNAL
        assert top_codes(await response.json()) == ["BAD_REQUEST"]
    by_get = await client.get("/graphql", params={"query": document, "operationName": "C"})
    assert by_get.status == 400


async def test_an_integer_literal_of_4400_digits_is_invalid_input(client):
    digits = "1" * 4400
    for query in (
        f"{{ organizations(first: {digits}) {{ totalCount }} }}",
        f"query($n: Int = {digits}) {{ organizations(first: $n) {{ totalCount }} }}",
    ):
        response = await post(client, {"query": query})
        text = await response.text()
        assert response.status == 400, text  # before: INTERNAL
        body = json.loads(text)
        assert "data" not in body
        assert "INVALID_INPUT" in top_codes(body), body
        assert digits not in text and "INTERNAL" not in text
    # As a variable it never reaches GraphQL: not JSON Python reads (4,300 digits at most).
    raw = '{"query": "query($n: Int) { me { id } }", "variables": {"n": ' + digits + "}}"
    response = await client.post(
        "/graphql", data=raw, headers={"Content-Type": JSON, "Accept": GRAPHQL_RESPONSE}
    )
    assert response.status == 400


async def test_a_subscription_by_post_or_get_is_told_to_use_the_websocket(client):
    document = "subscription Watch { me { id } }"
    responses = [
        await post(client, {"query": document}),
        await client.get("/graphql", params={"query": document}),
    ]
    for response in responses:
        assert 400 <= response.status < 500
        message = (await response.json())["errors"][0]["message"]
        assert "WebSocket" in message and "Mutations" not in message, message


async def test_a_cors_preflight_without_cors_origins_is_answered(client):
    preflight = await client.options(
        "/graphql",
        headers={
            "Origin": "https://app.example.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert preflight.status == 204  # before: 405
    assert "POST" in preflight.headers["Allow"]
    assert not any(name.lower().startswith("access-control-") for name in preflight.headers)
    assert (await client.options("/nowhere")).status == 404


@pytest.mark.parametrize("accept", ["*/*", "application/*", None])
async def test_a_wildcard_or_missing_accept_answers_application_json(client, accept):
    headers = {"Content-Type": JSON} if accept is None else {"Content-Type": JSON, "Accept": accept}
    skip = ["Accept"] if accept is None else []
    response = await client.post(
        "/graphql",
        data=json.dumps({"query": ME}),
        headers=headers,
        skip_auto_headers=skip,
    )
    assert response.status == 200
    assert response.headers["Content-Type"].startswith(JSON)  # before: graphql-response+json
    # application/json's rules: a document that does not validate is still 200.
    invalid = await client.post(
        "/graphql",
        data=json.dumps({"query": "{ nope }"}),
        headers=headers,
        skip_auto_headers=skip,
    )
    assert invalid.status == 200 and "data" not in await invalid.json()
    chosen = await post(client, {"query": ME}, accept=GRAPHQL_RESPONSE)
    assert chosen.headers["Content-Type"].startswith(GRAPHQL_RESPONSE)


def assert_unavailable(response, body: dict) -> None:
    assert response.status == 503, body
    assert int(response.headers["Retry-After"]) > 0
    assert top_codes(body) and set(top_codes(body)) == {"SERVICE_UNAVAILABLE"}, body


def sign_up_vars() -> dict:
    return {"input": {"email": unique_email("locked"), "password": PASSWORD, "name": "Lo"}}


@asynccontextmanager
async def write_lock(database_url: str) -> AsyncIterator[sqlite3.Connection]:
    """Another process's write transaction on the test database (a CLI command, say)."""
    holder = sqlite3.connect(database_url.removeprefix("sqlite://"), isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        yield holder
    finally:
        if holder.in_transaction:
            holder.execute("ROLLBACK")
        holder.close()


@pytest.mark.skipif(
    BACKEND != "sqlite",
    reason="SQLite's database-wide write lock; PostgreSQL locks rows, and its outage is "
    "test_a_database_that_does_not_answer_is_503",
)
class TestSqliteWriteLock:
    @pytest.fixture
    def settings_overrides(self):
        return {"db_timeout_ms": 1000.0}

    async def test_a_write_lock_is_waited_for(self, client, database_url):
        """Before, a mutation failed at once (INTERNAL) though the lock was freed soon after."""
        async with write_lock(database_url) as holder:
            asyncio.get_running_loop().call_later(0.3, holder.execute, "ROLLBACK")
            started = time.perf_counter()
            response = await post(client, {"query": SIGN_UP, "variables": sign_up_vars()})
            waited = time.perf_counter() - started
        body = await response.json()
        assert response.status == 200 and body["data"]["signUp"]["errors"] == [], body
        assert waited >= 0.25

    async def test_a_write_lock_held_past_the_timeout_is_503(self, client, database_url):
        person = await sign_up(client)
        # A session last used over an hour ago is touched (written) by its next request.
        await Session.all().update(last_used_at=datetime.now(UTC) - timedelta(hours=2))
        async with write_lock(database_url):
            started = time.perf_counter()
            response = await post(client, {"query": SIGN_UP, "variables": sign_up_vars()})
            assert time.perf_counter() - started >= 0.9  # the busy timeout, waited for
            assert_unavailable(response, await response.json())
            # The session lookup, before any GraphQL runs (before: 500 INTERNAL).
            touched = await post(client, {"query": ME}, headers=bearer(person.token))
            assert_unavailable(touched, await touched.json())
        # Once the lock is gone, writes work again.
        response = await post(client, {"query": SIGN_UP, "variables": sign_up_vars()})
        assert response.status == 200
        assert (await response.json())["data"]["signUp"]["errors"] == []


class TestDatabaseThatDoesNotAnswer:
    """PostgreSQL: the pool reconnects to a server that accepts the connection and never
    answers (the connect timeout expires). SQLite: the file cannot be opened any more."""

    @pytest.fixture
    def settings_overrides(self):
        return {"db_timeout_ms": 500.0}

    @asynccontextmanager
    async def database_gone(self) -> AsyncIterator[None]:
        client = connections.get("default")
        await client.close()
        if BACKEND == "postgres":
            sockets: list[asyncio.StreamWriter] = []

            async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                sockets.append(writer)  # accepted, never answered

            server = await asyncio.start_server(silent, "127.0.0.1", 0)
            host, port = client.host, client.port
            client.host, client.port = "127.0.0.1", server.sockets[0].getsockname()[1]
            try:
                yield
            finally:
                await client.close()
                client.host, client.port = host, port
                for writer in sockets:
                    writer.close()
                server.close()
                await server.wait_closed()
        else:
            filename = client.filename
            client.filename = "/nonexistent-roster-directory/roster.sqlite3"
            try:
                yield
            finally:
                await client.close()
                client.filename = filename

    async def test_a_database_that_does_not_answer_is_503(self, client):
        person = await sign_up(client)
        async with self.database_gone():
            # A mutation: GraphQL runs and its resolver cannot reach the database.
            response = await post(client, {"query": SIGN_UP, "variables": sign_up_vars()})
            body = await response.json()
            assert_unavailable(response, body)
            assert body["errors"][0]["extensions"]["requestId"] == response.headers["X-Request-Id"]
            # The session lookup, before GraphQL (before: 500 INTERNAL).
            me = await post(client, {"query": ME}, headers=bearer(person.token))
            assert_unavailable(me, await me.json())
            # An export.
            org_export = await client.get(
                "/organizations/T3JnYW5pemF0aW9uOjE/members.csv", headers=bearer(person.token)
            )
            assert_unavailable(org_export, await org_export.json())
            health = await client.get("/healthz")
            assert health.status == 503 and health.headers["Retry-After"]
        # Back: the same process serves again.
        assert (await ok(client, ME, token=person.token))["me"] is not None


# 14. GraphiQL: a Content-Security-Policy and no framing.


def inline_script_hashes(html: str) -> set[str]:
    return {
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in re.findall(r"<script>(.*?)</script>", html, re.DOTALL)
    }


async def test_graphiql_page_has_a_csp_and_refuses_framing(client):
    response = await client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status == 200
    assert response.headers["X-Frame-Options"] == "DENY"
    policy = dict(
        part.strip().split(" ", 1)
        for part in response.headers["Content-Security-Policy"].split(";")
    )
    assert policy["default-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    host = f"{client.host}:{client.port}"
    # This server, and its WebSocket (subscriptions) named: not every browser's 'self'
    # covers ws:.
    assert policy["connect-src"] == f"'self' ws://{host} wss://{host}"
    scripts = policy["script-src"].split()
    assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts
    # Only the page's own inline script runs, by its hash.
    hashes = inline_script_hashes(await response.text())
    assert hashes and hashes == {s for s in scripts if s.startswith("'sha256-")}


async def test_graphiql_runs_under_its_csp(live, browser):  # noqa: F811 (fixtures)
    """The page loads, runs a query and shows the answer with no CSP violation."""
    person = await sign_up(live.client, email="csp@example.com", name="Cy Policy")
    context = await browser.new_context()
    page = await context.new_page()
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    outside: list[str] = []

    async def only_this_server(route) -> None:
        if urlsplit(route.request.url).netloc == urlsplit(live.base_url).netloc:
            await route.continue_()
        else:
            outside.append(route.request.url)
            await route.abort()

    await page.route("**/*", only_this_server)
    headers = json.dumps({"Authorization": f"Bearer {person.token}"})
    response = await page.goto(
        f"{live.base_url}/graphql?q={quote('{ me { name } }')}&headers={quote(headers)}",
        wait_until="networkidle",
    )
    assert response is not None
    assert "script-src" in response.headers["content-security-policy"]
    await page.wait_for_selector(".graphiql-container", timeout=15000)
    await page.click(".graphiql-execute-button")
    await page.locator(".graphiql-response").get_by_text("Cy Policy").wait_for(timeout=15000)
    # The Docs pane (the schema's introspection) opens too.
    await page.click("[aria-label='Show Documentation Explorer']")
    await page.get_by_text("Root Types").first.wait_for(timeout=15000)
    await context.close()
    assert violations == [] and outside == []
