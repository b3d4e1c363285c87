"""Projects, per-project roles and who may manage them; assignments through invitations."""

from __future__ import annotations

import pytest

from app.ids import pk_of, to_global_id
from app.models import AuditEvent, Project, ProjectAssignment
from tests.support.api import (
    Org,
    add_member,
    create_org,
    gql,
    mutate,
    ok,
    refused,
    sign_up,
    sign_up_by_api,
    top_codes,
)
from tests.support.sqlcount import count_statements

PROJECT_FIELDS = "id name slug isDefault createdAt"
CREATE = f"""
mutation($input: CreateProjectInput!) {{
  createProject(input: $input) {{
    errors {{ code field message }}
    project {{ {PROJECT_FIELDS} assignments {{ role member {{ id }} }} }}
  }}
}}"""
UPDATE = f"""
mutation($input: UpdateProjectInput!) {{
  updateProject(input: $input) {{ errors {{ code field }} project {{ {PROJECT_FIELDS} }} }}
}}"""
DELETE = """
mutation($id: ID!) { deleteProject(input: {projectId: $id}) { errors { code field } ok } }"""
ASSIGN = """
mutation($input: AssignProjectsInput!) {
  assignProjects(input: $input) {
    errors { code field message }
    assignments { id role createdAt project { id name } member { id name } }
  }
}"""
UPDATE_ASSIGNMENT = """
mutation($id: ID!, $role: ProjectRole!) {
  updateProjectAssignment(input: {assignmentId: $id, role: $role}) {
    errors { code field } assignment { id role project { id } member { id } }
  }
}"""
REMOVE_ASSIGNMENT = """
mutation($id: ID!) {
  removeProjectAssignment(input: {assignmentId: $id}) { errors { code field } ok }
}"""
PROJECTS = f"""
query($id: ID!, $first: Int, $after: String, $search: String) {{
  organization(id: $id) {{
    projects(first: $first, after: $after, search: $search) {{
      totalCount pageInfo {{ hasNextPage hasPreviousPage endCursor }}
      nodes {{ {PROJECT_FIELDS} }}
    }}
  }}
}}"""
PROJECT_TREE = """
query($id: ID!) {
  organization(id: $id) {
    projects(first: 100) {
      totalCount
      nodes { id name assignments { id role member { id name user { id name } } } }
    }
  }
}"""
NODE = """
query($id: ID!) {
  node(id: $id) {
    id
    ... on Project { name slug assignments { id role member { id } } }
    ... on ProjectAssignment { role project { id } member { id } }
  }
}"""
MEMBER_ASSIGNMENTS = """
query($id: ID!) {
  node(id: $id) { ... on Member { id projectAssignments { id role project { id name } } } }
}"""
AUDIT = """
query($id: ID!) {
  organization(id: $id) {
    auditEvents(first: 100) { totalCount nodes { action targetType targetId data } }
  }
}"""
OWNER_ID = """
query($id: ID!) { organization(id: $id) { members(roles: [OWNER]) { nodes { id } } } }"""
INVITE = """
mutation($input: InviteMemberInput!) {
  inviteMember(input: $input) {
    errors { code field }
    invitation { id projectAssignments { role project { id name } } }
  }
}"""
UPDATE_INVITATION = """
mutation($input: UpdateInvitationInput!) {
  updateInvitation(input: $input) {
    errors { code field } invitation { id projectAssignments { role project { id } } }
  }
}"""
INVITATION_NODE = """
query($id: ID!) {
  node(id: $id) { ... on Invitation { projectAssignments { role project { id } } } }
}"""
ACCEPT = """
mutation($token: String!) {
  acceptInvitation(input: {token: $token}) {
    errors { code } member { id projectAssignments { role project { id } } }
  }
}"""
BLOCK = """
mutation($id: ID!) { blockMember(input: {memberId: $id}) { errors { code } member { status } } }"""
UNBLOCK = """
mutation($id: ID!) { unblockMember(input: {memberId: $id}) { errors { code } member { status } } }"""
REMOVE_MEMBER = """
mutation($id: ID!) { removeMember(input: {memberId: $id}) { errors { code } member { status } } }"""


# Helpers ---------------------------------------------------------------------


async def create_project(client, org: Org, name: str, token: str | None = None, **fields):
    payload = await mutate(
        client,
        CREATE,
        {"input": {"organizationId": org.id, "name": name, **fields}},
        token or org.owner.token,
    )
    return payload["project"]


async def assign(client, org: Org, member_ids, assignments, token=None, dry_run=False):
    payload = await mutate(
        client,
        ASSIGN,
        {"input": _assign_input(org, member_ids, assignments, dry_run)},
        token or org.owner.token,
    )
    return payload["assignments"]


