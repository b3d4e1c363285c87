"""Organizations: create, settings, delete, lookups, and what non-members can learn."""

from __future__ import annotations

import asyncio

import pytest

from app.models import AuditEvent, Member, Organization
from app.models.enums import MemberStatus
from tests.support.api import CREATE_ORG, create_org, gql, mutate, ok, refused, sign_up, top_codes
from tests.support.members import (
    DELETE_ORG,
    LEAVE,
    ORGANIZATION,
    UPDATE_ORG,
    actions,
    make_team,
    member_pk,
    org_pk,
)

ORG_DETAIL = """
query($id: ID!) {
  organization(id: $id) {
    id name slug viewerRole invitationTtlDays allowedEmailDomains seatLimit seatsUsed
    members { totalCount nodes { role status email user { id } } }
  }
}"""
ORGANIZATIONS = """
query($first: Int, $after: String) {
  organizations(first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } nodes { id name viewerRole }
  }
}"""
NODE = "query($id: ID!) { node(id: $id) { id ... on Organization { name viewerRole } } }"


async def test_creator_becomes_the_one_owner(client):
    owner = await sign_up(client, name="Olive Owner")
    payload = await mutate(
        client, CREATE_ORG, {"input": {"name": "  Acme   Widgets "}}, owner.token
    )
    org = payload["organization"]
    assert org["name"] == "Acme Widgets"
    assert org["slug"] == "acme-widgets"
    assert org["viewerRole"] == "OWNER"
    data = await ok(client, ORG_DETAIL, {"id": org["id"]}, owner.token)
    detail = data["organization"]
    assert detail["invitationTtlDays"] == 7
    assert detail["allowedEmailDomains"] == []
    assert detail["seatLimit"] is None
    assert detail["seatsUsed"] == 1
    assert detail["members"]["totalCount"] == 1
    (member,) = detail["members"]["nodes"]
    assert member == {
        "role": "OWNER",
        "status": "ACTIVE",
        "email": owner.email,
        "user": {"id": owner.user_id},
    }
    assert await actions(org["id"]) == ["organization.created"]


async def test_slug_from_the_name_is_unique(client):
    owner = await sign_up(client)
    first = await mutate(client, CREATE_ORG, {"input": {"name": "Café Zürich!"}}, owner.token)
    second = await mutate(client, CREATE_ORG, {"input": {"name": "cafe zurich"}}, owner.token)
    assert first["organization"]["slug"] == "cafe-zurich"
    slug = second["organization"]["slug"]
    assert slug.startswith("cafe-zurich-") and slug != "cafe-zurich"
    only_symbols = await mutate(client, CREATE_ORG, {"input": {"name": "日本"}}, owner.token)
    assert only_symbols["organization"]["slug"] == "org"


async def test_given_slug_is_used_and_a_taken_one_refused(client):
    owner = await sign_up(client)
    payload = await mutate(
        client, CREATE_ORG, {"input": {"name": "Acme", "slug": "Acme-HQ"}}, owner.token
    )
    assert payload["organization"]["slug"] == "acme-hq"
    other = await sign_up(client)
    variables = {"input": {"name": "Other", "slug": "acme-hq"}}
    assert await refused(client, CREATE_ORG, variables, other.token) == ["SLUG_TAKEN"]
    assert await Organization.all().count() == 1
    assert await Member.filter(user__email=other.email).count() == 0
    assert await AuditEvent.filter(action="organization.created").count() == 1


@pytest.mark.parametrize(
    ("input", "field"),
    [
        ({"name": "   "}, "name"),
        ({"name": ""}, "name"),
        ({"name": "n" * 201}, "name"),
        ({"name": "bad\u0000name"}, "name"),
        ({"name": "Acme", "slug": ""}, "slug"),
        ({"name": "Acme", "slug": "has space"}, "slug"),
        ({"name": "Acme", "slug": "-leading"}, "slug"),
        ({"name": "Acme", "slug": "double--hyphen"}, "slug"),
        ({"name": "Acme", "slug": "ümlaut"}, "slug"),
        ({"name": "Acme", "slug": "s" * 65}, "slug"),
    ],
)
async def test_bad_names_and_slugs_are_refused(client, input, field):
    owner = await sign_up(client)
    body = await ok(client, CREATE_ORG, {"input": input}, owner.token)
    payload = body["createOrganization"]
    assert payload["organization"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("INVALID_INPUT", [field])]
    assert await Organization.all().count() == 0
    assert await AuditEvent.all().count() == 0


