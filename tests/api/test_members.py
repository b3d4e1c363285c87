"""Members: listing (pages, search, filters, order), personal data, and every member mutation
with its guardrails, audit events and "nothing written" on refusal."""

from __future__ import annotations

import asyncio

import pytest

from app.models import AuditEvent, Member, Project, ProjectAssignment
from app.models.enums import MemberStatus, OrganizationRole, ProjectRole
from tests.support.api import (
    ACCEPT,
    INVITE,
    add_member,
    create_org,
    gql,
    mutate,
    ok,
    refused,
    sign_up,
    top_codes,
)
from tests.support.members import (
    BLOCK,
    LEAVE,
    MEMBERS,
    MEMBERS_DEFAULT,
    ORGANIZATION,
    REMOVE,
    REMOVE_MANY,
    SEND_RESET,
    UNBLOCK,
    UPDATE_MEMBER,
    UPDATE_ROLE,
    actions,
    gid,
    make_team,
    make_team_by_invitation,
    member_pk,
    org_pk,
    seed_members,
)

NAMES = ["Gus", "Ada", "Fay", "Cy", "Eve", "Bob", "Dee"]
SEATS = "query($id: ID!) { organization(id: $id) { seatsUsed } }"


async def page(client, token, org_id, **args):
    body = await gql(client, MEMBERS, {"id": org_id, **args}, token)
    assert "errors" not in body, body
    return body["data"]["organization"]["members"]


def names(connection) -> list[str]:
    return [edge["node"]["name"] for edge in connection["edges"]]


async def walk(client, token, org_id, size, **args) -> list[str]:
    """Every page forward with `first: size`; returns the ids in order."""
    seen, after = [], None
    while True:
        conn = await page(client, token, org_id, first=size, after=after, **args)
        seen += [edge["node"]["id"] for edge in conn["edges"]]
        if not conn["pageInfo"]["hasNextPage"]:
            return seen
        after = conn["pageInfo"]["endCursor"]


# -- listing ---------------------------------------------------------------------------


async def test_pages_forward_backward_and_by_offset(client):
    org = await create_org(client, "Acme")
    await seed_members(org, NAMES)
    token = org.owner.token
    everyone = sorted([*NAMES, "Olive Owner"])

    first = await page(client, token, org.id, first=3)
    assert first["totalCount"] == 8
    assert names(first) == everyone[:3]
    assert first["pageInfo"]["hasNextPage"] is True
    assert first["pageInfo"]["hasPreviousPage"] is False
    assert first["pageInfo"]["startCursor"] == first["edges"][0]["cursor"]
    assert first["pageInfo"]["endCursor"] == first["edges"][-1]["cursor"]
    second = await page(client, token, org.id, first=3, after=first["pageInfo"]["endCursor"])
    assert names(second) == everyone[3:6]
    assert second["pageInfo"]["hasPreviousPage"] is True
    third = await page(client, token, org.id, first=3, after=second["pageInfo"]["endCursor"])
    assert names(third) == everyone[6:]
    assert third["pageInfo"]["hasNextPage"] is False
    assert third["totalCount"] == 8

    last = await page(client, token, org.id, last=3)
    assert names(last) == everyone[-3:]
    assert last["pageInfo"]["hasPreviousPage"] is True
    before = await page(client, token, org.id, last=3, before=last["pageInfo"]["startCursor"])
    assert names(before) == everyone[2:5]
    assert before["pageInfo"]["hasNextPage"] is True
    assert before["pageInfo"]["hasPreviousPage"] is True
    rest = await page(client, token, org.id, last=3, before=before["pageInfo"]["startCursor"])
    assert names(rest) == everyone[:2]
    assert rest["pageInfo"]["hasPreviousPage"] is False

    jumped = await page(client, token, org.id, first=2, offset=3)
    assert names(jumped) == everyone[3:5]
    assert jumped["pageInfo"]["hasPreviousPage"] is True
    beyond = await page(client, token, org.id, first=2, offset=50)
    assert beyond["edges"] == [] and beyond["totalCount"] == 8
    assert names(await page(client, token, org.id, first=0)) == []


@pytest.mark.parametrize(
    "args",
    [
        {"first": 101},
        {"last": 101},
        {"first": -1},
        {"first": 2, "last": 2},
        {"offset": -1},
        {"after": "not-a-cursor"},
        {"before": "bm9wZQ"},
        {"after": "W10"},  # base64 of [] : the wrong shape
    ],
)
async def test_bad_windows_are_client_errors(client, args):
    org = await create_org(client, "Acme")
    body = await gql(client, MEMBERS, {"id": org.id, **args}, org.owner.token)
    assert top_codes(body) == ["INVALID_INPUT"], body
    assert body["data"] == {"organization": None}  # members is non-null: the null bubbles up


