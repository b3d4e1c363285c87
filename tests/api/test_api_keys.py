"""API keys: created and revoked by signed-in ADMIN+, bearer tokens acting in one organization."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.auth.tokens import hash_token
from app.models import ApiKey, AuditEvent
from tests.support.api import (
    INVITE,
    Org,
    add_member,
    create_org,
    gql,
    mutate,
    ok,
    refused,
    top_codes,
)

CREATE = """
mutation($input: CreateApiKeyInput!) {
  createApiKey(input: $input) {
    errors { code field } secret
    apiKey { id name role prefix createdAt expiresAt lastUsedAt revokedAt }
  }
}"""
REVOKE = """
mutation($id: ID!) {
  revokeApiKey(input: {apiKeyId: $id}) { errors { code field } apiKey { id revokedAt } }
}"""
KEYS = "query($id: ID!) { organization(id: $id) { apiKeys { id name role prefix lastUsedAt revokedAt } } }"
ORG = "query($id: ID!) { organization(id: $id) { id name viewerRole } }"
ME = "{ me { id } }"
EVENTS = """
query($id: ID!, $actions: [String!]) {
  organization(id: $id) {
    auditEvents(first: 100, actions: $actions) {
      nodes { action data actor { id } actorApiKey { id name prefix } }
    }
  }
}"""


async def create_key(client, org: Org, role: str, token: str | None = None, **extra) -> dict:
    variables = {"input": {"organizationId": org.id, "name": f"{role} key", "role": role, **extra}}
    return await mutate(client, CREATE, variables, token or org.owner.token)


def invite_vars(org: Org, email: str = "newcomer@example.com") -> dict:
    return {"input": {"organizationId": org.id, "email": email}}


async def test_create_shows_the_secret_once_and_stores_its_hash(client):
    org = await create_org(client)
    payload = await create_key(client, org, "USER", expiresInDays=30)
    secret, key = payload["secret"], payload["apiKey"]
    assert secret.startswith("rk_") and len(secret) >= 3 + 43
    assert key["prefix"] == secret[:11] and key["name"] == "USER key" and key["role"] == "USER"
    assert key["revokedAt"] is None and key["lastUsedAt"] is None
    expires = datetime.fromisoformat(key["expiresAt"])
    assert timedelta(days=29) < expires - datetime.now(UTC) <= timedelta(days=30)
    row = await ApiKey.get()
    assert row.secret_hash == hash_token(secret) and secret not in (row.prefix, row.secret_hash)

    listed = (await ok(client, KEYS, {"id": org.id}, org.owner.token))["organization"]["apiKeys"]
    assert [k["id"] for k in listed] == [key["id"]]
    (event,) = (
        await ok(client, EVENTS, {"id": org.id, "actions": ["api_key.created"]}, org.owner.token)
    )["organization"]["auditEvents"]["nodes"]
    assert event["data"]["role"] == "USER" and event["data"]["prefix"] == key["prefix"]
    assert secret not in str(event)


@pytest.mark.parametrize(
    ("extra", "code", "field"),
    [
        ({"role": "OWNER"}, "ROLE_NOT_ALLOWED", "role"),
        ({"name": "   "}, "INVALID_INPUT", "name"),
        ({"name": "n" * 201}, "INVALID_INPUT", "name"),
        ({"expiresInDays": 0}, "INVALID_INPUT", "expiresInDays"),
        ({"expiresInDays": 100_000}, "INVALID_INPUT", "expiresInDays"),
    ],
)
async def test_create_refusals_write_nothing(client, extra, code, field):
    org = await create_org(client)
    variables = {"input": {"organizationId": org.id, "name": "k", "role": "USER", **extra}}
    body = await ok(client, CREATE, variables, org.owner.token)
    assert [(e["code"], e["field"]) for e in body["createApiKey"]["errors"]] == [(code, [field])]
    assert body["createApiKey"]["secret"] is None and body["createApiKey"]["apiKey"] is None
    assert await ApiKey.all().count() == 0
    assert await AuditEvent.filter(action__startswith="api_key").count() == 0


async def test_who_may_create_and_revoke_keys(client, mailbox):
    org = await create_org(client)
    admin, _ = await add_member(client, mailbox, org, role="ADMIN", name="Ann Admin")
    user, _ = await add_member(client, mailbox, org, role="USER", name="Uma User")
    outsider = await create_org(client, name="Other")
    variables = {"input": {"organizationId": org.id, "name": "k", "role": "VIEWER"}}

    assert top_codes(await gql(client, CREATE, variables, user.token)) == ["FORBIDDEN"]
    assert top_codes(await gql(client, CREATE, variables)) == ["UNAUTHENTICATED"]
    assert await refused(client, CREATE, variables, outsider.owner.token) == ["NOT_FOUND"]
    assert top_codes(await gql(client, KEYS, {"id": org.id}, user.token)) == ["FORBIDDEN"]
    assert await ApiKey.all().count() == 0

    by_admin = await create_key(client, org, "ADMIN", admin.token)
    key_id = by_admin["apiKey"]["id"]
    # A key (even an ADMIN one) cannot create or revoke keys.
    body = await gql(client, CREATE, variables, by_admin["secret"])
    assert top_codes(body) == ["FORBIDDEN"]
    assert top_codes(await gql(client, REVOKE, {"id": key_id}, by_admin["secret"])) == ["FORBIDDEN"]
    assert top_codes(await gql(client, REVOKE, {"id": key_id}, user.token)) == ["FORBIDDEN"]
    assert await refused(client, REVOKE, {"id": key_id}, outsider.owner.token) == ["NOT_FOUND"]
    assert await refused(client, REVOKE, {"id": "nonsense"}, admin.token) == ["NOT_FOUND"]
    assert await ApiKey.all().count() == 1 and (await ApiKey.get()).revoked_at is None


async def test_a_user_key_cannot_invite_and_an_admin_key_can(client, mailbox):
    org = await create_org(client)
    user_key = (await create_key(client, org, "USER"))["secret"]
    admin_key = await create_key(client, org, "ADMIN")

    body = await gql(client, INVITE, invite_vars(org), user_key)
    assert top_codes(body) == ["FORBIDDEN"]
    assert (await ok(client, ORG, {"id": org.id}, user_key))["organization"]["viewerRole"] == "USER"

    payload = await mutate(client, INVITE, invite_vars(org), admin_key["secret"])
    assert payload["invitation"]["email"] == "newcomer@example.com"
    await mailbox.wait_for("newcomer@example.com")
    # An ADMIN key is an ADMIN, not the owner: it cannot invite ADMINs.
    variables = invite_vars(org, "boss@example.com")
    variables["input"]["role"] = "ADMIN"
    assert await refused(client, INVITE, variables, admin_key["secret"]) == ["FORBIDDEN_ROLE"]

    # The audit trail names the key, not a user.
    data = await ok(
        client, EVENTS, {"id": org.id, "actions": ["invitation.created"]}, org.owner.token
    )
    (event,) = data["organization"]["auditEvents"]["nodes"]
    assert event["actor"] is None
    assert event["actorApiKey"] == {
        "id": admin_key["apiKey"]["id"],
        "name": "ADMIN key",
        "prefix": admin_key["apiKey"]["prefix"],
    }
    listed = (await ok(client, KEYS, {"id": org.id}, org.owner.token))["organization"]["apiKeys"]
    used = {k["id"]: k["lastUsedAt"] for k in listed}
    assert used[admin_key["apiKey"]["id"]] is not None


async def test_a_key_acts_in_its_own_organization_only(client):
    org = await create_org(client)
    other = await create_org(client, name="Other", owner=org.owner)  # same owner, two orgs
    secret = (await create_key(client, org, "ADMIN"))["secret"]
    assert (await ok(client, ORG, {"id": other.id}, secret))["organization"] is None
    assert (await ok(client, ORG, {"id": org.id}, secret))["organization"]["id"] == org.id
    assert await refused(client, INVITE, invite_vars(other), secret) == ["NOT_FOUND"]
    assert (await ok(client, ME, token=secret))["me"] is None
    organizations = await ok(client, "{ organizations { nodes { id } } }", token=secret)
    assert organizations["organizations"]["nodes"] == [{"id": org.id}]


async def test_revoked_and_expired_keys_are_unauthenticated(client):
    org = await create_org(client)
    revoked = await create_key(client, org, "ADMIN")
    expiring = await create_key(client, org, "ADMIN", expiresInDays=1)

    payload = await mutate(client, REVOKE, {"id": revoked["apiKey"]["id"]}, org.owner.token)
    revoked_at = payload["apiKey"]["revokedAt"]
    assert revoked_at is not None
    body = await gql(client, INVITE, invite_vars(org), revoked["secret"], status=401)
    assert top_codes(body) == ["UNAUTHENTICATED"]
    # Revoking again changes nothing and writes no second event.
    again = await mutate(client, REVOKE, {"id": revoked["apiKey"]["id"]}, org.owner.token)
    assert again["apiKey"]["revokedAt"] == revoked_at
    assert await AuditEvent.filter(action="api_key.revoked").count() == 1

    await mutate(client, INVITE, invite_vars(org, "a@example.com"), expiring["secret"])
    await ApiKey.filter(prefix=expiring["apiKey"]["prefix"]).update(
        expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    body = await gql(
        client, INVITE, invite_vars(org, "b@example.com"), expiring["secret"], status=401
    )
    assert top_codes(body) == ["UNAUTHENTICATED"]
    body = await gql(client, ORG, {"id": org.id}, expiring["secret"], status=401)
    assert top_codes(body) == ["UNAUTHENTICATED"]