async def test_anonymous_cannot_create(client):
    body = await gql(client, CREATE_ORG, {"input": {"name": "Acme"}})
    assert top_codes(body) == ["UNAUTHENTICATED"]
    assert await Organization.all().count() == 0


async def test_owner_and_admin_update_settings_with_an_audit_event(client, mailbox):
    team = await make_team(client, mailbox)
    variables = {
        "input": {
            "organizationId": team.org.id,
            "name": " Acme  Corp ",
            "invitationTtlDays": 30,
            "allowedEmailDomains": ["Example.COM", "example.com", "acme.io"],
            "seatLimit": 10,
        }
    }
    payload = await mutate(client, UPDATE_ORG, variables, team.token("OWNER"))
    org = payload["organization"]
    assert org["name"] == "Acme Corp"
    assert org["slug"] == "acme"  # the slug stays
    assert org["invitationTtlDays"] == 30
    assert org["allowedEmailDomains"] == ["acme.io", "example.com"]
    assert org["seatLimit"] == 10
    event = await AuditEvent.filter(action="organization.updated").get()
    assert event.data["before"]["name"] == "Acme"
    assert event.data["after"]["name"] == "Acme Corp"
    assert event.data["after"]["seat_limit"] == 10
    # An ADMIN too; absent fields stay, null seatLimit means unlimited again.
    variables = {
        "input": {"organizationId": team.org.id, "invitationTtlDays": 1, "seatLimit": None}
    }
    payload = await mutate(client, UPDATE_ORG, variables, team.token("ADMIN"))
    org = payload["organization"]
    assert (org["invitationTtlDays"], org["seatLimit"], org["name"]) == (1, None, "Acme Corp")
    assert org["allowedEmailDomains"] == ["acme.io", "example.com"]
    assert (await actions(team.org))[-2:] == ["organization.updated", "organization.updated"]
    # No change, no event.
    before = await AuditEvent.all().count()
    await mutate(client, UPDATE_ORG, variables, team.token("ADMIN"))
    assert await AuditEvent.all().count() == before


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": None}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"invitationTtlDays": 0}, "invitationTtlDays"),
        ({"invitationTtlDays": 31}, "invitationTtlDays"),
        ({"invitationTtlDays": None}, "invitationTtlDays"),
        ({"allowedEmailDomains": ["not a domain"]}, "allowedEmailDomains"),
        ({"allowedEmailDomains": ["localhost"]}, "allowedEmailDomains"),
        ({"allowedEmailDomains": [f"d{i}.com" for i in range(101)]}, "allowedEmailDomains"),
        ({"seatLimit": 0}, "seatLimit"),
        ({"seatLimit": -5}, "seatLimit"),
        ({"seatLimit": 2_000_000}, "seatLimit"),
        ({"name": "Fine", "seatLimit": 0}, "seatLimit"),
    ],
)
async def test_bad_settings_are_refused_and_nothing_changes(client, changes, field):
    org = await create_org(client, "Acme")
    variables = {"input": {"organizationId": org.id, **changes}}
    body = await ok(client, UPDATE_ORG, variables, org.owner.token)
    payload = body["updateOrganization"]
    assert payload["organization"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("INVALID_INPUT", [field])]
    stored = await Organization.get(id=org_pk(org))
    assert (stored.name, stored.invitation_ttl_days, stored.seat_limit) == ("Acme", 7, None)
    assert stored.allowed_email_domains == []
    assert await actions(org) == ["organization.created"]


@pytest.mark.parametrize("role", ["USER", "VIEWER"])
async def test_user_and_viewer_cannot_update_settings(client, mailbox, role):
    team = await make_team(client, mailbox)
    variables = {"input": {"organizationId": team.org.id, "name": "Mine now"}}
    body = await gql(client, UPDATE_ORG, variables, team.token(role))
    assert top_codes(body) == ["FORBIDDEN"]
    assert body["data"] is None or body["data"]["updateOrganization"] is None
    assert (await Organization.get(id=org_pk(team.org))).name == "Acme"
    assert "organization.updated" not in await actions(team.org)