async def test_a_cursor_of_another_order_is_a_client_error(client):
    org = await create_org(client, "Acme")
    first = await gql(client, MEMBERS, {"id": org.id, "first": 1}, org.owner.token)
    by_name = first["data"]["organization"]["members"]["pageInfo"]["endCursor"]
    body = await gql(
        client,
        MEMBERS,
        {"id": org.id, "after": by_name, "orderBy": {"field": "ROLE", "direction": "ASC"}},
        org.owner.token,
    )
    assert top_codes(body) == ["INVALID_INPUT"], body


ORDERS = {
    "NAME": lambda m: (m.name, m.id),
    "EMAIL": lambda m: (m.email, m.id),
    "JOINED_AT": lambda m: (m.joined_at, m.id),
    "ROLE": lambda m: (m.role_rank, m.id),
}


@pytest.mark.parametrize("field", list(ORDERS))
@pytest.mark.parametrize("direction", ["ASC", "DESC"])
async def test_order_both_ways_stable_under_ties(client, field, direction):
    org = await create_org(client, "Acme")
    await seed_members(org, ["Sam", "Sam", "Sam", "Ann"], role=OrganizationRole.VIEWER)
    await seed_members(org, ["Sam", "Zoe", "Ann"], role=OrganizationRole.ADMIN)
    await seed_members(org, ["Sam", "Bea"])
    rows = await Member.filter(organization_id=org_pk(org))
    expected = [gid(m) for m in sorted(rows, key=ORDERS[field], reverse=direction == "DESC")]
    order = {"field": field, "direction": direction}
    full = await page(client, org.owner.token, org.id, first=100, orderBy=order)
    assert [edge["node"]["id"] for edge in full["edges"]] == expected
    # Paging through, ties included, loses and repeats nobody.
    assert await walk(client, org.owner.token, org.id, 2, orderBy=order) == expected
    assert await walk(client, org.owner.token, org.id, 1, orderBy=order) == expected
    # Backwards too.
    back, before = [], None
    while True:
        conn = await page(client, org.owner.token, org.id, last=3, before=before, orderBy=order)
        back = [edge["node"]["id"] for edge in conn["edges"]] + back
        if not conn["pageInfo"]["hasPreviousPage"]:
            break
        before = conn["pageInfo"]["startCursor"]
    assert back == expected


async def test_order_defaults_to_name_and_direction_to_asc(client):
    org = await create_org(client, "Acme")
    await seed_members(org, ["Zed", "Abe"])
    conn = await page(client, org.owner.token, org.id, orderBy={"field": "NAME"})
    assert names(conn) == ["Abe", "Olive Owner", "Zed"]
    assert names(await page(client, org.owner.token, org.id)) == ["Abe", "Olive Owner", "Zed"]


async def test_search_is_case_insensitive_on_name_email_username(client, mailbox):
    org = await create_org(client, "Acme")
    ada, grace, _ = await seed_members(org, ["Ada Lovelace", "Grace Hopper", "Alan Turing"])
    await Member.filter(id=grace.id).update(username="amazing_grace")
    user, _ = await add_member(client, mailbox, org, role="USER", name="Una User")
    owner = org.owner.token

    async def found(token, term):
        conn = await page(client, token, org.id, search=term)
        assert conn["totalCount"] == len(conn["edges"])
        return sorted(names(conn))

    assert await found(owner, "LOVE") == ["Ada Lovelace"]
    assert await found(owner, "  hopper ") == ["Grace Hopper"]
    assert await found(owner, "AMAZING") == ["Grace Hopper"]
    assert await found(owner, ada.email.upper()) == ["Ada Lovelace"]
    assert await found(owner, "@SEED.test") == ["Ada Lovelace", "Alan Turing", "Grace Hopper"]
    assert await found(owner, "%") == []
    assert await found(owner, "_") == ["Grace Hopper"]  # a character, not a wildcard
    assert await found(owner, "Gr_ce") == []
    assert await found(owner, "Ada%") == []
    assert await found(owner, "   ") == [
        "Ada Lovelace",
        "Alan Turing",
        "Grace Hopper",
        "Olive Owner",
        "Una User",
    ]
    # USER and VIEWER cannot search by email: the address matches nothing for them.
    assert await found(user.token, ada.email) == []
    assert await found(user.token, "seed.test") == []
    assert await found(user.token, "love") == ["Ada Lovelace"]
    assert await found(user.token, "amazing") == ["Grace Hopper"]