async def assign_refused(client, org: Org, member_ids, assignments, token=None, dry_run=False):
    return await refused(
        client,
        ASSIGN,
        {"input": _assign_input(org, member_ids, assignments, dry_run)},
        token or org.owner.token,
    )


def _assign_input(org: Org, member_ids, assignments, dry_run):
    return {
        "organizationId": org.id,
        "memberIds": member_ids,
        "assignments": [{"projectId": p, "role": r} for p, r in assignments],
        "dryRun": dry_run,
    }


async def audit(client, org: Org) -> list[dict]:
    data = await ok(client, AUDIT, {"id": org.id}, org.owner.token)
    return data["organization"]["auditEvents"]["nodes"]


async def actions(client, org: Org) -> list[str]:
    return [e["action"] for e in await audit(client, org)]


async def owner_member_id(client, org: Org) -> str:
    data = await ok(client, OWNER_ID, {"id": org.id}, org.owner.token)
    return data["organization"]["members"]["nodes"][0]["id"]


async def assignments_of(client, member_id: str, token: str) -> dict[str, str]:
    """project id -> role, as the member's projectAssignments read."""
    data = await ok(client, MEMBER_ASSIGNMENTS, {"id": member_id}, token)
    return {a["project"]["id"]: a["role"] for a in data["node"]["projectAssignments"]}


async def snapshot() -> tuple[int, int, int]:
    """What a refusal must leave unchanged."""
    return (
        await Project.all().count(),
        await ProjectAssignment.all().count(),
        await AuditEvent.all().count(),
    )


# Creating, reading, updating, deleting projects ---------------------------------


@pytest.mark.parametrize("role", ["ADMIN", "USER"])
async def test_members_who_may_create_projects_become_their_owner(client, mailbox, role):
    org = await create_org(client)
    person, member_id = await add_member(client, mailbox, org, role=role)
    project = await create_project(client, org, "  Web   Analytics ", person.token)
    assert project["name"] == "Web Analytics"
    assert project["slug"] == "web-analytics"
    assert project["isDefault"] is False
    assert project["assignments"] == [{"role": "OWNER", "member": {"id": member_id}}]
    events = await audit(client, org)
    assert [e["action"] for e in events[:2]] == ["project.assignment_set", "project.created"]
    assert events[1]["targetId"] == project["id"]
    assert events[1]["data"] == {
        "name": "Web Analytics",
        "slug": "web-analytics",
        "isDefault": False,
    }


async def test_owner_creates_default_project(client):
    org = await create_org(client)
    project = await create_project(client, org, "Core", isDefault=True, slug="core-team")
    assert (project["slug"], project["isDefault"]) == ("core-team", True)


async def test_viewer_may_not_create_projects(client, mailbox):
    org = await create_org(client)
    viewer, _ = await add_member(client, mailbox, org, role="VIEWER")
    before = await snapshot()
    body = await gql(
        client, CREATE, {"input": {"organizationId": org.id, "name": "X"}}, viewer.token
    )
    assert top_codes(body) == ["FORBIDDEN"]
    assert await snapshot() == before