async def test_non_member_gets_not_found_on_mutations(client):
    org = await create_org(client, "Acme")
    stranger = await sign_up(client)
    variables = {"input": {"organizationId": org.id, "name": "Mine"}}
    assert await refused(client, UPDATE_ORG, variables, stranger.token) == ["NOT_FOUND"]
    variables = {"id": org.id, "confirm": "Acme"}
    assert await refused(client, DELETE_ORG, variables, stranger.token) == ["NOT_FOUND"]
    assert await refused(client, LEAVE, {"id": org.id}, stranger.token) == ["NOT_FOUND"]
    # Same answer as for an organization that does not exist.
    variables = {"input": {"organizationId": "T3JnYW5pemF0aW9uOjk5OTk", "name": "Mine"}}
    assert await refused(client, UPDATE_ORG, variables, stranger.token) == ["NOT_FOUND"]
    variables = {"input": {"organizationId": "garbage", "name": "Mine"}}
    assert await refused(client, UPDATE_ORG, variables, stranger.token) == ["NOT_FOUND"]
    stored = await Organization.get(id=org_pk(org))
    assert stored.name == "Acme"
    assert await actions(org) == ["organization.created"]


async def test_anonymous_mutations_are_unauthenticated(client):
    org = await create_org(client, "Acme")
    body = await gql(client, UPDATE_ORG, {"input": {"organizationId": org.id, "name": "X"}})
    assert top_codes(body) == ["UNAUTHENTICATED"]
    body = await gql(client, DELETE_ORG, {"id": org.id, "confirm": "Acme"})
    assert top_codes(body) == ["UNAUTHENTICATED"]
    assert await Organization.filter(name="Acme").exists()


async def test_only_the_owner_deletes_and_only_with_the_exact_name(client, mailbox):
    team = await make_team(client, mailbox, "Acme Corp")
    for role in ("ADMIN", "USER", "VIEWER"):
        body = await gql(
            client, DELETE_ORG, {"id": team.org.id, "confirm": "Acme Corp"}, team.token(role)
        )
        assert top_codes(body) == ["FORBIDDEN"], role
    for wrong in ("acme corp", "Acme Corp ", "Acme", ""):
        variables = {"id": team.org.id, "confirm": wrong}
        assert await refused(client, DELETE_ORG, variables, team.token("OWNER")) == [
            "CONFIRMATION_MISMATCH"
        ]
    assert await Organization.filter(id=org_pk(team.org)).exists()
    assert await Member.filter(organization_id=org_pk(team.org)).count() == 4
    payload = await mutate(
        client, DELETE_ORG, {"id": team.org.id, "confirm": "Acme Corp"}, team.token("OWNER")
    )
    assert payload["ok"] is True
    assert not await Organization.filter(id=org_pk(team.org)).exists()
    assert await Member.filter(organization_id=org_pk(team.org)).count() == 0
    data = await ok(client, ORGANIZATION, {"id": team.org.id}, team.token("OWNER"))
    assert data["organization"] is None
    # The deletion itself stays on record, outside the organization's own trail.
    event = await AuditEvent.get(action="organization.deleted")
    assert event.organization_id is None
    assert event.target_id == org_pk(team.org)
    assert event.data["name"] == "Acme Corp"