async def test_roles_and_statuses_filters(client, mailbox):
    team = await make_team(client, mailbox)
    await seed_members(team.org, ["Bill Blocked"], status=MemberStatus.BLOCKED)
    await seed_members(team.org, ["Rita Removed"], status=MemberStatus.REMOVED)
    await seed_members(team.org, ["Vera Viewer"], role=OrganizationRole.VIEWER)
    owner, user = team.token("OWNER"), team.token("USER")

    default = await ok(client, MEMBERS_DEFAULT, {"id": team.org.id, "first": 50}, owner)
    listed = default["organization"]["members"]
    assert listed["totalCount"] == 6
    assert {n["status"] for n in listed["nodes"]} == {"ACTIVE", "BLOCKED"}
    assert names(await page(client, owner, team.org.id, statuses=["REMOVED"])) == ["Rita Removed"]
    everyone = await page(client, owner, team.org.id, statuses=None)
    assert everyone["totalCount"] == 7
    viewers = await page(client, owner, team.org.id, roles=["VIEWER"])
    assert sorted(names(viewers)) == ["Vera Viewer", "Viewer Person"]
    both = await page(client, owner, team.org.id, roles=["OWNER", "ADMIN"])
    assert sorted(names(both)) == ["Admin Person", "Olive Owner"]
    blocked = await page(client, owner, team.org.id, statuses=["BLOCKED"], roles=["USER"])
    assert names(blocked) == ["Bill Blocked"]
    # Empty lists match nobody; null means no filter.
    assert (await page(client, owner, team.org.id, roles=[]))["totalCount"] == 0
    assert (await page(client, owner, team.org.id, statuses=[]))["totalCount"] == 0
    assert (await page(client, owner, team.org.id, roles=None))["totalCount"] == 6

    # USER and VIEWER see ACTIVE members only, whatever they ask for.
    for role in ("USER", "VIEWER"):
        token = team.token(role)
        default = await ok(client, MEMBERS_DEFAULT, {"id": team.org.id, "first": 50}, token)
        assert default["organization"]["members"]["totalCount"] == 5
        assert {n["status"] for n in default["organization"]["members"]["nodes"]} == {"ACTIVE"}
        for statuses in (["BLOCKED"], ["REMOVED"], None):
            conn = await page(client, token, team.org.id, statuses=statuses)
            assert {e["node"]["status"] for e in conn["edges"]} <= {"ACTIVE"}
            assert conn["totalCount"] == len(conn["edges"])
        assert "Bill Blocked" not in names(await page(client, user, team.org.id, search="bill"))


async def test_order_by_email_is_for_those_who_may_read_emails(client, mailbox):
    """Cursors carry the sort values: ordering by email would hand out the addresses."""
    team = await make_team(client, mailbox)
    order = {"field": "EMAIL", "direction": "ASC"}
    for role in ("USER", "VIEWER"):
        body = await gql(client, MEMBERS, {"id": team.org.id, "orderBy": order}, team.token(role))
        assert top_codes(body) == ["FORBIDDEN"]
        assert team.person("ADMIN").email not in str(body)
    conn = await page(client, team.token("ADMIN"), team.org.id, orderBy=order)
    assert conn["totalCount"] == 4


# -- personal data ------------------------------------------------------------------

EMAILS = """
query($org: ID!, $member: ID!, $user: ID!) {
  me { email memberships { email user { email } } }
  organization(id: $org) {
    members(first: 50) { nodes { id email user { id email } invitedBy { id email user { email } } } }
  }
  member: node(id: $member) { ... on Member { email user { email } invitedBy { email } } }
  user: node(id: $user) { ... on User { email } }
}"""


async def test_emails_read_as_null_except_for_self_and_admins(client, mailbox):
    team = await make_team(client, mailbox)
    admin = team.person("ADMIN")
    variables = {"org": team.org.id, "member": team.member_id("ADMIN"), "user": admin.user_id}

    for role in ("USER", "VIEWER"):
        me = team.person(role)
        data = await ok(client, EMAILS, variables, team.token(role))
        assert data["me"]["email"] == me.email
        assert data["me"]["memberships"] == [{"email": me.email, "user": {"email": me.email}}]
        for node in data["organization"]["members"]["nodes"]:
            mine = node["id"] == team.member_id(role)
            assert node["email"] == (me.email if mine else None)
            assert node["user"]["email"] == (me.email if mine else None)
            if node["invitedBy"] is not None:
                assert node["invitedBy"]["email"] is None
                assert node["invitedBy"]["user"]["email"] is None
        assert data["member"] == {
            "email": None,
            "user": {"email": None},
            "invitedBy": {"email": None},
        }
        assert data["user"] == {"email": None}

    for role in ("OWNER", "ADMIN"):
        data = await ok(client, EMAILS, variables, team.token(role))
        nodes = data["organization"]["members"]["nodes"]
        assert {n["email"] for n in nodes} == {
            team.person(r).email for r in ("OWNER", "ADMIN", "USER", "VIEWER")
        }
        assert all(n["user"]["email"] == n["email"] for n in nodes)
        invited = [n for n in nodes if n["invitedBy"]]
        assert len(invited) == 3
        assert {n["invitedBy"]["email"] for n in invited} == {team.org.owner.email}
        assert data["member"]["email"] == admin.email
        assert data["member"]["user"]["email"] == admin.email
        assert data["user"] == {"email": admin.email}

    stranger = await sign_up(client)
    data = await ok(client, EMAILS, variables, stranger.token)
    assert data["organization"] is None and data["member"] is None and data["user"] is None
    assert data["me"]["email"] == stranger.email
    body = await gql(client, EMAILS, variables)
    assert body["data"] == {"me": None, "organization": None, "member": None, "user": None}