async def test_anonymous_and_outsiders_cannot_create_projects(client):
    org = await create_org(client)
    outsider = await sign_up(client)
    variables = {"input": {"organizationId": org.id, "name": "X"}}
    assert top_codes(await gql(client, CREATE, variables)) == ["UNAUTHENTICATED"]
    assert await refused(client, CREATE, variables, outsider.token) == ["NOT_FOUND"]
    assert await Project.all().count() == 0


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"name": "   "}, "INVALID_INPUT", ["name"]),
        ({"name": "n" * 201}, "INVALID_INPUT", ["name"]),
        ({"name": "Ok", "slug": "Not A Slug!"}, "INVALID_INPUT", ["slug"]),
        ({"name": "Ok", "slug": "taken"}, "SLUG_TAKEN", ["slug"]),
    ],
)
async def test_create_project_refusals_write_nothing(client, fields, code, field):
    org = await create_org(client)
    await create_project(client, org, "First", slug="taken")
    before = await snapshot()
    data = await ok(
        client, CREATE, {"input": {"organizationId": org.id, **fields}}, org.owner.token
    )
    payload = data["createProject"]
    assert payload["project"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [(code, field)]
    assert await snapshot() == before


async def test_slugs_are_unique_within_the_organization_only(client):
    org = await create_org(client)
    other = await create_org(client, name="Other")
    first = await create_project(client, org, "Data Pipeline")
    second = await create_project(client, org, "Data Pipeline")
    assert first["slug"] == "data-pipeline"
    assert second["slug"].startswith("data-pipeline-") and second["slug"] != first["slug"]
    elsewhere = await create_project(client, other, "Data Pipeline", other.owner.token)
    assert elsewhere["slug"] == "data-pipeline"
    assert (await create_project(client, org, "日本"))["slug"] == "project"


async def test_projects_list_search_pagination_and_total_count(client, mailbox):
    org = await create_org(client)
    viewer, _ = await add_member(client, mailbox, org, role="VIEWER")
    for name in ["Alpha", "Beta", "Gamma", "Alpine", "Delta"]:
        await create_project(client, org, name)
    other = await create_org(client, name="Other")
    await create_project(client, other, "Alpha elsewhere", other.owner.token)

    data = await ok(client, PROJECTS, {"id": org.id, "first": 2}, viewer.token)
    page = data["organization"]["projects"]
    assert page["totalCount"] == 5
    assert [p["name"] for p in page["nodes"]] == ["Alpha", "Alpine"]
    assert page["pageInfo"]["hasNextPage"] is True
    names = [p["name"] for p in page["nodes"]]
    after = page["pageInfo"]["endCursor"]
    while after:
        data = await ok(client, PROJECTS, {"id": org.id, "first": 2, "after": after}, viewer.token)
        page = data["organization"]["projects"]
        names += [p["name"] for p in page["nodes"]]
        after = page["pageInfo"]["endCursor"] if page["pageInfo"]["hasNextPage"] else None
    assert names == ["Alpha", "Alpine", "Beta", "Delta", "Gamma"]

    data = await ok(client, PROJECTS, {"id": org.id, "search": " alp "}, viewer.token)
    found = data["organization"]["projects"]
    assert ([p["name"] for p in found["nodes"]], found["totalCount"]) == (["Alpha", "Alpine"], 2)

    body = await gql(client, PROJECTS, {"id": org.id, "first": 101}, viewer.token)
    assert top_codes(body) == ["INVALID_INPUT"]


async def test_project_and_assignment_nodes_are_visible_to_members_only(client, mailbox):
    org = await create_org(client)
    viewer, viewer_id = await add_member(client, mailbox, org, role="VIEWER")
    project = await create_project(client, org, "Web")
    (assignment,) = await assign(client, org, [viewer_id], [(project["id"], "VIEWER")])
    data = await ok(client, NODE, {"id": project["id"]}, viewer.token)
    assert data["node"]["name"] == "Web"
    assert {a["member"]["id"] for a in data["node"]["assignments"]} == {
        viewer_id,
        await owner_member_id(client, org),
    }
    data = await ok(client, NODE, {"id": assignment["id"]}, viewer.token)
    assert data["node"] == {
        "id": assignment["id"],
        "role": "VIEWER",
        "project": {"id": project["id"]},
        "member": {"id": viewer_id},
    }
    outsider = await sign_up(client)
    for node_id in (project["id"], assignment["id"]):
        assert (await ok(client, NODE, {"id": node_id}, outsider.token))["node"] is None
        assert top_codes(await gql(client, NODE, {"id": node_id})) == ["UNAUTHENTICATED"]


async def test_update_project_by_org_admin_and_project_admin(client, mailbox):
    org = await create_org(client)
    admin, _ = await add_member(client, mailbox, org, role="ADMIN", name="Ann Admin")
    lead, lead_id = await add_member(client, mailbox, org, role="USER", name="Lee Lead")
    project = await create_project(client, org, "Web")
    await assign(client, org, [lead_id], [(project["id"], "ADMIN")])

    payload = await mutate(
        client,
        UPDATE,
        {"input": {"projectId": project["id"], "name": "Web Apps", "isDefault": True}},
        admin.token,
    )
    assert payload["project"]["name"] == "Web Apps"
    assert payload["project"]["isDefault"] is True
    assert payload["project"]["slug"] == "web"  # the slug stays unless asked
    payload = await mutate(
        client, UPDATE, {"input": {"projectId": project["id"], "slug": "web-apps"}}, lead.token
    )
    assert payload["project"]["slug"] == "web-apps"
    events = [e for e in await audit(client, org) if e["action"] == "project.updated"]
    assert [e["data"] for e in events] == [
        {"before": {"slug": "web"}, "after": {"slug": "web-apps"}},
        {
            "before": {"name": "Web", "isDefault": False},
            "after": {"name": "Web Apps", "isDefault": True},
        },
    ]
    # An unchanged value writes nothing.
    before = await snapshot()
    await mutate(
        client,
        UPDATE,
        {"input": {"projectId": project["id"], "name": "Web Apps"}},
        org.owner.token,
    )
    assert await snapshot() == before


async def test_update_project_refusals(client, mailbox):
    org = await create_org(client)
    user, user_id = await add_member(client, mailbox, org, role="USER")
    project = await create_project(client, org, "Web")
    await create_project(client, org, "Other", slug="other")
    await assign(client, org, [user_id], [(project["id"], "USE")])
    before = await snapshot()
    cases = [
        ({"projectId": project["id"], "name": "Mine"}, user.token, "FORBIDDEN_ROLE"),
        ({"projectId": project["id"], "slug": "other"}, org.owner.token, "SLUG_TAKEN"),
        ({"projectId": project["id"], "name": None}, org.owner.token, "INVALID_INPUT"),
        ({"projectId": project["id"], "isDefault": None}, org.owner.token, "INVALID_INPUT"),
        ({"projectId": org.id, "name": "X"}, org.owner.token, "NOT_FOUND"),
    ]
    for variables, token, code in cases:
        assert await refused(client, UPDATE, {"input": variables}, token) == [code], variables
    outsider = await sign_up(client)
    assert await refused(
        client, UPDATE, {"input": {"projectId": project["id"], "name": "X"}}, outsider.token
    ) == ["NOT_FOUND"]
    assert await snapshot() == before
    data = await ok(client, NODE, {"id": project["id"]}, org.owner.token)
    assert (data["node"]["name"], data["node"]["slug"]) == ("Web", "web")


async def test_delete_project_takes_its_assignments(client, mailbox):
    org = await create_org(client)
    lead, lead_id = await add_member(client, mailbox, org, role="USER")
    project = await create_project(client, org, "Web")
    keep = await create_project(client, org, "Keep")
    await assign(client, org, [lead_id], [(project["id"], "ADMIN"), (keep["id"], "USE")])

    # A project ADMIN manages the project but does not delete it.
    before = await snapshot()
    assert await refused(client, DELETE, {"id": project["id"]}, lead.token) == ["FORBIDDEN_ROLE"]
    assert await snapshot() == before

    assert (await mutate(client, DELETE, {"id": project["id"]}, org.owner.token))["ok"] is True
    assert await assignments_of(client, lead_id, lead.token) == {keep["id"]: "USE"}
    assert not await ProjectAssignment.filter(project_id=pk_of(project["id"], "Project")).exists()
    assert (await ok(client, NODE, {"id": project["id"]}, org.owner.token))["node"] is None
    (event,) = [e for e in await audit(client, org) if e["action"] == "project.deleted"]
    assert event["data"] == {"name": "Web", "slug": "web", "assignmentsDropped": 2}
    assert await refused(client, DELETE, {"id": project["id"]}, org.owner.token) == ["NOT_FOUND"]


async def test_project_owner_who_is_an_org_user_deletes_their_project(client, mailbox):
    org = await create_org(client)
    creator, _ = await add_member(client, mailbox, org, role="USER")
    project = await create_project(client, org, "Mine", creator.token)
    assert (await mutate(client, DELETE, {"id": project["id"]}, creator.token))["ok"] is True
    assert await Project.all().count() == 0


# Assignments ----------------------------------------------------------------------


async def test_assign_many_members_to_many_projects_each_with_its_role(client, mailbox):
    org = await create_org(client)
    _, a = await add_member(client, mailbox, org, name="Amy")
    _, b = await add_member(client, mailbox, org, name="Bob")
    web = await create_project(client, org, "Web")
    data = await create_project(client, org, "Data")
    rows = await assign(client, org, [a, b], [(web["id"], "USE"), (data["id"], "VIEWER")])
    assert [(r["member"]["id"], r["project"]["id"], r["role"]) for r in rows] == [
        (a, web["id"], "USE"),
        (a, data["id"], "VIEWER"),
        (b, web["id"], "USE"),
        (b, data["id"], "VIEWER"),
    ]
    assert await assignments_of(client, a, org.owner.token) == {
        web["id"]: "USE",
        data["id"]: "VIEWER",
    }
    events = [e for e in await audit(client, org) if e["targetType"] == "ProjectAssignment"]
    # The two project OWNER assignments of the creator, then the four new ones.
    assert [e["action"] for e in events] == ["project.assignment_set"] * 6
    assert {e["targetId"] for e in events[:4]} == {r["id"] for r in rows}

    # Again with one role changed: one change, one event; unchanged pairs write nothing.
    again = await assign(client, org, [a, b], [(web["id"], "ADMIN"), (data["id"], "VIEWER")])
    assert [r["id"] for r in again] == [r["id"] for r in rows]
    assert [r["role"] for r in again] == ["ADMIN", "VIEWER", "ADMIN", "VIEWER"]
    changed = [e for e in await audit(client, org) if e["action"] == "project.assignment_changed"]
    assert [e["data"]["before"] for e in changed] == ["USE", "USE"]
    assert [e["data"]["role"] for e in changed] == ["ADMIN", "ADMIN"]
    before = await snapshot()
    await assign(client, org, [a], [(web["id"], "ADMIN")])
    assert await snapshot() == before


async def test_dry_run_returns_what_would_be_set_and_writes_nothing(client, mailbox):
    org = await create_org(client)
    _, a = await add_member(client, mailbox, org, name="Amy")
    _, b = await add_member(client, mailbox, org, name="Bob")
    web = await create_project(client, org, "Web")
    (existing,) = await assign(client, org, [a], [(web["id"], "VIEWER")])
    before = await snapshot()

    rows = await assign(client, org, [a, b], [(web["id"], "USE")], dry_run=True)
    assert [(r["member"]["name"], r["project"]["name"], r["role"]) for r in rows] == [
        ("Amy", "Web", "USE"),
        ("Bob", "Web", "USE"),
    ]
    assert rows[0]["id"] == existing["id"]  # an existing pair keeps its id
    assert (await ok(client, NODE, {"id": rows[1]["id"]}, org.owner.token))["node"] is None
    assert await snapshot() == before
    assert await assignments_of(client, a, org.owner.token) == {web["id"]: "VIEWER"}
    assert await assignments_of(client, b, org.owner.token) == {}

    # A dry run refuses exactly what the real call refuses.
    _, c = await add_member(client, mailbox, org, name="Cid")
    await mutate(client, BLOCK, {"id": c}, org.owner.token)
    before = await snapshot()
    for dry_run in (True, False):
        codes = await assign_refused(client, org, [a, c], [(web["id"], "USE")], dry_run=dry_run)
        assert codes == ["MEMBER_INACTIVE"]
    assert await snapshot() == before

    # And the real call then sets exactly what the dry run announced.
    real = await assign(client, org, [a, b], [(web["id"], "USE")])
    assert [(r["member"]["name"], r["role"]) for r in real] == [("Amy", "USE"), ("Bob", "USE")]


async def test_project_admin_manages_their_project_up_to_admin(client, mailbox):
    org = await create_org(client)
    lead, lead_id = await add_member(client, mailbox, org, role="USER", name="Lee")
    _, dev = await add_member(client, mailbox, org, role="USER", name="Dev")
    _, boss = await add_member(client, mailbox, org, role="USER", name="Boss")
    web = await create_project(client, org, "Web")
    other = await create_project(client, org, "Other")
    await assign(client, org, [lead_id], [(web["id"], "ADMIN")])
    await assign(client, org, [boss], [(web["id"], "OWNER")])

    (row,) = await assign(client, org, [dev], [(web["id"], "ADMIN")], lead.token)
    assert row["role"] == "ADMIN"
    payload = await mutate(client, UPDATE_ASSIGNMENT, {"id": row["id"], "role": "USE"}, lead.token)
    assert payload["assignment"]["role"] == "USE"

    before = await snapshot()
    # Not above their own role, and never the project OWNER role.
    assert await assign_refused(client, org, [dev], [(web["id"], "OWNER")], lead.token) == [
        "FORBIDDEN_ROLE"
    ]
    assert await refused(
        client, UPDATE_ASSIGNMENT, {"id": row["id"], "role": "OWNER"}, lead.token
    ) == ["FORBIDDEN_ROLE"]
    # Nor change or remove the project OWNER.
    owner_row = await ProjectAssignment.get(
        project_id=pk_of(web["id"], "Project"), member_id=pk_of(boss, "Member")
    )
    owner_row_id = to_global_id("ProjectAssignment", owner_row.id)
    assert await assign_refused(client, org, [boss], [(web["id"], "USE")], lead.token) == [
        "FORBIDDEN_ROLE"
    ]
    assert await refused(
        client, UPDATE_ASSIGNMENT, {"id": owner_row_id, "role": "USE"}, lead.token
    ) == ["FORBIDDEN_ROLE"]
    assert await refused(client, REMOVE_ASSIGNMENT, {"id": owner_row_id}, lead.token) == [
        "FORBIDDEN_ROLE"
    ]
    # Nor any other project.
    assert await assign_refused(client, org, [dev], [(other["id"], "USE")], lead.token) == [
        "FORBIDDEN_ROLE"
    ]
    # Nor grant themselves more.
    assert await assign_refused(client, org, [lead_id], [(web["id"], "OWNER")], lead.token) == [
        "FORBIDDEN_ROLE"
    ]
    assert await snapshot() == before

    # They may remove what they may grant.
    assert (await mutate(client, REMOVE_ASSIGNMENT, {"id": row["id"]}, lead.token))["ok"]
    assert await assignments_of(client, dev, org.owner.token) == {}


async def test_project_owner_grants_owner(client, mailbox):
    org = await create_org(client)
    creator, _ = await add_member(client, mailbox, org, role="USER")
    _, other = await add_member(client, mailbox, org, role="VIEWER")
    project = await create_project(client, org, "Mine", creator.token)
    (row,) = await assign(client, org, [other], [(project["id"], "OWNER")], creator.token)
    assert row["role"] == "OWNER"


@pytest.mark.parametrize("project_role", [None, "USE", "VIEWER"])
async def test_members_without_a_manager_role_cannot_assign(client, mailbox, project_role):
    org = await create_org(client)
    user, user_id = await add_member(client, mailbox, org, role="USER")
    _, dev = await add_member(client, mailbox, org, role="VIEWER")
    web = await create_project(client, org, "Web")
    if project_role:
        await assign(client, org, [user_id], [(web["id"], project_role)])
    (row,) = await assign(client, org, [dev], [(web["id"], "VIEWER")])
    before = await snapshot()
    assert await assign_refused(client, org, [dev], [(web["id"], "VIEWER")], user.token) == [
        "FORBIDDEN_ROLE"
    ]
    assert await refused(
        client, UPDATE_ASSIGNMENT, {"id": row["id"], "role": "USE"}, user.token
    ) == ["FORBIDDEN_ROLE"]
    assert await refused(client, REMOVE_ASSIGNMENT, {"id": row["id"]}, user.token) == [
        "FORBIDDEN_ROLE"
    ]
    assert await snapshot() == before


async def test_org_admin_manages_every_project(client, mailbox):
    org = await create_org(client)
    admin, _ = await add_member(client, mailbox, org, role="ADMIN")
    _, dev = await add_member(client, mailbox, org)
    web = await create_project(client, org, "Web")
    (row,) = await assign(client, org, [dev], [(web["id"], "OWNER")], admin.token)
    payload = await mutate(
        client, UPDATE_ASSIGNMENT, {"id": row["id"], "role": "VIEWER"}, admin.token
    )
    assert payload["assignment"] == {
        "id": row["id"],
        "role": "VIEWER",
        "project": {"id": web["id"]},
        "member": {"id": dev},
    }
    assert (await mutate(client, REMOVE_ASSIGNMENT, {"id": row["id"]}, admin.token))["ok"]
    events = await audit(client, org)
    assert [e["action"] for e in events[:3]] == [
        "project.assignment_removed",
        "project.assignment_changed",
        "project.assignment_set",
    ]
    assert events[0]["data"] == {
        "projectId": web["id"],
        "memberId": dev,
        "role": "VIEWER",
    }
    assert events[1]["data"]["before"] == "OWNER"
    assert await refused(client, REMOVE_ASSIGNMENT, {"id": row["id"]}, admin.token) == ["NOT_FOUND"]


async def test_assign_refuses_inactive_foreign_and_unknown_members_and_projects(client, mailbox):
    org = await create_org(client)
    other = await create_org(client, name="Other")
    _, good = await add_member(client, mailbox, org, name="Good")
    _, blocked = await add_member(client, mailbox, org, name="Blocked")
    _, removed = await add_member(client, mailbox, org, name="Removed")
    _, foreign = await add_member(client, mailbox, other, name="Foreign")
    await mutate(client, BLOCK, {"id": blocked}, org.owner.token)
    await mutate(client, REMOVE_MEMBER, {"id": removed}, org.owner.token)
    web = await create_project(client, org, "Web")
    theirs = await create_project(client, other, "Theirs", other.owner.token)
    before = await snapshot()

    cases = [
        ([good, blocked], [(web["id"], "USE")], "MEMBER_INACTIVE", ["memberIds", "1"]),
        ([removed], [(web["id"], "USE")], "MEMBER_REMOVED", ["memberIds", "0"]),
        ([good, foreign], [(web["id"], "USE")], "NOT_FOUND", ["memberIds", "1"]),
        (["bogus"], [(web["id"], "USE")], "NOT_FOUND", ["memberIds", "0"]),
        ([good], [(web["id"], "USE"), (theirs["id"], "USE")], "NOT_FOUND",
         ["assignments", "1", "projectId"]),
        ([good], [(good, "USE")], "NOT_FOUND", ["assignments", "0", "projectId"]),
        ([good], [(web["id"], "USE"), (web["id"], "VIEWER")], "INVALID_INPUT",
         ["assignments", "1", "projectId"]),
        ([], [(web["id"], "USE")], "INVALID_INPUT", ["memberIds"]),
        ([good], [], "INVALID_INPUT", ["assignments"]),
        ([good] * 101, [(web["id"], "USE")], "INVALID_INPUT", ["memberIds"]),
    ]  # fmt: skip
    for member_ids, items, code, field in cases:
        data = await ok(
            client,
            ASSIGN,
            {"input": _assign_input(org, member_ids, items, False)},
            org.owner.token,
        )
        payload = data["assignProjects"]
        assert payload["assignments"] is None
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [(code, field)], field
    assert await snapshot() == before

    # Outsiders learn nothing about the organization.
    outsider = await sign_up(client)
    assert await assign_refused(client, org, [good], [(web["id"], "USE")], outsider.token) == [
        "NOT_FOUND"
    ]
    body = await gql(client, ASSIGN, {"input": _assign_input(org, [good], [], False)})
    assert top_codes(body) == ["UNAUTHENTICATED"]


async def test_blocked_members_assignments_stay_inert_and_hidden_from_users(client, mailbox):
    org = await create_org(client)
    user, _ = await add_member(client, mailbox, org, name="Una")
    _, dev = await add_member(client, mailbox, org, name="Dev")
    web = await create_project(client, org, "Web")
    (row,) = await assign(client, org, [dev], [(web["id"], "USE")])
    await mutate(client, BLOCK, {"id": dev}, org.owner.token)

    def members_of(data):
        return {a["member"]["id"] for a in data["node"]["assignments"]}

    assert dev in members_of(await ok(client, NODE, {"id": web["id"]}, org.owner.token))
    assert dev not in members_of(await ok(client, NODE, {"id": web["id"]}, user.token))
    # It cannot be changed while blocked, but it can be cleaned up.
    assert await refused(
        client, UPDATE_ASSIGNMENT, {"id": row["id"], "role": "ADMIN"}, org.owner.token
    ) == ["MEMBER_INACTIVE"]
    await mutate(client, UNBLOCK, {"id": dev}, org.owner.token)
    assert await assignments_of(client, dev, org.owner.token) == {web["id"]: "USE"}
    assert dev in members_of(await ok(client, NODE, {"id": web["id"]}, user.token))


async def test_removing_a_member_drops_their_assignments(client, mailbox):
    org = await create_org(client)
    _, dev = await add_member(client, mailbox, org)
    web = await create_project(client, org, "Web")
    data = await create_project(client, org, "Data")
    await assign(client, org, [dev], [(web["id"], "USE"), (data["id"], "ADMIN")])
    await mutate(client, REMOVE_MEMBER, {"id": dev}, org.owner.token)
    assert not await ProjectAssignment.filter(member_id=pk_of(dev, "Member")).exists()
    tree = await ok(client, PROJECT_TREE, {"id": org.id}, org.owner.token)
    for project in tree["organization"]["projects"]["nodes"]:
        assert dev not in {a["member"]["id"] for a in project["assignments"]}
    (event,) = [e for e in await audit(client, org) if e["action"] == "member.removed"]
    assert event["data"]["assignmentsDropped"] == 2


# Invitations carry project assignments -------------------------------------------------


async def test_invitation_project_assignments_are_applied_on_acceptance(client, mailbox):
    org = await create_org(client)
    web = await create_project(client, org, "Web")
    data = await create_project(client, org, "Data")
    default = await create_project(client, org, "Handbook", isDefault=True)
    other_default = await create_project(client, org, "Onboarding", isDefault=True)
    invitee = await sign_up_by_api(client, name="Ivy")
    payload = await mutate(
        client,
        INVITE,
        {
            "input": {
                "organizationId": org.id,
                "email": invitee.email,
                "projectAssignments": [
                    {"projectId": web["id"], "role": "ADMIN"},
                    {"projectId": other_default["id"], "role": "VIEWER"},
                ],
                "addToDefaultProjects": True,
            }
        },
        org.owner.token,
    )
    invitation = payload["invitation"]
    assert {(a["project"]["name"], a["role"]) for a in invitation["projectAssignments"]} == {
        ("Web", "ADMIN"),
        ("Onboarding", "VIEWER"),  # the explicit role wins over the default one
        ("Handbook", "USE"),
    }
    # Editing replaces the list.
    payload = await mutate(
        client,
        UPDATE_INVITATION,
        {
            "input": {
                "invitationId": invitation["id"],
                "projectAssignments": [
                    {"projectId": data["id"], "role": "USE"},
                    {"projectId": default["id"], "role": "VIEWER"},
                ],
            }
        },
        org.owner.token,
    )
    assert {
        (a["project"]["id"], a["role"]) for a in payload["invitation"]["projectAssignments"]
    } == {
        (data["id"], "USE"),
        (default["id"], "VIEWER"),
    }
    mail = (await mailbox.wait_for(invitee.email, count=2))[-1]
    accepted = await mutate(client, ACCEPT, {"token": mail.token}, invitee.token)
    member_id = accepted["member"]["id"]
    assert await assignments_of(client, member_id, invitee.token) == {
        data["id"]: "USE",
        default["id"]: "VIEWER",
    }
    # The member shows on the project like any other assignment.
    node = await ok(client, NODE, {"id": data["id"]}, invitee.token)
    assert member_id in {a["member"]["id"] for a in node["node"]["assignments"]}


async def test_invitation_with_a_foreign_project_is_refused(client):
    org = await create_org(client)
    other = await create_org(client, name="Other")
    theirs = await create_project(client, other, "Theirs", other.owner.token)
    before = await snapshot()
    codes = await refused(
        client,
        INVITE,
        {
            "input": {
                "organizationId": org.id,
                "email": "ivy@example.com",
                "projectAssignments": [{"projectId": theirs["id"], "role": "USE"}],
            }
        },
        org.owner.token,
    )
    assert codes == ["NOT_FOUND"]
    assert await snapshot() == before


async def test_deleting_a_project_drops_it_from_pending_invitations(client, mailbox):
    org = await create_org(client)
    web = await create_project(client, org, "Web")
    keep = await create_project(client, org, "Keep")
    payload = await mutate(
        client,
        INVITE,
        {
            "input": {
                "organizationId": org.id,
                "email": "ivy@example.com",
                "projectAssignments": [
                    {"projectId": web["id"], "role": "USE"},
                    {"projectId": keep["id"], "role": "USE"},
                ],
            }
        },
        org.owner.token,
    )
    await mutate(client, DELETE, {"id": web["id"]}, org.owner.token)
    data = await ok(client, INVITATION_NODE, {"id": payload["invitation"]["id"]}, org.owner.token)
    assert [a["project"]["id"] for a in data["node"]["projectAssignments"]] == [keep["id"]]
    invitee = await sign_up(client, email="ivy@example.com")
    mail = (await mailbox.wait_for("ivy@example.com", count=1))[0]
    accepted = await mutate(client, ACCEPT, {"token": mail.token}, invitee.token)
    assert [a["project"]["id"] for a in accepted["member"]["projectAssignments"]] == [keep["id"]]


# Query counts ----------------------------------------------------------------------


async def _statements(client, query: str, variables: dict, token: str) -> tuple[int, dict]:
    """The statements the query sends (background workers' polling left out)."""
    await ok(client, "{ me { id } }", None, token)  # the session cached, as in steady state
    with count_statements() as sql:
        data = await ok(client, query, variables, token)
    return sql.count, data


async def test_projects_assignments_members_users_cost_the_same_for_2_and_10_projects(
    client, mailbox
):
    org = await create_org(client)
    user, a = await add_member(client, mailbox, org, name="Amy")
    _, b = await add_member(client, mailbox, org, name="Bob")
    ids = [(await create_project(client, org, f"P{i:02}"))["id"] for i in range(10)]
    await assign(client, org, [a, b], [(p, "USE") for p in ids[:2]])

    async def measure(projects: int) -> int:
        count, data = await _statements(client, PROJECT_TREE, {"id": org.id}, user.token)
        nodes = data["organization"]["projects"]["nodes"]
        assert len(nodes) == projects
        # The creator (project OWNER), Amy and Bob, each with their user.
        assert all(len(p["assignments"]) == 3 for p in nodes)
        assert all(a["member"]["user"]["name"] for p in nodes for a in p["assignments"])
        return count

    await Project.filter(id__in=[pk_of(p, "Project") for p in ids[2:]]).delete()
    two = await measure(2)
    for i in range(2, 10):
        ids[i] = (await create_project(client, org, f"P{i:02}"))["id"]
    await assign(client, org, [a, b], [(p, "USE") for p in ids[2:]])
    ten = await measure(10)
    assert two == ten
    assert two < 15
