"""Streamed CSV / JSONL exports of members and the audit trail."""

from __future__ import annotations

import csv
import io
import json

import pytest

from app import exports
from app.ids import pk_of, to_global_id
from app.models import AuditEvent
from tests.support.api import Org, add_member, create_org, mutate

CREATE_KEY = """
mutation($input: CreateApiKeyInput!) {
  createApiKey(input: $input) { errors { code } secret apiKey { id } }
}"""
REVOKE_KEY = """
mutation($id: ID!) { revokeApiKey(input: {apiKeyId: $id}) { errors { code } apiKey { id } } }"""


async def fetch(client, path: str, token: str | None = None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await client.get(path, headers=headers)


def rows_of(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


async def api_key(client, org: Org, role: str) -> tuple[str, str]:
    variables = {"input": {"organizationId": org.id, "name": "export", "role": role}}
    payload = await mutate(client, CREATE_KEY, variables, org.owner.token)
    return payload["secret"], payload["apiKey"]["id"]


async def test_members_csv(client, mailbox):
    org = await create_org(client)
    tricky, tricky_id = await add_member(client, mailbox, org, role="ADMIN", name='=Smith, "Jo"')
    response = await fetch(client, f"/organizations/{org.id}/members.csv", org.owner.token)
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="acme-members-') and disposition.endswith(
        '.csv"'
    )
    text = await response.text()
    assert text.splitlines()[0] == ",".join(exports.FIELDS["members"])
    rows = rows_of(text)
    assert [r["role"] for r in rows] == ["OWNER", "ADMIN"]
    owner, jo = rows
    assert owner["email"] == org.owner.email and owner["userId"] == org.owner.user_id
    assert owner["name"] == "Olive Owner" and owner["status"] == "ACTIVE"
    # Quoted correctly, and defused for spreadsheets.
    assert jo["name"] == '\'=Smith, "Jo"' and jo["id"] == tricky_id and jo["email"] == tricky.email
    assert jo["invitedById"] == owner["id"] and jo["removedAt"] == ""


async def test_members_jsonl(client, mailbox):
    org = await create_org(client)
    await add_member(client, mailbox, org, role="USER", name="Uma User")
    response = await fetch(client, f"/organizations/{org.id}/members.jsonl", org.owner.token)
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("application/jsonl")
    assert response.headers["Content-Disposition"].endswith('.jsonl"')
    records = [json.loads(line) for line in (await response.text()).splitlines()]
    assert [(r["name"], r["role"]) for r in records] == [
        ("Olive Owner", "OWNER"),
        ("Uma User", "USER"),
    ]
    assert list(records[0]) == exports.FIELDS["members"]


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
async def test_audit_events_stream_past_one_chunk(client, fmt):
    org = await create_org(client)
    other = await create_org(client, name="Other")
    total = exports.CHUNK_SIZE * 2 + 7
    await AuditEvent.bulk_create(
        [
            AuditEvent(
                organization_id=pk_of(org.id, "Organization"),
                action="test.bulk",
                target_type="Member",
                target_id=i + 1,
                data={"n": i, "note": 'a, "quoted"\nline'},
                ip="10.0.0.1",
            )
            for i in range(total)
        ]
    )
    response = await fetch(client, f"/organizations/{org.id}/audit-events.{fmt}", org.owner.token)
    assert response.status == 200
    assert response.headers.get("Transfer-Encoding") == "chunked"
    text = await response.text()
    if fmt == "csv":
        records = rows_of(text)
        data = [json.loads(r["data"]) for r in records]
    else:
        records = [json.loads(line) for line in text.splitlines()]
        data = [r["data"] for r in records]
    # Every row once, oldest first: organization.created, then the bulk in order.
    assert len(records) == total + 1
    assert len({r["id"] for r in records}) == total + 1
    assert records[0]["action"] == "organization.created"
    assert records[0]["actorId"] == org.owner.user_id
    assert [d["n"] for d in data[1:]] == list(range(total))
    assert data[1]["note"] == 'a, "quoted"\nline'
    assert records[-1]["targetId"] == to_global_id("Member", total)
    assert records[-1]["ip"] == "10.0.0.1"
    # The other organization's trail is not in it.
    other_pk = pk_of(other.id, "Organization")
    other_ids = {
        to_global_id("AuditEvent", pk)
        for pk in await AuditEvent.filter(organization_id=other_pk).values_list("id", flat=True)
    }
    assert other_ids and not other_ids & {r["id"] for r in records}


@pytest.mark.parametrize(
    "path", ["members.csv", "members.jsonl", "audit-events.csv", "audit-events.jsonl"]
)
async def test_who_may_export(client, mailbox, path):
    org = await create_org(client)
    admin, _ = await add_member(client, mailbox, org, role="ADMIN", name="Ann Admin")
    user, _ = await add_member(client, mailbox, org, role="USER", name="Uma User")
    outsider = await create_org(client, name="Other")
    url = f"/organizations/{org.id}/{path}"

    response = await fetch(client, url)
    assert response.status == 401 and response.headers["WWW-Authenticate"] == "Bearer"
    assert (await response.json())["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert (await fetch(client, url, "rs_not-a-session")).status == 401
    response = await fetch(client, url, user.token)
    assert response.status == 403
    assert (await response.json())["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await fetch(client, url, outsider.owner.token)).status == 404
    unknown = to_global_id("Organization", 999_999)
    assert (await fetch(client, f"/organizations/{unknown}/{path}", admin.token)).status == 404
    member_id = to_global_id("Member", 1)
    assert (await fetch(client, f"/organizations/{member_id}/{path}", admin.token)).status == 404
    assert (await fetch(client, f"/organizations/garbage/{path}", admin.token)).status == 404
    assert (await fetch(client, url, admin.token)).status == 200

    admin_key, admin_key_id = await api_key(client, org, "ADMIN")
    user_key, _ = await api_key(client, org, "USER")
    assert (await fetch(client, url, admin_key)).status == 200
    assert (await fetch(client, url, user_key)).status == 403
    assert (await fetch(client, f"/organizations/{outsider.id}/{path}", admin_key)).status == 404
    await mutate(client, REVOKE_KEY, {"id": admin_key_id}, org.owner.token)
    assert (await fetch(client, url, admin_key)).status == 401


async def test_unknown_export_names_are_404(client):
    org = await create_org(client)
    for path in ("members.xml", "projects.csv", "members"):
        response = await fetch(client, f"/organizations/{org.id}/{path}", org.owner.token)
        assert response.status == 404