async def test_a_pending_invitees_account_is_not_found_by_node(client, mailbox):
    """Contract v2: a pending invitee's User stays invisible until they accept (their
    address is read on the invitation instead)."""
    team = await make_team(client, mailbox)
    invitee = await sign_up(client, name="Ivy Invitee")
    await mutate(
        client,
        INVITE,
        {"input": {"organizationId": team.org.id, "email": invitee.email}},
        team.token("ADMIN"),
    )
    query = "query($id: ID!) { node(id: $id) { ... on User { name email } } }"
    data = await ok(client, query, {"id": invitee.user_id}, team.token("ADMIN"))
    assert data["node"] is None
    data = await ok(client, query, {"id": invitee.user_id}, team.token("USER"))
    assert data["node"] is None
    other = await create_org(client, "Other")
    data = await ok(client, query, {"id": invitee.user_id}, other.owner.token)
    assert data["node"] is None


# -- updateMemberRole ---------------------------------------------------------------


async def check_refused(client, query, variables, token, code, org) -> None:
    """The exact code, and no audit event written."""
    before = await actions(org)
    assert await refused(client, query, variables, token) == [code]
    assert await actions(org) == before


async def role_of(member_id: str) -> str:
    return (await Member.get(id=member_pk(member_id))).role


async def test_update_member_role_rules(client, mailbox):
    team = await make_team(client, mailbox)
    owner, admin = team.token("OWNER"), team.token("ADMIN")
    user_id, viewer_id = team.member_id("USER"), team.member_id("VIEWER")

    payload = await mutate(client, UPDATE_ROLE, {"id": viewer_id, "role": "USER"}, admin)
    assert payload["member"]["role"] == "USER"
    event = await AuditEvent.filter(action="member.role_changed").get()
    assert event.data == {"before": "VIEWER", "after": "USER"}
    assert event.target_id == member_pk(viewer_id)
    payload = await mutate(client, UPDATE_ROLE, {"id": viewer_id, "role": "VIEWER"}, admin)
    assert payload["member"]["role"] == "VIEWER"

    org = team.org
    # Admins manage USER and VIEWER only; only the owner grants or touches ADMIN.
    await check_refused(
        client, UPDATE_ROLE, {"id": user_id, "role": "ADMIN"}, admin, "FORBIDDEN_ROLE", org
    )
    await check_refused(
        client,
        UPDATE_ROLE,
        {"id": team.member_id("ADMIN"), "role": "USER"},
        admin,
        "FORBIDDEN_ROLE",
        org,
    )
    await check_refused(
        client,
        UPDATE_ROLE,
        {"id": team.member_id("OWNER"), "role": "ADMIN"},
        admin,
        "OWNER_PROTECTED",
        org,
    )
    await check_refused(
        client,
        UPDATE_ROLE,
        {"id": team.member_id("OWNER"), "role": "ADMIN"},
        owner,
        "OWNER_PROTECTED",
        org,
    )
    await check_refused(
        client, UPDATE_ROLE, {"id": user_id, "role": "OWNER"}, owner, "ROLE_NOT_ALLOWED", org
    )
    assert await role_of(user_id) == "USER"
    assert await role_of(team.member_id("OWNER")) == "OWNER"

    payload = await mutate(client, UPDATE_ROLE, {"id": user_id, "role": "ADMIN"}, owner)
    assert payload["member"]["role"] == "ADMIN"
    payload = await mutate(
        client, UPDATE_ROLE, {"id": team.member_id("ADMIN"), "role": "VIEWER"}, owner
    )
    assert payload["member"]["role"] == "VIEWER"
    # The same role again changes nothing and records nothing.
    before = await actions(org)
    await mutate(client, UPDATE_ROLE, {"id": user_id, "role": "ADMIN"}, owner)
    assert await actions(org) == before
    assert before.count("member.role_changed") == 4

    body = await gql(client, UPDATE_ROLE, {"id": viewer_id, "role": "USER"}, team.token("VIEWER"))
    assert top_codes(body) == ["FORBIDDEN"]
    assert await role_of(viewer_id) == "VIEWER"


