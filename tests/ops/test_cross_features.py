"""Features together: SCIM changes and the expiry sweep reach a real webhook receiver on
127.0.0.1 (verified with standardwebhooks), and a team's project role ends with the
membership that carries it.

The server runs in this process with its webhook worker; the tests move its clock with
`clock.set_offset` (a minute at most while webhooks are sent, so that the signatures'
timestamps stay within standardwebhooks' tolerance). The sweeper's own interval is long:
the tests run a sweep pass themselves.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from app import clock
from app.ids import pk_of, to_global_id
from app.models import AuditEvent, Member, TeamMember, User
from app.models.enums import ProjectRole
from app.services import expiry_sweep
from tests.api.test_join_requests import APPROVE, REQUEST, ask, person_at, policy_domain
from tests.scim.support import connect, new_user
from tests.support import factories
from tests.support.api import add_member, create_org, mutate, ok
from tests.support.clock import move_to
from tests.support.members import make_team as make_people
from tests.support.members import member_pk, org_pk
from tests.support.webhooks import Receiver, body_of, make_endpoint

SET_EXPIRY = """
mutation($id: ID!, $at: DateTime) {
  setMemberExpiry(input: {memberId: $id, expiresAt: $at}) { errors { code } member { id } }
}"""
ASSIGN = """
mutation($input: AssignProjectsInput!) {
  assignProjects(input: $input) { errors { code field } assignments { id role } }
}"""
MEMBER = """
query($id: ID!) {
  node(id: $id) {
    ... on Member {
      status teams { id }
      effectiveProjectRoles { role project { id } sources { kind role team { id } } }
    }
  }
}"""


@pytest.fixture
def settings_overrides() -> dict:
    return {
        "webhook_allow_insecure": True,
        "webhook_retry_schedule": (0.2, 0.2, 0.2),
        "expiry_sweep_seconds": 3600.0,
    }


@pytest.fixture
async def receiver():
    server = await Receiver().start()
    yield server
    await server.stop()


def by_type(received: list[Any]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for got in received:
        assert got.verified, got.headers
        body = body_of(got)
        found.setdefault(body["type"], []).append(body)
    return found


async def test_scim_changes_reach_a_webhook_with_via_scim(client, receiver):
    scim = await connect(client)
    _, secret = await make_endpoint(scim.org.id, receiver.url)
    receiver.secrets.append(secret)
    before = await AuditEvent.all().count()

    created = await scim.post("/Users", new_user("ada@example.com"), status=201)
    other = await scim.post("/Users", new_user("bob@example.com"), status=201)
    group = await scim.post(
        "/Groups", {"displayName": "Engineering", "members": [{"value": created["id"]}]}, status=201
    )
    await scim.patch(
        f"/Groups/{group['id']}",
        {
            "Operations": [
                {"op": "add", "path": "members", "value": [{"value": other["id"]}]},
                {"op": "remove", "path": f'members[value eq "{created["id"]}"]'},
            ]
        },
        status=200,
    )
    await scim.patch(
        f"/Users/{created['id']}",
        {"Operations": [{"op": "replace", "value": {"active": "False"}}]},
        status=200,
    )
    await scim.delete(f"/Users/{other['id']}", status=204)

    events = list(await AuditEvent.all().order_by("id").offset(before))
    expected = [
        "member.joined",
        "member.joined",
        "team.created",
        "team.members_added",
        "team.members_added",
        "team.members_removed",
        "member.blocked",
        "member.removed",
    ]
    assert [e.action for e in events] == expected
    found = by_type(await receiver.wait_for(len(expected)))
    assert sorted(t for t, bodies in found.items() for _ in bodies) == sorted(expected)
    ids = {to_global_id("AuditEvent", e.id): e for e in events}
    for bodies in found.values():
        for body in bodies:
            event = ids[body["data"]["id"]]
            assert body["data"]["data"] == event.data and body["data"]["data"]["via"] == "scim"
            assert body["data"]["actorId"] is None and body["data"]["actorApiKeyId"] is None
            assert body["data"]["organizationId"] == scim.org.id
    (blocked,) = found["member.blocked"]
    assert blocked["data"]["targetId"] == created["id"]
    (removed,) = found["member.removed"]
    assert removed["data"]["targetId"] == other["id"]
    assert removed["data"]["data"]["assignmentsDropped"] == 0


async def test_the_sweeps_member_expired_reaches_a_webhook(client, mailbox, receiver):
    org = await create_org(client)
    _, member_id = await add_member(client, mailbox, org)
    _, secret = await make_endpoint(org.id, receiver.url, ["member.expired"])
    receiver.secrets.append(secret)
    at = clock.now() + timedelta(seconds=30)
    await mutate(client, SET_EXPIRY, {"id": member_id, "at": at.isoformat()}, org.owner.token)

    move_to(at, 1)  # within a minute of the real time: the signature's timestamp verifies
    assert await expiry_sweep.sweep_once() == 1
    assert await expiry_sweep.sweep_once() == 0  # written once
    (got,) = await receiver.wait_for(1)
    assert got.verified, got.headers
    body = body_of(got)
    event = await AuditEvent.get(action="member.expired")
    assert body["type"] == "member.expired"
    assert body["data"]["id"] == to_global_id("AuditEvent", event.id)
    assert body["data"]["targetId"] == member_id
    assert body["data"]["actorId"] is None
    assert body["data"]["data"] == event.data
    assert datetime.fromisoformat(body["data"]["data"]["expiresAt"]) == at


async def test_a_team_role_gives_project_access_that_ends_with_the_membership(client, mailbox):
    people = await make_people(client, mailbox)
    org_id = org_pk(people.org)
    project = await factories.make_project(org_id)
    project_id = to_global_id("Project", project.id)
    user_id = people.member_id("USER")
    user = await Member.get(id=member_pk(user_id))
    team = await factories.make_team(
        org_id, "Ops", members=[user], roles={project: ProjectRole.ADMIN}
    )
    at = clock.now() + timedelta(minutes=10)
    await mutate(client, SET_EXPIRY, {"id": user_id, "at": at.isoformat()}, people.token("OWNER"))
    assign = {
        "input": {
            "organizationId": people.org.id,
            "memberIds": [people.member_id("VIEWER")],
            "assignments": [{"projectId": project_id, "role": "USE"}],
        }
    }

    move_to(at, -1)  # a second before: project ADMIN through the team
    data = await ok(client, MEMBER, {"id": user_id}, people.token("OWNER"))
    (role,) = data["node"]["effectiveProjectRoles"]
    assert role["role"] == "ADMIN" and role["project"]["id"] == project_id
    assert role["sources"] == [
        {"kind": "TEAM", "role": "ADMIN", "team": {"id": to_global_id("Team", team.id)}}
    ]
    payload = (await ok(client, ASSIGN, assign, people.token("USER")))["assignProjects"]
    assert payload["errors"] == [] and payload["assignments"][0]["role"] == "USE"

    move_to(at, 1)  # a second after: no access, no effective role, before any sweep
    payload = (await ok(client, ASSIGN, assign, people.token("USER")))["assignProjects"]
    assert [e["code"] for e in payload["errors"]] == ["NOT_FOUND"]
    data = await ok(client, MEMBER, {"id": user_id}, people.token("OWNER"))
    assert data["node"]["status"] == "REMOVED" and data["node"]["effectiveProjectRoles"] == []
    assert await TeamMember.exists(team_id=team.id, member_id=user.id)  # not swept yet

    # The sweep writes it down: they leave the team, as any removed member does.
    assert await expiry_sweep.sweep_once() == 1
    assert not await TeamMember.exists(team_id=team.id, member_id=user.id)
    data = await ok(client, MEMBER, {"id": user_id}, people.token("OWNER"))
    assert data["node"]["teams"] == [] and data["node"]["effectiveProjectRoles"] == []


TEAM_MEMBERS = """
query($id: ID!) { node(id: $id) { ... on Team { members(first: 10) { totalCount nodes { id } } } } }"""
TEAM_MEMBERS_LAST = """
query($id: ID!) { node(id: $id) { ... on Team { members(last: 10) { nodes { id } } } } }"""
ADD_TEAM_MEMBERS = """
mutation($input: AddTeamMembersInput!) { addTeamMembers(input: $input) { errors { code field } } }"""


async def test_a_team_lists_and_takes_no_expired_member(client, mailbox):
    people = await make_people(client, mailbox)
    org_id = org_pk(people.org)
    user_id = people.member_id("USER")
    viewer = await Member.get(id=member_pk(people.member_id("VIEWER")))
    user = await Member.get(id=member_pk(user_id))
    team = await factories.make_team(org_id, "Ops", members=[user, viewer])
    other = await factories.make_team(org_id, "Web")
    team_id = to_global_id("Team", team.id)
    at = clock.now() + timedelta(minutes=10)
    await mutate(client, SET_EXPIRY, {"id": user_id, "at": at.isoformat()}, people.token("OWNER"))
    move_to(at, 1)
    for role in ("ADMIN", "VIEWER"):  # the first pages' statement, as each sees them
        data = await ok(client, TEAM_MEMBERS, {"id": team_id}, people.token(role))
        members = data["node"]["members"]
        assert members["totalCount"] == 1
        assert [n["id"] for n in members["nodes"]] == [people.member_id("VIEWER")]
    data = await ok(client, TEAM_MEMBERS_LAST, {"id": team_id}, people.token("ADMIN"))
    assert [n["id"] for n in data["node"]["members"]["nodes"]] == [people.member_id("VIEWER")]
    before = await AuditEvent.all().count()
    variables = {"input": {"teamId": to_global_id("Team", other.id), "memberIds": [user_id]}}
    payload = (await ok(client, ADD_TEAM_MEMBERS, variables, people.token("ADMIN")))[
        "addTeamMembers"
    ]
    assert [e["code"] for e in payload["errors"]] == ["MEMBER_REMOVED"]
    assert await AuditEvent.all().count() == before
    assert not await TeamMember.exists(team_id=other.id)


async def test_an_approved_request_after_scim_deprovisioning_makes_a_roster_member(client, mailbox):
    scim = await connect(client)
    await policy_domain(scim.org)
    person = await person_at(client)
    request = await ask(client, scim.org, person)
    created = await scim.post("/Users", new_user(person.email), status=201)
    await scim.delete(f"/Users/{created['id']}", status=204)
    payload = await mutate(client, APPROVE, {"id": request["id"]}, scim.org.owner.token)
    assert payload["member"]["id"] == created["id"] and payload["member"]["status"] == "ACTIVE"
    row = await Member.get(id=member_pk(created["id"]))
    assert row.managed_by == "ROSTER" and row.scim_connection_id is None
    assert row.external_id is None


async def test_an_expired_member_may_not_request_to_join(client, mailbox):
    org = await create_org(client)
    await policy_domain(org)
    person = await person_at(client)
    account = await User.get(id=pk_of(person.user_id, "User"))
    member = await factories.make_member(pk_of(org.id, "Organization"), account, "USER")
    member_id = to_global_id("Member", member.id)
    at = clock.now() + timedelta(minutes=10)
    await mutate(client, SET_EXPIRY, {"id": member_id, "at": at.isoformat()}, org.owner.token)
    move_to(at, 1)
    before = await AuditEvent.all().count()
    body = await ok(client, REQUEST, {"org": org.id}, person.token)
    assert [e["code"] for e in body["requestToJoin"]["errors"]] == ["JOIN_NOT_ALLOWED"]
    assert await AuditEvent.all().count() == before
