"""Bugs the GraphQL fuzzer (tests/fuzz) found, each pinned by a plain test.

1. Forged cursors: a cursor is base64 of JSON sort keys, so a client can send keys no
   column can hold (an integer past the column's range, NUL or a lone surrogate in a
   string, an instant with no UTC datetime). The driver raised and the answer was
   INTERNAL; it must be INVALID_INPUT on `after`/`before`.
2. `auditEvents(since:, until:)` with an instant that has no UTC datetime (year 1 at
   +14:00) failed in the PostgreSQL driver with INTERNAL; it must be INVALID_INPUT.
"""

from __future__ import annotations

import base64
import json

import pytest

from tests.support.api import create_org, gql, ok, top_codes
from tests.support.invitations import invite


def forge(*keys: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(keys)).encode()).decode()


MEMBERS = """
query($id: ID!, $order: MemberOrder, $after: String, $before: String) {
  organization(id: $id) {
    members(first: 10, orderBy: $order, after: $after, before: $before) {
      totalCount nodes { name } pageInfo { endCursor }
    }
  }
}"""
INVITATIONS = """
query($id: ID!, $after: String) {
  organization(id: $id) {
    invitations(first: 10, orderBy: {field: EXPIRES_AT}, after: $after) { nodes { email } }
  }
}"""
PROJECTS = """
query($id: ID!, $after: String) {
  organization(id: $id) { projects(first: 10, after: $after) { nodes { name } } }
}"""
EVENTS = """
query($id: ID!, $after: String, $since: DateTime, $until: DateTime) {
  organization(id: $id) {
    auditEvents(first: 100, after: $after, since: $since, until: $until) { totalCount }
  }
}"""
ORGANIZATIONS = """
query($after: String) { organizations(first: 10, after: $after) { nodes { name } } }"""

BEYOND_64_BITS = [2**63, -(2**63) - 1, 10**30]
BAD_TEXT = ["a\x00b", "\ud800"]
NO_UTC_INSTANT = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00"]

# (query, extra variables, forged cursor, the argument it goes to)
FORGED = [
    *[(MEMBERS, {}, forge("Ada", n), "after") for n in BEYOND_64_BITS],
    *[(MEMBERS, {}, forge(text, 1), "after") for text in BAD_TEXT],
    *[(MEMBERS, {}, forge("Ada", n), "before") for n in BEYOND_64_BITS],
    (MEMBERS, {"order": {"field": "ROLE"}}, forge(70_000, 1), "after"),
    (MEMBERS, {"order": {"field": "ROLE"}}, forge(-40_000, 1), "after"),
    *[(MEMBERS, {"order": {"field": "JOINED_AT"}}, forge(t, 1), "after") for t in NO_UTC_INSTANT],
    (MEMBERS, {"order": {"field": "EMAIL"}}, forge("a\x00@example.com", 1), "after"),
    *[(INVITATIONS, {}, forge(t, 1), "after") for t in NO_UTC_INSTANT],
    (INVITATIONS, {}, forge("2026-01-01T00:00:00+00:00", 10**30), "after"),
    (PROJECTS, {}, forge("Apollo", 10**30), "after"),
    (PROJECTS, {}, forge("a\x00", 1), "after"),
    *[(EVENTS, {}, forge(n), "after") for n in BEYOND_64_BITS],
    (ORGANIZATIONS, {}, forge("Acme", 2**63), "after"),
    (ORGANIZATIONS, {}, forge("\ud800", 1), "after"),
]


@pytest.mark.parametrize(("query", "extra", "cursor", "argument"), FORGED)
async def test_forged_cursor_is_invalid_input_not_internal(
    client, mailbox, query, extra, cursor, argument
):
    org = await create_org(client)
    variables = {"id": org.id, **extra, argument: cursor}
    body = await gql(client, query, variables, org.owner.token)
    assert top_codes(body) == ["INVALID_INPUT"], body
    assert body["errors"][0]["extensions"]["field"] == [argument]


async def test_genuine_cursors_still_page(client, mailbox):
    """The checks refuse only what no column can hold: a real endCursor continues the list."""
    org = await create_org(client)
    for n in range(3):
        await invite(client, org, f"guest{n}@example.com")
    first = await ok(client, MEMBERS, {"id": org.id}, org.owner.token)
    cursor = first["organization"]["members"]["pageInfo"]["endCursor"]
    after = await ok(client, MEMBERS, {"id": org.id, "after": cursor}, org.owner.token)
    assert first["organization"]["members"]["totalCount"] == 1
    assert after["organization"]["members"]["nodes"] == []
    before = await ok(client, MEMBERS, {"id": org.id, "before": cursor}, org.owner.token)
    assert before["organization"]["members"]["nodes"] == []
    limit = forge("9999-01-01T00:00:00+00:00", 2**63 - 1)  # the largest id a column holds
    data = await ok(client, INVITATIONS, {"id": org.id, "after": limit}, org.owner.token)
    assert len(data["organization"]["invitations"]["nodes"]) == 3


@pytest.mark.parametrize("argument", ["since", "until"])
@pytest.mark.parametrize("instant", NO_UTC_INSTANT)
async def test_audit_time_without_utc_datetime_is_invalid_input(client, mailbox, argument, instant):
    org = await create_org(client)
    body = await gql(client, EVENTS, {"id": org.id, argument: instant}, org.owner.token)
    assert top_codes(body) == ["INVALID_INPUT"], body
    assert body["errors"][0]["extensions"]["field"] == [argument]


async def test_audit_times_at_the_calendar_edges_still_filter(client, mailbox):
    org = await create_org(client)
    everything = {"since": "0001-01-01T00:00:00Z", "until": "9999-12-31T23:59:59Z"}
    data = await ok(client, EVENTS, {"id": org.id, **everything}, org.owner.token)
    assert data["organization"]["auditEvents"]["totalCount"] == 1  # organization.created
    nothing = {"since": "9999-12-31T00:00:00+05:00"}
    data = await ok(client, EVENTS, {"id": org.id, **nothing}, org.owner.token)
    assert data["organization"]["auditEvents"]["totalCount"] == 0
    naive = {"until": "9999-12-31T23:59:59"}  # no offset: read as UTC
    data = await ok(client, EVENTS, {"id": org.id, **naive}, org.owner.token)
    assert data["organization"]["auditEvents"]["totalCount"] == 1