async def test_member_mutations_on_invisible_members_are_not_found(client, mailbox):
    team = await make_team(client, mailbox)
    other = await create_org(client, "Other")
    target = team.member_id("USER")
    for query, variables in (
        (UPDATE_ROLE, {"id": target, "role": "VIEWER"}),
        (UPDATE_MEMBER, {"input": {"memberId": target, "title": "Boss"}}),
        (BLOCK, {"id": target}),
        (UNBLOCK, {"id": target}),
        (REMOVE, {"id": target}),
        (SEND_RESET, {"id": target}),
    ):
        await check_refused(client, query, variables, other.owner.token, "NOT_FOUND", team.org)
        unknown = {**variables}
        key = "input" if "input" in variables else "id"
        if key == "input":
            unknown["input"] = {**variables["input"], "memberId": "TWVtYmVyOjk5OTk5"}
        else:
            unknown["id"] = "TWVtYmVyOjk5OTk5"
        await check_refused(client, query, unknown, team.token("OWNER"), "NOT_FOUND", team.org)
    assert (await Member.get(id=member_pk(target))).status == MemberStatus.ACTIVE
    body = await gql(client, BLOCK, {"id": target})
    assert top_codes(body) == ["UNAUTHENTICATED"]


# -- updateMember --------------------------------------------------------------------


async def test_update_member_username_and_title(client, mailbox):
    team = await make_team(client, mailbox)
    owner, admin = team.token("OWNER"), team.token("ADMIN")
    user_id, viewer_id = team.member_id("USER"), team.member_id("VIEWER")
    variables = {
        "input": {"memberId": user_id, "username": "ursula", "title": "  Lead   Engineer "}
    }
    payload = await mutate(client, UPDATE_MEMBER, variables, admin)
    assert (payload["member"]["username"], payload["member"]["title"]) == (
        "ursula",
        "Lead Engineer",
    )
    event = await AuditEvent.filter(action="member.updated").get()
    assert event.data["after"] == {"username": "ursula", "title": "Lead Engineer"}
    assert event.data["before"] == {"username": None, "title": None}

    org = team.org
    taken = {"input": {"memberId": viewer_id, "username": "URSULA"}}
    await check_refused(client, UPDATE_MEMBER, taken, admin, "USERNAME_TAKEN", org)
    # Taken by a pending invitation too.
    await mutate(
        client,
        INVITE,
        {"input": {"organizationId": org.id, "email": "new@example.com", "username": "newbie"}},
        owner,
    )
    taken = {"input": {"memberId": viewer_id, "username": "Newbie"}}
    await check_refused(client, UPDATE_MEMBER, taken, admin, "USERNAME_TAKEN", org)
    for bad in ({"username": "has space"}, {"username": "u" * 65}, {"title": "t" * 201}):
        variables = {"input": {"memberId": viewer_id, **bad}}
        await check_refused(client, UPDATE_MEMBER, variables, admin, "INVALID_INPUT", org)
    stored = await Member.get(id=member_pk(viewer_id))
    assert (stored.username, stored.title) == (None, None)
    # Admins edit themselves, not the owner; only absent fields stay.
    variables = {"input": {"memberId": team.member_id("ADMIN"), "title": "Ops"}}
    assert (await mutate(client, UPDATE_MEMBER, variables, admin))["member"]["title"] == "Ops"
    variables = {"input": {"memberId": team.member_id("OWNER"), "title": "Boss"}}
    await check_refused(client, UPDATE_MEMBER, variables, admin, "FORBIDDEN_ROLE", org)
    assert (await mutate(client, UPDATE_MEMBER, variables, owner))["member"]["title"] == "Boss"
    # Blank or null clears; the freed username is usable by another member.
    variables = {"input": {"memberId": user_id, "username": None, "title": ""}}
    payload = await mutate(client, UPDATE_MEMBER, variables, owner)
    assert (payload["member"]["username"], payload["member"]["title"]) == (None, None)
    variables = {"input": {"memberId": viewer_id, "username": "ursula"}}
    assert (await mutate(client, UPDATE_MEMBER, variables, admin))["member"]["username"] == "ursula"
    body = await gql(
        client, UPDATE_MEMBER, {"input": {"memberId": user_id, "title": "X"}}, team.token("USER")
    )
    assert top_codes(body) == ["FORBIDDEN"]


# -- block / unblock -----------------------------------------------------------------


