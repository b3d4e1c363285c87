"""Temporary access over HTTP: setMemberExpiry, updateMemberRole(until:), assignments with
expiresAt; refused from the instant (one second after), before any sweep has run; then the
sweep's rows, audit events and mail, written once.

The server runs in this process: the tests move its clock with `clock.set_offset`. The
sweeper is set to its longest interval, so it never runs during a test: what is refused
here is refused by the reads themselves.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from app import clock
from app.ids import pk_of, to_global_id
from app.models import AuditEvent, Member, OutboxMail, ProjectAssignment
from app.models.enums import MemberStatus, OrganizationRole
from app.services import expiry_sweep
from tests.support.api import add_member, create_org, gql, mutate, ok, refused, top_codes
from tests.support.clock import move_to
from tests.support.members import actions, member_pk, org_pk

MEMBER = "id role status expiresAt roleExpiresAt roleRevertsTo removedAt"
SET_EXPIRY = f"""
mutation($id: ID!, $at: DateTime) {{
  setMemberExpiry(input: {{memberId: $id, expiresAt: $at}}) {{
    errors {{ code field message }} member {{ {MEMBER} }}
  }}
}}"""
UPDATE_ROLE = f"""
mutation($id: ID!, $role: OrganizationRole!, $until: DateTime) {{
  updateMemberRole(input: {{memberId: $id, role: $role, until: $until}}) {{
    errors {{ code field message }} member {{ {MEMBER} }}
  }}
}}"""
ORG = """
query($id: ID!) { organization(id: $id) { id viewerRole } }"""
SEATS = """
query($id: ID!) { organization(id: $id) { seatsUsed } }"""
MEMBERS = f"""
query($id: ID!, $statuses: [MemberStatus!], $roles: [OrganizationRole!]) {{
  organization(id: $id) {{
    members(first: 50, statuses: $statuses, roles: $roles) {{ totalCount nodes {{ {MEMBER} }} }}
  }}
}}"""
NODE = f"query($id: ID!) {{ node(id: $id) {{ ... on Member {{ {MEMBER} }} }} }}"
MY_ORGS = "{ me { memberships { id } } organizations(first: 10) { nodes { id } } }"
CREATE_PROJECT = """
mutation($org: ID!, $name: String!) {
  createProject(input: {organizationId: $org, name: $name}) { errors { code } project { id } }
}"""
ASSIGN = """
mutation($org: ID!, $members: [ID!]!, $project: ID!, $role: ProjectRole!, $at: DateTime) {
  assignProjects(input: {organizationId: $org, memberIds: $members,
                         assignments: [{projectId: $project, role: $role}], expiresAt: $at}) {
    errors { code field message } assignments { id role expiresAt }
  }
}"""
UPDATE_ASSIGNMENT = """
mutation($id: ID!, $role: ProjectRole!, $at: DateTime) {
  updateProjectAssignment(input: {assignmentId: $id, role: $role, expiresAt: $at}) {
    errors { code field message } assignment { id role expiresAt }
  }
}"""
UPDATE_ASSIGNMENT_ROLE_ONLY = """
mutation($id: ID!, $role: ProjectRole!) {
  updateProjectAssignment(input: {assignmentId: $id, role: $role}) {
    errors { code field message } assignment { id role expiresAt }
  }
}"""
UPDATE_PROJECT = """
mutation($id: ID!, $name: String!) {
  updateProject(input: {projectId: $id, name: $name}) { errors { code } project { id name } }
}"""
PROJECT = """
query($id: ID!) { node(id: $id) { ... on Project { name assignments { id role expiresAt } } } }"""


@pytest.fixture
def settings_overrides() -> dict:
    return {"expiry_sweep_seconds": 60.0}


def later(minutes: float = 10) -> datetime:
    return clock.now() + timedelta(minutes=minutes)


def iso(instant: datetime) -> str:
    return instant.isoformat()


async def member_row(member_id: str) -> Member:
    return await Member.get(id=member_pk(member_id))


async def owner_member_id(org) -> str:
    owner = await Member.get(organization_id=org_pk(org), role=OrganizationRole.OWNER)
    return to_global_id("Member", owner.id)


# setMemberExpiry ---------------------------------------------------------------------------


async def test_set_member_expiry_sets_and_clears(client, mailbox):
    org = await create_org(client)
    _, member_id = await add_member(client, mailbox, org)
    at = later(60)
    payload = await mutate(client, SET_EXPIRY, {"id": member_id, "at": iso(at)}, org.owner.token)
    assert payload["member"]["status"] == "ACTIVE"
    assert datetime.fromisoformat(payload["member"]["expiresAt"]) == at
    assert (await member_row(member_id)).expires_at == at
    payload = await mutate(client, SET_EXPIRY, {"id": member_id, "at": None}, org.owner.token)
    assert payload["member"]["expiresAt"] is None
    assert (await member_row(member_id)).expires_at is None
    events = await AuditEvent.filter(action="member.expiry_set").order_by("id")
    assert [e.data["after"] is None for e in events] == [False, True]
    assert events[1].data["before"] == at.isoformat()
    # Omitted is null; clearing what is clear writes nothing.
    omitted = """mutation($id: ID!) { setMemberExpiry(input: {memberId: $id}) {
        errors { code } member { expiresAt } } }"""
    payload = await mutate(client, omitted, {"id": member_id}, org.owner.token)
    assert payload["member"]["expiresAt"] is None
    assert await AuditEvent.filter(action="member.expiry_set").count() == 2
    # Not a date-time: a GraphQL error, not a 500.
    body = await gql(client, SET_EXPIRY, {"id": member_id, "at": "next tuesday"}, org.owner.token)
    assert body["errors"] and body.get("data") is None


async def test_set_member_expiry_refusals_write_nothing(client, mailbox):
    org = await create_org(client)
    admin, admin_id = await add_member(client, mailbox, org, role="ADMIN", name="Ann Admin")
    _, other_admin_id = await add_member(client, mailbox, org, role="ADMIN", name="Al Admin")
    _, user_id = await add_member(client, mailbox, org)
    owner_id = await owner_member_id(org)
    before = await actions(org)
    cases = [
        (org.owner.token, user_id, clock.now() - timedelta(seconds=1), "INVALID_INPUT"),
        (org.owner.token, user_id, clock.now() + timedelta(days=5 * 365 + 2), "INVALID_INPUT"),
        # The OWNER never expires, whoever asks.
        (org.owner.token, owner_id, later(), "OWNER_PROTECTED"),
        (admin.token, owner_id, later(), "OWNER_PROTECTED"),
        (admin.token, admin_id, later(), "SELF_ACTION"),
        (admin.token, other_admin_id, later(), "FORBIDDEN_ROLE"),
    ]
    for token, target, at, code in cases:
        assert await refused(client, SET_EXPIRY, {"id": target, "at": iso(at)}, token) == [code]
    assert await actions(org) == before
    assert not await Member.filter(organization_id=org_pk(org), expires_at__not_isnull=True)


async def test_expired_member_is_refused_from_the_instant_before_any_sweep(client, mailbox):
    org = await create_org(client)
    person, member_id = await add_member(client, mailbox, org, role="ADMIN")
    at = later()
    await mutate(client, SET_EXPIRY, {"id": member_id, "at": iso(at)}, org.owner.token)
    seats = (await ok(client, SEATS, {"id": org.id}, org.owner.token))["organization"]["seatsUsed"]

    move_to(at, -1)  # a second before: everything works
    data = await ok(client, ORG, {"id": org.id}, person.token)
    assert data["organization"]["viewerRole"] == "ADMIN"
    export = await client.get(
        f"/organizations/{org.id}/members.csv", headers={"Authorization": f"Bearer {person.token}"}
    )
    assert export.status == 200

    move_to(at, 1)  # a second after: a non-member, everywhere
    assert (await ok(client, ORG, {"id": org.id}, person.token))["organization"] is None
    assert (await ok(client, MEMBERS, {"id": org.id}, person.token))["organization"] is None
    mine = await ok(client, MY_ORGS, None, person.token)
    assert mine["me"]["memberships"] == [] and mine["organizations"]["nodes"] == []
    codes = await refused(client, CREATE_PROJECT, {"org": org.id, "name": "X"}, person.token)
    assert codes == ["NOT_FOUND"]
    export = await client.get(
        f"/organizations/{org.id}/members.csv", headers={"Authorization": f"Bearer {person.token}"}
    )
    assert export.status == 404
    # The others see them REMOVED, their seat free.
    owner_view = (await ok(client, MEMBERS, {"id": org.id}, org.owner.token))["organization"]
    assert member_id not in [n["id"] for n in owner_view["members"]["nodes"]]
    removed = await ok(client, MEMBERS, {"id": org.id, "statuses": ["REMOVED"]}, org.owner.token)
    (node,) = removed["organization"]["members"]["nodes"]
    assert node["id"] == member_id and node["status"] == "REMOVED" and node["expiresAt"] is None
    assert datetime.fromisoformat(node["removedAt"]) == at
    data = await ok(client, SEATS, {"id": org.id}, org.owner.token)
    assert data["organization"]["seatsUsed"] == seats - 1
    # The owner's export reads them the same way.
    export = await client.get(
        f"/organizations/{org.id}/members.jsonl",
        headers={"Authorization": f"Bearer {org.owner.token}"},
    )
    assert export.status == 200
    records = {r["id"]: r for r in map(json.loads, (await export.text()).splitlines())}
    assert records[member_id]["status"] == "REMOVED" and records[member_id]["expiresAt"] is None
    assert datetime.fromisoformat(records[member_id]["removedAt"]) == at
    # Changing them is refused as for a removed member.
    assert await refused(
        client, UPDATE_ROLE, {"id": member_id, "role": "USER"}, org.owner.token
    ) == ["MEMBER_REMOVED"]
    # Nothing was swept: the row is as it was.
    row = await member_row(member_id)
    assert row.status == MemberStatus.ACTIVE and row.expires_at == at
    assert "member.expired" not in await actions(org)


async def test_the_sweep_removes_once_with_event_and_mail(client, mailbox):
    org = await create_org(client)
    person, member_id = await add_member(client, mailbox, org)
    project_id = (
        await mutate(client, CREATE_PROJECT, {"org": org.id, "name": "Web"}, org.owner.token)
    )["project"]["id"]
    await mutate(
        client,
        ASSIGN,
        {"org": org.id, "members": [member_id], "project": project_id, "role": "USE"},
        org.owner.token,
    )
    at = later()
    await mutate(client, SET_EXPIRY, {"id": member_id, "at": iso(at)}, org.owner.token)
    assert await expiry_sweep.sweep_once() == 0  # not due yet
    move_to(at, 1)
    assert await expiry_sweep.sweep_once() == 1
    assert await expiry_sweep.sweep_once() == 0
    row = await member_row(member_id)
    assert row.status == MemberStatus.REMOVED and row.removed_at == at and row.expires_at is None
    assert not await ProjectAssignment.filter(member_id=row.id).exists()
    (event,) = await AuditEvent.filter(action="member.expired")
    assert event.actor_user_id is None and event.target_id == row.id
    assert event.data["assignmentsDropped"] == 1 and event.data["expiresAt"] == at.isoformat()
    # The removal mail, once; no separate assignment event.
    assert await OutboxMail.filter(to_email=person.email).count() == 1
    (mail,) = await mailbox.wait_for(person.email)
    assert "Acme" in mail.text
    assert "project.assignment_expired" not in await actions(org)


# updateMemberRole(until:) --------------------------------------------------------------------


async def test_temporary_role_reads_reverted_one_second_after_until(client, mailbox):
    org = await create_org(client)
    person, member_id = await add_member(client, mailbox, org, role="USER")
    until = later()
    payload = await mutate(
        client,
        UPDATE_ROLE,
        {"id": member_id, "role": "ADMIN", "until": iso(until)},
        org.owner.token,
    )
    member = payload["member"]
    assert member["role"] == "ADMIN" and member["roleRevertsTo"] == "USER"
    assert datetime.fromisoformat(member["roleExpiresAt"]) == until
    (event,) = await AuditEvent.filter(action="member.role_changed")
    assert event.data["until"] == until.isoformat() and event.data["revertsTo"] == "USER"

    move_to(until, -1)
    assert (await ok(client, ORG, {"id": org.id}, person.token))["organization"][
        "viewerRole"
    ] == "ADMIN"
    move_to(until, 1)
    assert (await ok(client, ORG, {"id": org.id}, person.token))["organization"][
        "viewerRole"
    ] == "USER"
    node = (await ok(client, NODE, {"id": member_id}, org.owner.token))["node"]
    assert (
        node["role"] == "USER" and node["roleExpiresAt"] is None and node["roleRevertsTo"] is None
    )
    admins = await ok(client, MEMBERS, {"id": org.id, "roles": ["ADMIN"]}, org.owner.token)
    assert admins["organization"]["members"]["nodes"] == []
    users = await ok(client, MEMBERS, {"id": org.id, "roles": ["USER"]}, org.owner.token)
    assert [n["id"] for n in users["organization"]["members"]["nodes"]] == [member_id]
    # ADMIN-only paths refuse them: the export, reading emails' guard, and mutations.
    export = await client.get(
        f"/organizations/{org.id}/members.csv", headers={"Authorization": f"Bearer {person.token}"}
    )
    assert export.status == 403
    _, other_id = await add_member(client, mailbox, org, role="VIEWER", name="Vic")
    body = await gql(client, UPDATE_ROLE, {"id": other_id, "role": "USER"}, person.token)
    assert top_codes(body) == ["FORBIDDEN"]
    export = await client.get(
        f"/organizations/{org.id}/members.jsonl",
        headers={"Authorization": f"Bearer {org.owner.token}"},
    )
    records = {r["id"]: r for r in map(json.loads, (await export.text()).splitlines())}
    assert records[member_id]["role"] == "USER" and records[member_id]["roleExpiresAt"] is None
    # Not swept yet.
    assert (await member_row(member_id)).role == OrganizationRole.ADMIN

    assert await expiry_sweep.sweep_once() == 1
    row = await member_row(member_id)
    assert row.role == OrganizationRole.USER and row.role_expires_at is None
    (reverted,) = await AuditEvent.filter(action="member.role_reverted")
    assert reverted.data == {"before": "ADMIN", "after": "USER", "until": until.isoformat()}
    assert await expiry_sweep.sweep_once() == 0


async def test_role_change_without_until_clears_the_pending_revert(client, mailbox):
    org = await create_org(client)
    _, member_id = await add_member(client, mailbox, org, role="VIEWER")
    until = later()
    await mutate(
        client,
        UPDATE_ROLE,
        {"id": member_id, "role": "ADMIN", "until": iso(until)},
        org.owner.token,
    )
    # A new temporary grant keeps the lasting role underneath.
    payload = await mutate(
        client, UPDATE_ROLE, {"id": member_id, "role": "USER", "until": iso(until)}, org.owner.token
    )
    assert payload["member"]["roleRevertsTo"] == "VIEWER"
    # The same role without `until`: it becomes lasting.
    payload = await mutate(client, UPDATE_ROLE, {"id": member_id, "role": "USER"}, org.owner.token)
    member = payload["member"]
    assert member["role"] == "USER" and member["roleExpiresAt"] is None
    assert member["roleRevertsTo"] is None
    row = await member_row(member_id)
    assert row.role_expires_at is None and row.role_reverts_to is None
    last = await AuditEvent.filter(action="member.role_changed").order_by("-id").first()
    assert last is not None and last.data["clearedUntil"] == until.isoformat()
    move_to(until, 1)
    assert await expiry_sweep.sweep_once() == 0
    assert (await member_row(member_id)).role == OrganizationRole.USER


async def test_temporary_role_refusals_write_nothing(client, mailbox):
    org = await create_org(client)
    admin, _ = await add_member(client, mailbox, org, role="ADMIN", name="Ann Admin")
    _, user_id = await add_member(client, mailbox, org, role="USER")
    owner_id = await owner_member_id(org)
    before = await actions(org)
    cases = [
        (org.owner.token, user_id, "ADMIN", clock.now() - timedelta(seconds=1), "INVALID_INPUT"),
        (org.owner.token, user_id, "ADMIN", later(60 * 24 * 365 * 6), "INVALID_INPUT"),
        # A temporary role must differ from the lasting one.
        (org.owner.token, user_id, "USER", later(), "INVALID_INPUT"),
        # The role rules apply to the temporary role: only the OWNER grants ADMIN.
        (admin.token, user_id, "ADMIN", later(), "FORBIDDEN_ROLE"),
        (org.owner.token, user_id, "OWNER", later(), "ROLE_NOT_ALLOWED"),
        (admin.token, owner_id, "VIEWER", later(), "OWNER_PROTECTED"),
    ]
    for token, target, role, until, code in cases:
        variables = {"id": target, "role": role, "until": iso(until)}
        assert await refused(client, UPDATE_ROLE, variables, token) == [code], (role, code)
    assert await actions(org) == before
    assert not await Member.filter(organization_id=org_pk(org), role_expires_at__not_isnull=True)


# Project assignments -------------------------------------------------------------------------


async def test_expired_assignment_is_ignored_from_the_instant(client, mailbox):
    org = await create_org(client)
    person, member_id = await add_member(client, mailbox, org, role="USER")
    project_id = (
        await mutate(client, CREATE_PROJECT, {"org": org.id, "name": "Web"}, org.owner.token)
    )["project"]["id"]
    at = later()
    payload = await mutate(
        client,
        ASSIGN,
        {
            "org": org.id,
            "members": [member_id],
            "project": project_id,
            "role": "ADMIN",
            "at": iso(at),
        },
        org.owner.token,
    )
    (assignment,) = payload["assignments"]
    assert datetime.fromisoformat(assignment["expiresAt"]) == at
    assignment_id = assignment["id"]

    move_to(at, -1)  # the project ADMIN manages the project
    await mutate(client, UPDATE_PROJECT, {"id": project_id, "name": "Web 2"}, person.token)

    move_to(at, 1)  # then not: the project permission is gone
    codes = await refused(client, UPDATE_PROJECT, {"id": project_id, "name": "W3"}, person.token)
    assert codes == ["FORBIDDEN_ROLE"]
    project = (await ok(client, PROJECT, {"id": project_id}, org.owner.token))["node"]
    assert [a["id"] for a in project["assignments"]] != [] and assignment_id not in [
        a["id"] for a in project["assignments"]
    ]
    node = await ok(
        client, "query($id: ID!) { node(id: $id) { id } }", {"id": assignment_id}, org.owner.token
    )
    assert node["node"] is None
    codes = await refused(
        client, UPDATE_ASSIGNMENT_ROLE_ONLY, {"id": assignment_id, "role": "USE"}, org.owner.token
    )
    assert codes == ["NOT_FOUND"]
    assert await ProjectAssignment.filter(id=pk_of(assignment_id, "ProjectAssignment")).exists()

    assert await expiry_sweep.sweep_once() == 1
    assert not await ProjectAssignment.filter(id=pk_of(assignment_id, "ProjectAssignment")).exists()
    (event,) = await AuditEvent.filter(action="project.assignment_expired")
    assert event.data["expiresAt"] == at.isoformat() and event.data["role"] == "ADMIN"
    assert await expiry_sweep.sweep_once() == 0


async def test_update_project_assignment_sets_keeps_and_clears_the_end(client, mailbox):
    org = await create_org(client)
    _, member_id = await add_member(client, mailbox, org, role="USER")
    project_id = (
        await mutate(client, CREATE_PROJECT, {"org": org.id, "name": "Web"}, org.owner.token)
    )["project"]["id"]
    payload = await mutate(
        client,
        ASSIGN,
        {"org": org.id, "members": [member_id], "project": project_id, "role": "USE"},
        org.owner.token,
    )
    assignment_id = payload["assignments"][0]["id"]
    at = later()
    payload = await mutate(
        client,
        UPDATE_ASSIGNMENT,
        {"id": assignment_id, "role": "USE", "at": iso(at)},
        org.owner.token,
    )
    assert datetime.fromisoformat(payload["assignment"]["expiresAt"]) == at
    # Omitted: kept.
    payload = await mutate(
        client, UPDATE_ASSIGNMENT_ROLE_ONLY, {"id": assignment_id, "role": "ADMIN"}, org.owner.token
    )
    assert payload["assignment"]["role"] == "ADMIN"
    assert datetime.fromisoformat(payload["assignment"]["expiresAt"]) == at
    # Null: cleared.
    payload = await mutate(
        client,
        UPDATE_ASSIGNMENT,
        {"id": assignment_id, "role": "ADMIN", "at": None},
        org.owner.token,
    )
    assert payload["assignment"]["expiresAt"] is None
    kinds = await actions(org)
    assert kinds.count("project.assignment_expiry_set") == 2
    # Refused: a past instant, nothing written.
    before = await actions(org)
    past = iso(clock.now() - timedelta(minutes=1))
    codes = await refused(
        client, UPDATE_ASSIGNMENT, {"id": assignment_id, "role": "USE", "at": past}, org.owner.token
    )
    assert codes == ["INVALID_INPUT"]
    codes = await refused(
        client,
        ASSIGN,
        {"org": org.id, "members": [member_id], "project": project_id, "role": "USE", "at": past},
        org.owner.token,
    )
    assert codes == ["INVALID_INPUT"]
    assert await actions(org) == before
    row = await ProjectAssignment.get(id=pk_of(assignment_id, "ProjectAssignment"))
    assert row.role == "ADMIN" and row.expires_at is None
