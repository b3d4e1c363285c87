"""Issue #12 over HTTP: contract v2 and what a viewer may reach.

Item 2: fields that need more than membership are nullable, so a FORBIDDEN nulls that
field alone. Item 3: every type with an id implements Node, every connection pages
backwards, the default page size is in the schema, DateTime is RFC 3339 (@specifiedBy).
Item 8: an invitee does not read the organization through their invitation. Item 10: a
pending invitee's account is not found through `node(id:)`.

Each test failed before the change and passes since, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp.test_utils import TestClient

from app.ids import to_global_id
from app.models import Domain
from app.schema import limits
from app.schema.scalars import RFC_3339
from tests.support.api import (
    Org,
    Person,
    add_member,
    create_org,
    gql,
    mutate,
    ok,
    sign_up_by_api,
    top_codes,
)
from tests.support.invitations import invite
from tests.support.mailbox import Mailbox
from tests.support.members import org_pk

CREATE_PROJECT = """
mutation($input: CreateProjectInput!) {
  createProject(input: $input) { errors { code } project { id name } }
}"""
ASSIGN = """
mutation($input: AssignProjectsInput!) {
  assignProjects(input: $input) { errors { code } assignments { id } }
}"""
CREATE_KEY = """
mutation($input: CreateApiKeyInput!) {
  createApiKey(input: $input) { errors { code } apiKey { id } }
}"""
TRANSFER = """
mutation($id: ID!) { transferOwnership(input: {memberId: $id}) { errors { code } transfer { id } } }"""
VERIFY = """
mutation($token: String!) { verifyEmail(input: {token: $token}) { errors { code } user { id } } }"""
NODE = """
query($id: ID!) {
  node(id: $id) {
    id
    ... on ApiKey { name role }
    ... on Domain { domain verified }
    ... on OwnershipTransfer { to { id } }
    ... on User { name email }
  }
}"""

# The fields of Organization that need OWNER or ADMIN, each with a selection.
ADMIN_FIELDS = {
    "seatsUsed": "seatsUsed",
    "invitations": "invitations { totalCount }",
    "domains": "domains { id }",
    "apiKeys": "apiKeys { id }",
    "auditEvents": "auditEvents { totalCount }",
}


async def verified(client: TestClient, mailbox: Mailbox, person: Person) -> Person:
    """The person with their email verified through the mailed link."""
    mail = await mailbox.wait_for(person.email)
    await mutate(client, VERIFY, {"token": mail[0].token})
    return person


# Item 2.


async def test_a_user_reads_the_name_while_seats_used_alone_is_forbidden(client, mailbox):
    org = await create_org(client, "Acme")
    user, _ = await add_member(client, mailbox, org, role="USER")
    body = await gql(
        client,
        "query($id: ID!) { organization(id: $id) { name seatsUsed } }",
        {"id": org.id},
        user.token,
    )
    assert body["data"] == {"organization": {"name": "Acme", "seatsUsed": None}}
    assert [(e["extensions"]["code"], e["path"]) for e in body["errors"]] == [
        ("FORBIDDEN", ["organization", "seatsUsed"])
    ]


async def test_every_admin_field_is_nulled_alone_for_a_user(client, mailbox):
    org = await create_org(client, "Acme")
    user, _ = await add_member(client, mailbox, org, role="USER")
    query = (
        "query($id: ID!) { organization(id: $id) { name " + " ".join(ADMIN_FIELDS.values()) + " } }"
    )
    body = await gql(client, query, {"id": org.id}, user.token)
    organization = body["data"]["organization"]
    assert organization == {"name": "Acme", **dict.fromkeys(ADMIN_FIELDS)}
    assert sorted((e["extensions"]["code"], tuple(e["path"])) for e in body["errors"]) == sorted(
        ("FORBIDDEN", ("organization", name)) for name in ADMIN_FIELDS
    )
    # The owner reads them all.
    data = await ok(client, query, {"id": org.id}, org.owner.token)
    assert all(data["organization"][name] is not None for name in ADMIN_FIELDS)


# Item 3.


async def test_every_type_with_an_id_implements_node(client):
    data = await ok(
        client,
        "{ __schema { types { name kind fields { name } interfaces { name } } } }",
    )
    missing = [
        kind["name"]
        for kind in data["__schema"]["types"]
        if kind["kind"] == "OBJECT"
        and not kind["name"].startswith("__")
        and any(field["name"] == "id" for field in kind["fields"] or [])
        and "Node" not in {i["name"] for i in kind["interfaces"]}
    ]
    assert missing == []
    for name in ("ApiKey", "Domain", "OwnershipTransfer"):
        found = await ok(
            client, "query($n: String!) { __type(name: $n) { interfaces { name } } }", {"n": name}
        )
        assert {"name": "Node"} in found["__type"]["interfaces"]


async def test_keys_domains_and_transfers_resolve_by_node_for_owner_and_admin_only(client, mailbox):
    org = await create_org(client, "Acme")
    admin, admin_member = await add_member(client, mailbox, org, role="ADMIN", name="Ada Admin")
    user, _ = await add_member(client, mailbox, org, role="USER")
    key = await mutate(
        client,
        CREATE_KEY,
        {"input": {"organizationId": org.id, "name": "CI", "role": "VIEWER"}},
        org.owner.token,
    )
    domain = await Domain.create(
        organization_id=org_pk(org), domain="acme.example", verification_email="it@acme.example"
    )
    transfer = await mutate(client, TRANSFER, {"id": admin_member}, org.owner.token)
    ids = {
        "ApiKey": key["apiKey"]["id"],
        "Domain": to_global_id("Domain", domain.pk),
        "OwnershipTransfer": transfer["transfer"]["id"],
    }
    expected = {
        "ApiKey": {"id": ids["ApiKey"], "name": "CI", "role": "VIEWER"},
        "Domain": {"id": ids["Domain"], "domain": "acme.example", "verified": False},
        "OwnershipTransfer": {"id": ids["OwnershipTransfer"], "to": {"id": admin_member}},
    }
    for token in (org.owner.token, admin.token):
        for name, global_id in ids.items():
            data = await ok(client, NODE, {"id": global_id}, token)
            assert data["node"] == expected[name], name
    for name, global_id in ids.items():
        data = await ok(client, NODE, {"id": global_id}, user.token)
        assert data["node"] is None, name
    # Nobody outside the organization.
    stranger = await create_org(client, "Other")
    for global_id in ids.values():
        assert (await ok(client, NODE, {"id": global_id}, stranger.owner.token))["node"] is None


def _names(connection: dict[str, Any], key: str) -> list[str]:
    return [node[key] for node in connection["nodes"]]


async def test_invitations_projects_and_audit_events_page_backwards(client, mailbox):
    org = await create_org(client, "Acme")
    for name in ("Beta", "Alpha", "Delta", "Gamma"):
        await mutate(
            client,
            CREATE_PROJECT,
            {"input": {"organizationId": org.id, "name": name}},
            org.owner.token,
        )
    for letter in "abcd":
        await invite(client, org, f"{letter}@invitee.example")
    everything = await ok(
        client,
        "query($id: ID!) { organization(id: $id) { projects(first: 100) { nodes { name } } "
        "auditEvents(first: 100) { nodes { id } } } }",
        {"id": org.id},
        org.owner.token,
    )
    all_projects = _names(everything["organization"]["projects"], "name")
    all_events = _names(everything["organization"]["auditEvents"], "id")
    assert len(all_projects) >= 4
    assert len(all_events) >= 8

    for field, arguments, key, full in (
        ("projects", "", "name", all_projects),
        (
            "invitations",
            ", orderBy: {field: EMAIL, direction: ASC}",
            "email",
            [f"{c}@invitee.example" for c in "abcd"],
        ),
        ("auditEvents", "", "id", all_events),
    ):
        query = f"""
        query($id: ID!, $last: Int, $before: String) {{
          organization(id: $id) {{
            {field}(last: $last, before: $before{arguments}) {{
              nodes {{ {key} }} pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
            }}
          }}
        }}"""
        data = await ok(client, query, {"id": org.id, "last": 2}, org.owner.token)
        page = data["organization"][field]
        assert _names(page, key) == full[-2:], field
        assert page["pageInfo"]["hasPreviousPage"] is True
        assert page["pageInfo"]["hasNextPage"] is False
        # The page before it, continuing backwards.
        cursor = page["pageInfo"]["startCursor"]
        data = await ok(client, query, {"id": org.id, "last": 2, "before": cursor}, org.owner.token)
        page = data["organization"][field]
        assert _names(page, key) == full[-4:-2], field
        assert page["pageInfo"]["hasNextPage"] is True


async def test_the_default_page_size_is_in_the_schema(client):
    data = await ok(
        client, "{ __schema { types { name fields { name args { name description } } } } }"
    )
    paging_args = [
        (kind["name"], field["name"], arg)
        for kind in data["__schema"]["types"]
        for field in kind["fields"] or []
        for arg in field["args"]
        if arg["name"] in ("first", "last")
    ]
    assert len(paging_args) >= 9
    for type_name, field_name, arg in paging_args:
        assert "20" in arg["description"], (type_name, field_name, arg)
    fields = {
        (kind["name"], field["name"]): {arg["name"] for arg in field["args"]}
        for kind in data["__schema"]["types"]
        for field in kind["fields"] or []
    }
    for field in ("members", "invitations", "projects", "auditEvents"):
        assert {"first", "after", "last", "before"} <= fields[("Organization", field)], field


RFC_3339_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


async def test_datetime_is_specified_by_rfc_3339(client):
    data = await ok(client, '{ __type(name: "DateTime") { specifiedByURL description } }')
    assert (
        data["__type"]["specifiedByURL"]
        == RFC_3339
        == ("https://datatracker.ietf.org/doc/html/rfc3339")
    )
    org = await create_org(client, "Acme")
    created = await ok(
        client,
        "query($id: ID!) { organization(id: $id) { createdAt } }",
        {"id": org.id},
        org.owner.token,
    )
    assert RFC_3339_DATE_TIME.match(created["organization"]["createdAt"])


# Item 8.

INVITER_WALK = """
{
  me {
    pendingInvitations {
      role
      organization { name }
      invitedBy { name role status projectAssignments { role project { name } } }
    }
  }
}"""
# me.pendingInvitations → projectAssignments → project → assignments → member: three
# nested lists, which the cost rule (item 4) alone refuses; `walk:` makes it another
# document for the validation cache when the test lifts the budget.
PROJECT_WALK = """
{
  %s me {
    pendingInvitations {
      projectAssignments {
        role
        project { name assignments { role member { name role status } } }
      }
    }
  }
}"""


async def _invitee_of_a_project(client: TestClient, mailbox: Mailbox) -> tuple[Org, Person, str]:
    """An organization with a project its member Mia is on, and a verified person invited
    to it with a role on that project (not a member yet)."""
    org = await create_org(client, "Acme")
    _, member_id = await add_member(client, mailbox, org, role="USER", name="Mia Member")
    project = (
        await mutate(
            client,
            CREATE_PROJECT,
            {"input": {"organizationId": org.id, "name": "Secret"}},
            org.owner.token,
        )
    )["project"]
    await mutate(
        client,
        ASSIGN,
        {
            "input": {
                "organizationId": org.id,
                "memberIds": [member_id, (await _owner_member(client, org))],
                "assignments": [{"projectId": project["id"], "role": "USE"}],
            }
        },
        org.owner.token,
    )
    invitee = await verified(client, mailbox, await sign_up_by_api(client, name="Ivy Invitee"))
    await invite(
        client,
        org,
        invitee.email,
        projectAssignments=[{"projectId": project["id"], "role": "VIEWER"}],
    )
    return org, invitee, project["id"]


async def _owner_member(client: TestClient, org: Org) -> str:
    data = await ok(
        client,
        "query($id: ID!) { organization(id: $id) { members(roles: [OWNER]) { nodes { id } } } }",
        {"id": org.id},
        org.owner.token,
    )
    return str(data["organization"]["members"]["nodes"][0]["id"])


async def test_an_invitee_does_not_read_the_inviting_member(client, mailbox):
    _, invitee, _ = await _invitee_of_a_project(client, mailbox)
    data = await ok(client, INVITER_WALK, token=invitee.token)
    (pending,) = data["me"]["pendingInvitations"]
    # What the invitation shows stays; the inviter's membership (role, status, projects)
    # is the organization's, not the invitee's (the token's preview names the inviter).
    assert pending["role"] == "USER"
    assert pending["organization"] == {"name": "Acme"}
    assert pending["invitedBy"] is None


async def test_an_invitee_does_not_read_a_projects_assignments(client, mailbox, monkeypatch):
    org, invitee, project_id = await _invitee_of_a_project(client, mailbox)
    # Past the cost rule, the resolvers show nothing below the project.
    monkeypatch.setattr(limits, "MAX_COST", 10**9)
    data = await ok(client, PROJECT_WALK % "walk:", token=invitee.token)
    (pending,) = data["walk"]["pendingInvitations"]
    (assignment,) = pending["projectAssignments"]
    assert assignment["role"] == "VIEWER"
    assert assignment["project"] == {"name": "Secret", "assignments": []}
    # And the cost rule alone refuses the walk (three nested lists).
    monkeypatch.undo()
    body = await gql(client, PROJECT_WALK % "", token=invitee.token)
    assert "data" not in body
    assert top_codes(body) == ["QUERY_TOO_COMPLEX"]

    # A member still reads the project's assignments.
    data = await ok(
        client,
        "query($id: ID!) { node(id: $id) { ... on Project { assignments { member { name } } } } }",
        {"id": project_id},
        org.owner.token,
    )
    assert {"member": {"name": "Mia Member"}} in data["node"]["assignments"]


# Item 10.


async def test_a_pending_invitees_account_stays_invisible_through_node(client, mailbox):
    org = await create_org(client, "Acme")
    admin, _ = await add_member(client, mailbox, org, role="ADMIN", name="Ada Admin")
    person = await sign_up_by_api(client, name="Paula Person")
    invitation = await invite(client, org, person.email, token=admin.token)
    # The invitation (and its address) is the admin's to read, as before.
    assert invitation["email"] == person.email

    for token in (admin.token, org.owner.token):
        data = await ok(client, NODE, {"id": person.user_id}, token)
        assert data["node"] is None

    # Once the person accepts, they share the organization: the account shows, email too.
    mail = (await mailbox.wait_for(person.email, count=2))[-1]
    await mutate(
        client,
        "mutation($token: String!) { acceptInvitation(input: {token: $token}) { errors { code } "
        "member { id } } }",
        {"token": mail.token},
        person.token,
    )
    data = await ok(client, NODE, {"id": person.user_id}, admin.token)
    assert data["node"] == {"id": person.user_id, "name": "Paula Person", "email": person.email}


async def test_unknown_and_malformed_ids_stay_null(client):
    org = await create_org(client, "Acme")
    for global_id in (to_global_id("ApiKey", 999_999), to_global_id("Domain", 1), "bm9wZQ"):
        body = await gql(client, NODE, {"id": global_id}, org.owner.token)
        assert body["data"]["node"] is None
        assert top_codes(body) == []