async def test_block_and_unblock(client, mailbox):
    team = await make_team(client, mailbox)
    admin, user_token = team.token("ADMIN"), team.token("USER")
    user_id = team.member_id("USER")
    seats = (await ok(client, SEATS, {"id": team.org.id}, admin))["organization"]["seatsUsed"]

    payload = await mutate(client, BLOCK, {"id": user_id}, admin)
    assert payload["member"]["status"] == "BLOCKED"
    assert payload["member"]["blockedAt"] is not None
    # No access at all, at once.
    assert await ok(client, ORGANIZATION, {"id": team.org.id}, user_token) == {"organization": None}
    assert await refused(client, LEAVE, {"id": team.org.id}, user_token) == ["NOT_FOUND"]
    # Still holds a seat; admins still see them, users do not.
    assert (await ok(client, SEATS, {"id": team.org.id}, admin))["organization"][
        "seatsUsed"
    ] == seats
    assert "User Person" in names(await page(client, admin, team.org.id))
    assert "User Person" not in names(await page(client, team.token("VIEWER"), team.org.id))
    # Blocking again is a no-op.
    await mutate(client, BLOCK, {"id": user_id}, admin)
    assert (await actions(team.org)).count("member.blocked") == 1

    payload = await mutate(client, UNBLOCK, {"id": user_id}, admin)
    assert (payload["member"]["status"], payload["member"]["blockedAt"]) == ("ACTIVE", None)
    data = await ok(client, ORGANIZATION, {"id": team.org.id}, user_token)
    assert data["organization"]["viewerRole"] == "USER"
    assert (await actions(team.org))[-2:] == ["member.blocked", "member.unblocked"]


async def test_block_guardrails(client, mailbox):
    team = await make_team(client, mailbox)
    owner, admin = team.token("OWNER"), team.token("ADMIN")
    org = team.org
    await check_refused(client, BLOCK, {"id": team.member_id("ADMIN")}, admin, "SELF_ACTION", org)
    await check_refused(
        client, BLOCK, {"id": team.member_id("OWNER")}, admin, "OWNER_PROTECTED", org
    )
    await check_refused(
        client, BLOCK, {"id": team.member_id("OWNER")}, owner, "OWNER_PROTECTED", org
    )
    # A second admin cannot be blocked by the first.
    await mutate(client, UPDATE_ROLE, {"id": team.member_id("USER"), "role": "ADMIN"}, owner)
    await check_refused(client, BLOCK, {"id": team.member_id("USER")}, admin, "FORBIDDEN_ROLE", org)
    await check_refused(
        client, UNBLOCK, {"id": team.member_id("USER")}, admin, "FORBIDDEN_ROLE", org
    )
    assert (
        await Member.filter(organization_id=org_pk(org), status=MemberStatus.BLOCKED).count() == 0
    )
    # The owner can.
    await mutate(client, BLOCK, {"id": team.member_id("USER")}, owner)
    body = await gql(client, BLOCK, {"id": team.member_id("VIEWER")}, team.token("VIEWER"))
    assert top_codes(body) == ["FORBIDDEN"]


# -- remove --------------------------------------------------------------------------


async def test_remove_ends_access_drops_assignments_and_mails_a_notice(client, mailbox):
    team = await make_team_by_invitation(client, mailbox, "Acme Corp")
    admin = team.token("ADMIN")
    user, user_id = team.person("USER"), team.member_id("USER")
    project = await Project.create(organization_id=org_pk(team.org), name="Web", slug="web")
    await ProjectAssignment.create(
        project=project, member_id=member_pk(user_id), role=ProjectRole.USE
    )
    # The session keeps working up to the removal.
    assert (await ok(client, ORGANIZATION, {"id": team.org.id}, user.token))["organization"]
    seats = (await ok(client, SEATS, {"id": team.org.id}, admin))["organization"]["seatsUsed"]

    payload = await mutate(client, REMOVE, {"id": user_id}, admin)
    assert payload["member"]["status"] == "REMOVED"
    assert payload["member"]["removedAt"] is not None
    assert await ok(client, ORGANIZATION, {"id": team.org.id}, user.token) == {"organization": None}
    assert await ok(client, ORGANIZATION, {"slug": "acme-corp"}, user.token) == {
        "organization": None
    }
    assert await refused(client, LEAVE, {"id": team.org.id}, user.token) == ["NOT_FOUND"]
    assert not await ProjectAssignment.filter(member_id=member_pk(user_id)).exists()
    assert await Project.filter(id=project.id).exists()
    assert (await ok(client, SEATS, {"id": team.org.id}, admin))["organization"][
        "seatsUsed"
    ] == seats - 1
    mail = (await mailbox.wait_for(user.email, count=3))[-1]
    assert "Acme Corp" in mail.subject
    assert "Acme Corp" in mail.text and user.name in mail.text
    event = await AuditEvent.filter(action="member.removed").get()
    assert event.target_id == member_pk(user_id)
    assert event.data["assignmentsDropped"] == 1
    removed = await page(client, admin, team.org.id, statuses=["REMOVED"])
    assert names(removed) == ["User Person"]
    assert "User Person" not in names(await page(client, admin, team.org.id))

    # Removed members cannot be modified.
    org = team.org
    for query, variables in (
        (REMOVE, {"id": user_id}),
        (BLOCK, {"id": user_id}),
        (UNBLOCK, {"id": user_id}),
        (UPDATE_ROLE, {"id": user_id, "role": "VIEWER"}),
        (UPDATE_MEMBER, {"input": {"memberId": user_id, "title": "Ghost"}}),
        (SEND_RESET, {"id": user_id}),
    ):
        await check_refused(client, query, variables, admin, "MEMBER_REMOVED", org)
    # They can be invited again.
    payload = await mutate(
        client, INVITE, {"input": {"organizationId": org.id, "email": user.email}}, admin
    )
    assert payload["invitation"]["status"] == "PENDING"