async def test_organization_by_id_and_slug_for_members_only(client, mailbox):
    team = await make_team(client, mailbox)
    for role in ("OWNER", "ADMIN", "USER", "VIEWER"):
        by_id = await ok(client, ORGANIZATION, {"id": team.org.id}, team.token(role))
        by_slug = await ok(client, ORGANIZATION, {"slug": "ACME "}, team.token(role))
        assert by_id["organization"] == by_slug["organization"]
        assert by_id["organization"]["viewerRole"] == role
        node = await ok(client, NODE, {"id": team.org.id}, team.token(role))
        assert node["node"] == {"id": team.org.id, "name": "Acme", "viewerRole": role}
    stranger = await sign_up(client)
    for variables in ({"id": team.org.id}, {"slug": "acme"}):
        body = await gql(client, ORGANIZATION, variables, stranger.token)
        assert body == {"data": {"organization": None}}
        assert top_codes(await gql(client, ORGANIZATION, variables)) == ["UNAUTHENTICATED"]
    body = await gql(client, NODE, {"id": team.org.id}, stranger.token)
    assert body == {"data": {"node": None}}
    assert top_codes(await gql(client, NODE, {"id": team.org.id})) == ["UNAUTHENTICATED"]
    # Unknown, malformed or wrong-type ids and slugs: the same null.
    for variables in (
        {"id": "T3JnYW5pemF0aW9uOjk5OTk"},
        {"id": "???"},
        {"id": team.member_id("USER")},
        {"slug": "nope"},
        {"slug": "x" * 500},
        {},
    ):
        body = await gql(client, ORGANIZATION, variables, team.token("OWNER"))
        assert body == {"data": {"organization": None}}, variables


async def test_organizations_lists_only_the_viewers(client, mailbox):
    owner = await sign_up(client)
    for name in ("Gamma", "Alpha", "Beta"):
        await create_org(client, name, owner=owner)
    await create_org(client, "Elsewhere")
    data = await ok(client, ORGANIZATIONS, {"first": 2}, owner.token)
    page = data["organizations"]
    assert page["totalCount"] == 3
    assert [n["name"] for n in page["nodes"]] == ["Alpha", "Beta"]
    assert {n["viewerRole"] for n in page["nodes"]} == {"OWNER"}
    assert page["pageInfo"]["hasNextPage"] is True
    after = page["pageInfo"]["endCursor"]
    data = await ok(client, ORGANIZATIONS, {"first": 2, "after": after}, owner.token)
    assert [n["name"] for n in data["organizations"]["nodes"]] == ["Gamma"]
    assert data["organizations"]["pageInfo"]["hasNextPage"] is False
    stranger = await sign_up(client)
    data = await ok(client, ORGANIZATIONS, {}, stranger.token)
    assert data["organizations"] == {
        "totalCount": 0,
        "pageInfo": {"hasNextPage": False, "endCursor": None},
        "nodes": [],
    }
    body = await gql(client, ORGANIZATIONS, {"first": 101}, owner.token)
    assert top_codes(body) == ["INVALID_INPUT"]


@pytest.mark.parametrize("status", [MemberStatus.BLOCKED, MemberStatus.REMOVED])
async def test_blocked_and_removed_members_have_no_access(client, mailbox, status):
    team = await make_team(client, mailbox)
    await Member.filter(id=member_pk(team.member_id("ADMIN"))).update(status=status)
    token = team.token("ADMIN")
    for variables in ({"id": team.org.id}, {"slug": "acme"}):
        assert await ok(client, ORGANIZATION, variables, token) == {"organization": None}
    assert (await ok(client, NODE, {"id": team.org.id}, token)) == {"node": None}
    data = await ok(client, ORGANIZATIONS, {}, token)
    assert data["organizations"]["totalCount"] == 0
    variables = {"input": {"organizationId": team.org.id, "name": "Mine"}}
    assert await refused(client, UPDATE_ORG, variables, token) == ["NOT_FOUND"]
    assert await refused(client, LEAVE, {"id": team.org.id}, token) == ["NOT_FOUND"]
    assert (await Organization.get(id=org_pk(team.org))).name == "Acme"


async def test_racing_for_one_slug_gives_one_organization_and_one_slug_taken(client):
    first, second = await sign_up(client), await sign_up(client)
    bodies = await asyncio.gather(
        *(
            gql(client, CREATE_ORG, {"input": {"name": "Acme", "slug": "acme"}}, person.token)
            for person in (first, second)
        )
    )
    outcomes = sorted(
        [e["code"] for e in body["data"]["createOrganization"]["errors"]] for body in bodies
    )
    assert outcomes == [[], ["SLUG_TAKEN"]]
    assert await Organization.filter(slug="acme").count() == 1
    assert await Member.all().count() == 1
    assert await AuditEvent.filter(action="organization.created").count() == 1