async def test_remove_guardrails(client, mailbox):
    team = await make_team(client, mailbox)
    owner, admin = team.token("OWNER"), team.token("ADMIN")
    org = team.org
    await check_refused(client, REMOVE, {"id": team.member_id("ADMIN")}, admin, "SELF_ACTION", org)
    await check_refused(
        client, REMOVE, {"id": team.member_id("OWNER")}, admin, "OWNER_PROTECTED", org
    )
    await check_refused(
        client, REMOVE, {"id": team.member_id("OWNER")}, owner, "OWNER_PROTECTED", org
    )
    await mutate(client, UPDATE_ROLE, {"id": team.member_id("VIEWER"), "role": "ADMIN"}, owner)
    await check_refused(
        client, REMOVE, {"id": team.member_id("VIEWER")}, admin, "FORBIDDEN_ROLE", org
    )
    body = await gql(client, REMOVE, {"id": team.member_id("USER")}, team.token("USER"))
    assert top_codes(body) == ["FORBIDDEN"]
    assert await Member.filter(organization_id=org_pk(org), status=MemberStatus.ACTIVE).count() == 4
    await asyncio.sleep(0.3)
    assert all("removed" not in m.subject.lower() for m in mailbox.mails)
    # The owner removes an admin.
    payload = await mutate(client, REMOVE, {"id": team.member_id("VIEWER")}, owner)
    assert payload["member"]["status"] == "REMOVED"


async def test_remove_members_each_on_its_own(client, mailbox):
    team = await make_team(client, mailbox)
    ids = [
        team.member_id("OWNER"),
        team.member_id("USER"),
        "garbage",
        team.member_id("VIEWER"),
        team.member_id("USER"),
    ]
    body = await gql(client, REMOVE_MANY, {"ids": [team.member_id("VIEWER")]}, team.token("USER"))
    assert top_codes(body) == ["FORBIDDEN"]
    payload = await mutate(client, REMOVE_MANY, {"ids": ids}, team.token("ADMIN"))
    results = payload["results"]
    assert [r["memberId"] for r in results] == ids
    assert [[e["code"] for e in r["errors"]] for r in results] == [
        ["OWNER_PROTECTED"],
        [],
        ["NOT_FOUND"],
        [],
        ["MEMBER_REMOVED"],
    ]
    assert [r["member"] and r["member"]["status"] for r in results] == [
        None,
        "REMOVED",
        None,
        "REMOVED",
        None,
    ]
    assert (await actions(team.org)).count("member.removed") == 2
    statuses = dict(
        await Member.filter(organization_id=org_pk(team.org)).values_list("name", "status")
    )
    assert statuses["Olive Owner"] == "ACTIVE" and statuses["Admin Person"] == "ACTIVE"
    # The removed viewer's own attempt finds nothing.
    late = await mutate(
        client, REMOVE_MANY, {"ids": [team.member_id("ADMIN")]}, team.token("VIEWER")
    )
    assert [e["code"] for e in late["results"][0]["errors"]] == ["NOT_FOUND"]
    assert (await actions(team.org)).count("member.removed") == 2
    too_many = {"ids": [team.member_id("USER")] * 101}
    assert await refused(client, REMOVE_MANY, too_many, team.token("OWNER")) == ["INVALID_INPUT"]


# -- leave ---------------------------------------------------------------------------


async def test_any_non_owner_may_leave(client, mailbox):
    team = await make_team(client, mailbox)
    project = await Project.create(organization_id=org_pk(team.org), name="Web", slug="web")
    admin_pk = member_pk(team.member_id("ADMIN"))
    await ProjectAssignment.create(project=project, member_id=admin_pk, role=ProjectRole.ADMIN)
    for role in ("VIEWER", "USER", "ADMIN"):
        token = team.token(role)
        assert (await mutate(client, LEAVE, {"id": team.org.id}, token))["ok"] is True
        assert await ok(client, ORGANIZATION, {"id": team.org.id}, token) == {"organization": None}
        stored = await Member.get(id=member_pk(team.member_id(role)))
        assert stored.status == MemberStatus.REMOVED
    assert (await actions(team.org))[-3:] == ["member.left"] * 3
    assert not await ProjectAssignment.filter(member_id=admin_pk).exists()
    await check_refused(
        client, LEAVE, {"id": team.org.id}, team.token("OWNER"), "OWNER_PROTECTED", team.org
    )
    data = await ok(client, ORGANIZATION, {"id": team.org.id}, team.token("OWNER"))
    assert data["organization"]["viewerRole"] == "OWNER"
    # Leaving is not being removed: no removal notice.
    await asyncio.sleep(0.3)
    assert all("removed" not in m.subject.lower() for m in mailbox.mails)


async def test_last_admin_cannot_leave(client, mailbox):
    """Reachable only with inconsistent data: the owner not active."""
    team = await make_team(client, mailbox)
    await Member.filter(id=member_pk(team.member_id("OWNER"))).update(status=MemberStatus.BLOCKED)
    await check_refused(
        client, LEAVE, {"id": team.org.id}, team.token("ADMIN"), "LAST_ADMIN", team.org
    )
    stored = await Member.get(id=member_pk(team.member_id("ADMIN")))
    assert stored.status == MemberStatus.ACTIVE
    # Users may still leave.
    assert (await mutate(client, LEAVE, {"id": team.org.id}, team.token("USER")))["ok"] is True


# -- sendPasswordReset ---------------------------------------------------------------


async def test_send_password_reset_mails_the_member(client, mailbox):
    team = await make_team_by_invitation(client, mailbox)
    user = team.person("USER")
    before = len(mailbox.to(user.email))
    payload = await mutate(client, SEND_RESET, {"id": team.member_id("USER")}, team.token("ADMIN"))
    assert payload["ok"] is True
    mail = (await mailbox.wait_for(user.email, count=before + 1))[-1]
    url, token = mail.link()
    assert url == "http://roster.test/password/reset"
    assert len(token) >= 43
    assert "member.password_reset_sent" in await actions(team.org)
    # Admins do not reach the owner (nor other admins); users not at all.
    variables = {"id": team.member_id("OWNER")}
    await check_refused(
        client, SEND_RESET, variables, team.token("ADMIN"), "FORBIDDEN_ROLE", team.org
    )
    body = await gql(client, SEND_RESET, {"id": team.member_id("VIEWER")}, team.token("USER"))
    assert top_codes(body) == ["FORBIDDEN"]
    await asyncio.sleep(0.3)
    assert len(mailbox.to(team.person("VIEWER").email)) == 2  # verification + invitation only
    assert len(mailbox.to(team.org.owner.email)) == 1  # verification only
    # The owner may send one to an admin; an admin to themself.
    await mutate(client, SEND_RESET, {"id": team.member_id("ADMIN")}, team.token("OWNER"))
    await mutate(client, SEND_RESET, {"id": team.member_id("ADMIN")}, team.token("ADMIN"))
    await mailbox.wait_for(team.person("ADMIN").email, count=4)


# -- me { memberships } --------------------------------------------------------------

MY_MEMBERSHIPS = """
{ me { memberships { role status email organization { name viewerRole } } } }
"""


async def test_me_memberships(client, mailbox):
    team = await make_team_by_invitation(client, mailbox)
    user = team.person("USER")
    other = await create_org(client, "Beta")
    await mutate(
        client,
        INVITE,
        {"input": {"organizationId": other.id, "email": user.email, "role": "VIEWER"}},
        other.owner.token,
    )
    mail = (await mailbox.wait_for(user.email, count=3))[-1]
    await mutate(client, ACCEPT, {"token": mail.token}, user.token)
    data = await ok(client, MY_MEMBERSHIPS, token=user.token)
    assert data["me"]["memberships"] == [
        {
            "role": "USER",
            "status": "ACTIVE",
            "email": user.email,
            "organization": {"name": "Acme", "viewerRole": "USER"},
        },
        {
            "role": "VIEWER",
            "status": "ACTIVE",
            "email": user.email,
            "organization": {"name": "Beta", "viewerRole": "VIEWER"},
        },
    ]
    await mutate(client, REMOVE, {"id": team.member_id("USER")}, team.token("OWNER"))
    data = await ok(client, MY_MEMBERSHIPS, token=user.token)
    assert [m["organization"]["name"] for m in data["me"]["memberships"]] == ["Beta"]
    data = await ok(client, MY_MEMBERSHIPS, token=team.org.owner.token)
    assert [m["role"] for m in data["me"]["memberships"]] == ["OWNER"]
    assert (await gql(client, MY_MEMBERSHIPS))["data"] == {"me": None}


async def test_blocked_members_are_visible_to_admins_only(client, mailbox):
    team = await make_team(client, mailbox)
    (blocked,) = await seed_members(team.org, ["Bill Blocked"], status=MemberStatus.BLOCKED)
    query = "query($id: ID!) { node(id: $id) { ... on Member { name status email } } }"
    data = await ok(client, query, {"id": gid(blocked)}, team.token("ADMIN"))
    assert data["node"] == {"name": "Bill Blocked", "status": "BLOCKED", "email": blocked.email}
    for role in ("USER", "VIEWER"):
        assert await ok(client, query, {"id": gid(blocked)}, team.token(role)) == {"node": None}
