"""Teams over HTTP (API.md part 2, "Teams"): the mutations and their refusals with nothing
written, Organization.teams, Member.teams / managedBy / effectiveProjectRoles with their
sources, team roles in the project permission checks, and SCIM_MANAGED refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.ids import to_global_id
from app.models import AuditEvent, Member, Project, Team, TeamMember, TeamProjectRole
from app.models.enums import ManagedBy, MemberStatus, ProjectRole
from tests.support import factories
from tests.support.api import add_member, create_org, gql, mutate, ok, refused, top_codes
from tests.support.members import BLOCK, REMOVE, UPDATE_ROLE, actions, member_pk, org_pk
from tests.support.members import make_team as make_people

TEAM_FIELDS = """id name slug description managedBy createdAt
  members { totalCount nodes { id name } }
  projectRoles { role project { id name } }"""
CREATE = f"""
mutation($input: CreateTeamInput!) {{
  createTeam(input: $input) {{ errors {{ code field }} team {{ {TEAM_FIELDS} }} }}
}}"""
UPDATE = f"""
mutation($input: UpdateTeamInput!) {{
  updateTeam(input: $input) {{ errors {{ code field }} team {{ {TEAM_FIELDS} }} }}
}}"""
DELETE = """
mutation($input: DeleteTeamInput!) { deleteTeam(input: $input) { errors { code field } ok } }"""
ADD = f"""
mutation($input: AddTeamMembersInput!) {{
  addTeamMembers(input: $input) {{ errors {{ code field }} team {{ {TEAM_FIELDS} }} }}
}}"""
REMOVE_MEMBERS = f"""
mutation($input: RemoveTeamMembersInput!) {{
  removeTeamMembers(input: $input) {{ errors {{ code field }} team {{ {TEAM_FIELDS} }} }}
}}"""
SET_ROLES = f"""
mutation($input: SetTeamProjectRolesInput!) {{
  setTeamProjectRoles(input: $input) {{ errors {{ code field }} team {{ {TEAM_FIELDS} }} }}
}}"""
TEAMS = """
query($id: ID!, $search: String, $first: Int, $after: String) {
  organization(id: $id) {
    teams(first: $first, after: $after, search: $search) {
      totalCount pageInfo { hasNextPage endCursor } nodes { id name slug managedBy }
    }
  }
}"""
MEMBER = """
query($id: ID!) {
  node(id: $id) {
    ... on Member {
      managedBy
      teams { id name }
      effectiveProjectRoles {
        role project { id }
        sources { kind role team { id name } expiresAt }
      }
    }
  }
}"""
ASSIGN = """
mutation($input: AssignProjectsInput!) {
  assignProjects(input: $input) { errors { code field } assignments { id role } }
}"""


def gid(kind: str, pk: int) -> str:
    return to_global_id(kind, pk)


async def snapshot() -> dict[str, Any]:
    """What the team mutations could write: compare before and after a refusal."""
    return {
        model.__name__: await model.all().order_by("id").values()
        for model in (Team, TeamMember, TeamProjectRole, AuditEvent, Member)
    }


async def refused_nothing_written(client, query, variables, token) -> list[str]:
    before = await snapshot()
    codes = await refused(client, query, variables, token)
    assert await snapshot() == before
    return codes


@pytest.fixture
async def people(client, mailbox):
    return await make_people(client, mailbox)


async def new_team(client, people, name="Core", **more) -> dict[str, Any]:
    return (
        await mutate(
            client,
            CREATE,
            {"input": {"organizationId": people.org.id, "name": name, **more}},
            people.token("ADMIN"),
        )
    )["team"]


async def test_create_update_delete(client, people):
    team = await new_team(client, people, "Platform Team", description="Keeps the lights on.")
    assert (team["name"], team["slug"], team["description"], team["managedBy"]) == (
        "Platform Team",
        "platform-team",
        "Keeps the lights on.",
        "ROSTER",
    )
    assert team["members"] == {"totalCount": 0, "nodes": []}
    admin = people.token("ADMIN")
    updated = (
        await mutate(
            client,
            UPDATE,
            {"input": {"teamId": team["id"], "name": "Infra", "description": None}},
            admin,
        )
    )["team"]
    assert (updated["name"], updated["slug"], updated["description"]) == ("Infra", "infra", None)
    payload = await mutate(client, DELETE, {"input": {"teamId": team["id"]}}, admin)
    assert payload["ok"] is True
    assert not await Team.exists()
    assert (await actions(people.org))[-3:] == ["team.created", "team.updated", "team.deleted"]
    event = await AuditEvent.filter(action="team.created").get()
    assert event.target_type == "Team" and event.data["slug"] == "platform-team"


@pytest.mark.parametrize("role", ["USER", "VIEWER"])
async def test_only_owner_and_admin_manage_teams(client, people, role):
    team = await new_team(client, people)
    token = people.token(role)
    before = await snapshot()
    for query, variables in (
        (CREATE, {"input": {"organizationId": people.org.id, "name": "X"}}),
        (UPDATE, {"input": {"teamId": team["id"], "name": "Y"}}),
        (DELETE, {"input": {"teamId": team["id"]}}),
        (ADD, {"input": {"teamId": team["id"], "memberIds": [people.member_id(role)]}}),
        (REMOVE_MEMBERS, {"input": {"teamId": team["id"], "memberIds": [people.member_id(role)]}}),
        (SET_ROLES, {"input": {"teamId": team["id"], "roles": []}}),
    ):
        assert top_codes(await gql(client, query, variables, token)) == ["FORBIDDEN"]
    assert await snapshot() == before


async def test_outsiders_get_not_found(client, people):
    team = await new_team(client, people)
    outsider = await create_org(client, "Other")
    token = outsider.owner.token
    codes = await refused_nothing_written(
        client, UPDATE, {"input": {"teamId": team["id"], "name": "Mine"}}, token
    )
    assert codes == ["NOT_FOUND"]
    codes = await refused_nothing_written(client, DELETE, {"input": {"teamId": team["id"]}}, token)
    assert codes == ["NOT_FOUND"]
    assert (
        await ok(client, "query($id: ID!) { node(id: $id) { id } }", {"id": team["id"]}, token)
    )["node"] is None


@pytest.mark.parametrize(
    "changes", [{"name": ""}, {"name": "x" * 201}, {"name": "ok", "description": "d" * 1001}]
)
async def test_bad_names_and_descriptions_write_nothing(client, people, changes):
    codes = await refused_nothing_written(
        client,
        CREATE,
        {"input": {"organizationId": people.org.id, **changes}},
        people.token("ADMIN"),
    )
    assert codes == ["INVALID_INPUT"]


async def test_members_added_and_removed_idempotently(client, people):
    team = await new_team(client, people)
    admin = people.token("ADMIN")
    ids = [people.member_id("USER"), people.member_id("VIEWER")]
    for _ in range(2):
        payload = await mutate(
            client, ADD, {"input": {"teamId": team["id"], "memberIds": ids}}, admin
        )
    assert {n["id"] for n in payload["team"]["members"]["nodes"]} == set(ids)
    assert (await actions(people.org)).count("team.members_added") == 1
    payload = await mutate(
        client, REMOVE_MEMBERS, {"input": {"teamId": team["id"], "memberIds": ids[:1]}}, admin
    )
    assert [n["id"] for n in payload["team"]["members"]["nodes"]] == ids[1:]
    data = await ok(client, MEMBER, {"id": people.member_id("VIEWER")}, people.token("USER"))
    assert data["node"]["teams"] == [{"id": team["id"], "name": "Core"}]


async def test_member_list_refusals_write_nothing(client, people, mailbox):
    team = await new_team(client, people)
    admin = people.token("ADMIN")
    other = await create_org(client, "Other")
    _, foreign = await add_member(client, mailbox, other)
    removed = await factories.make_member(org_pk(people.org), status=MemberStatus.REMOVED)
    cases = [
        ([people.member_id("USER"), foreign], "NOT_FOUND", ["memberIds", "1"]),
        (["not-an-id"], "NOT_FOUND", ["memberIds", "0"]),
        ([gid("Member", removed.id)], "MEMBER_REMOVED", ["memberIds", "0"]),
        ([], "INVALID_INPUT", ["memberIds"]),
        ([people.member_id("USER")] * 101, "INVALID_INPUT", ["memberIds"]),
    ]
    for member_ids, code, field in cases:
        before = await snapshot()
        data = await ok(
            client, ADD, {"input": {"teamId": team["id"], "memberIds": member_ids}}, admin
        )
        assert data["addTeamMembers"]["errors"] == [{"code": code, "field": field}], member_ids
        assert data["addTeamMembers"]["team"] is None
        assert await snapshot() == before


async def test_project_roles_replaced_and_checked(client, people):
    team = await new_team(client, people)
    admin = people.token("ADMIN")
    web, api = [await factories.make_project(org_pk(people.org), n) for n in ("Web", "Api")]
    roles = [
        {"projectId": gid("Project", web.id), "role": "ADMIN"},
        {"projectId": gid("Project", api.id), "role": "VIEWER"},
    ]
    payload = await mutate(
        client, SET_ROLES, {"input": {"teamId": team["id"], "roles": roles}}, admin
    )
    got = {(r["project"]["name"], r["role"]) for r in payload["team"]["projectRoles"]}
    assert got == {("Web", "ADMIN"), ("Api", "VIEWER")}
    payload = await mutate(
        client, SET_ROLES, {"input": {"teamId": team["id"], "roles": roles[1:]}}, admin
    )
    assert [r["project"]["name"] for r in payload["team"]["projectRoles"]] == ["Api"]
    duplicate = [roles[0], {**roles[0], "role": "USE"}]
    codes = await refused_nothing_written(
        client, SET_ROLES, {"input": {"teamId": team["id"], "roles": duplicate}}, admin
    )
    assert codes == ["INVALID_INPUT"]
    other = await create_org(client, "Other org")
    elsewhere = await factories.make_project(org_pk(other))
    unknown = [{"projectId": gid("Project", elsewhere.id), "role": "USE"}]
    codes = await refused_nothing_written(
        client, SET_ROLES, {"input": {"teamId": team["id"], "roles": unknown}}, admin
    )
    assert codes == ["NOT_FOUND"]


async def test_any_member_reads_teams_with_search_and_paging(client, people):
    for name in ("Alpha", "Beta", "Gamma"):
        await new_team(client, people, name)
    viewer = people.token("VIEWER")
    data = await ok(client, TEAMS, {"id": people.org.id, "first": 2}, viewer)
    teams = data["organization"]["teams"]
    assert [t["name"] for t in teams["nodes"]] == ["Alpha", "Beta"]
    assert teams["totalCount"] == 3 and teams["pageInfo"]["hasNextPage"]
    after = teams["pageInfo"]["endCursor"]
    data = await ok(client, TEAMS, {"id": people.org.id, "first": 2, "after": after}, viewer)
    assert [t["name"] for t in data["organization"]["teams"]["nodes"]] == ["Gamma"]
    data = await ok(client, TEAMS, {"id": people.org.id, "search": "AMM"}, viewer)
    assert [t["name"] for t in data["organization"]["teams"]["nodes"]] == ["Gamma"]
    outsider = await create_org(client, "Other")
    body = await gql(client, TEAMS, {"id": people.org.id}, outsider.owner.token)
    assert body["data"]["organization"] is None


# Effective project roles --------------------------------------------------------------


async def test_effective_roles_explain_each_source(client, people):
    org_id = org_pk(people.org)
    web, api = [await factories.make_project(org_id, n) for n in ("Web", "Api")]
    user = await Member.get(id=member_pk(people.member_id("USER")))
    expiry = datetime.now(UTC) + timedelta(days=2)
    await factories.make_assignment(web, user, ProjectRole.VIEWER, expires_at=expiry)
    await factories.make_assignment(
        api, user, ProjectRole.OWNER, expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    team = await factories.make_team(org_id, "Ops", members=[user], roles={web: ProjectRole.ADMIN})
    data = await ok(client, MEMBER, {"id": people.member_id("USER")}, people.token("VIEWER"))
    node = data["node"]
    assert node["managedBy"] == "ROSTER"
    assert node["teams"] == [{"id": gid("Team", team.id), "name": "Ops"}]
    (web_role,) = node["effectiveProjectRoles"]  # the expired OWNER on Api does not count
    assert web_role["role"] == "ADMIN" and web_role["project"]["id"] == gid("Project", web.id)
    direct, by_team = web_role["sources"]
    assert (direct["kind"], direct["role"], direct["team"]) == ("DIRECT", "VIEWER", None)
    assert abs(datetime.fromisoformat(direct["expiresAt"]) - expiry) < timedelta(seconds=1)
    assert by_team == {
        "kind": "TEAM",
        "role": "ADMIN",
        "team": {"id": gid("Team", team.id), "name": "Ops"},
        "expiresAt": None,
    }
    admin = (await ok(client, MEMBER, {"id": people.member_id("ADMIN")}, people.token("ADMIN")))[
        "node"
    ]
    assert {(e["project"]["id"], e["role"]) for e in admin["effectiveProjectRoles"]} == {
        (gid("Project", web.id), "ADMIN"),
        (gid("Project", api.id), "ADMIN"),
    }
    assert {s["kind"] for e in admin["effectiveProjectRoles"] for s in e["sources"]} == {
        "ORGANIZATION_ROLE"
    }


async def assign(client, people, project: Project, token: str) -> dict[str, Any]:
    variables = {
        "input": {
            "organizationId": people.org.id,
            "memberIds": [people.member_id("VIEWER")],
            "assignments": [{"projectId": gid("Project", project.id), "role": "USE"}],
        }
    }
    return (await ok(client, ASSIGN, variables, token))["assignProjects"]


@pytest.mark.parametrize("team_role", ["OWNER", "ADMIN", "USE", "VIEWER"])
async def test_a_team_role_lets_a_user_manage_assignments_exactly_when_admin_or_owner(
    client, people, team_role
):
    org_id = org_pk(people.org)
    project = await factories.make_project(org_id)
    user = await Member.get(id=member_pk(people.member_id("USER")))
    await factories.make_team(org_id, members=[user], roles={project: ProjectRole(team_role)})
    payload = await assign(client, people, project, people.token("USER"))
    if team_role in ("OWNER", "ADMIN"):
        assert payload["errors"] == [] and payload["assignments"][0]["role"] == "USE"
    else:
        assert [e["code"] for e in payload["errors"]] == ["FORBIDDEN_ROLE"]


async def test_a_blocked_members_team_roles_are_inert(client, people):
    org_id = org_pk(people.org)
    project = await factories.make_project(org_id)
    user = await Member.get(id=member_pk(people.member_id("USER")))
    await factories.make_team(org_id, members=[user], roles={project: ProjectRole.ADMIN})
    await mutate(client, BLOCK, {"id": people.member_id("USER")}, people.token("ADMIN"))
    data = await ok(client, MEMBER, {"id": people.member_id("USER")}, people.token("ADMIN"))
    assert data["node"]["effectiveProjectRoles"] == []
    assert len(data["node"]["teams"]) == 1  # kept
    payload = await assign(client, people, project, people.token("USER"))
    assert [e["code"] for e in payload["errors"]] == ["NOT_FOUND"]


async def test_removed_members_leave_every_team(client, people):
    org_id = org_pk(people.org)
    user = await Member.get(id=member_pk(people.member_id("USER")))
    team = await factories.make_team(org_id, members=[user])
    await mutate(client, REMOVE, {"id": people.member_id("USER")}, people.token("ADMIN"))
    assert not await TeamMember.exists(team_id=team.id)


# SCIM-managed members and teams ------------------------------------------------------


async def test_scim_managed_refusals_and_the_emergency_stop(client, people):
    org_id = org_pk(people.org)
    scim = await factories.make_member(org_id, managed_by=ManagedBy.SCIM)
    scim_id = gid("Member", scim.id)
    scim_team = await factories.make_team(
        org_id, "Okta group", members=[scim], managed_by=ManagedBy.SCIM
    )
    roster_team = await new_team(client, people, "Roster team")
    owner = people.token("OWNER")
    team_id = gid("Team", scim_team.id)
    refusals = [
        (UPDATE_ROLE, {"id": scim_id, "role": "VIEWER"}),
        (ADD, {"input": {"teamId": roster_team["id"], "memberIds": [scim_id]}}),
        (ADD, {"input": {"teamId": team_id, "memberIds": [people.member_id("USER")]}}),
        (REMOVE_MEMBERS, {"input": {"teamId": team_id, "memberIds": [scim_id]}}),
        (UPDATE, {"input": {"teamId": team_id, "name": "Renamed"}}),
        (DELETE, {"input": {"teamId": team_id}}),
    ]
    for query, variables in refusals:
        codes = await refused_nothing_written(client, query, variables, owner)
        assert codes == ["SCIM_MANAGED"], (query, variables)
    data = await ok(client, TEAMS, {"id": people.org.id, "search": "okta"}, owner)
    assert data["organization"]["teams"]["nodes"][0]["managedBy"] == "SCIM"
    assert (await ok(client, MEMBER, {"id": scim_id}, owner))["node"]["managedBy"] == "SCIM"
    # Project roles on a SCIM team are Roster's to set.
    project = await factories.make_project(org_id)
    roles = [{"projectId": gid("Project", project.id), "role": "USE"}]
    await mutate(client, SET_ROLES, {"input": {"teamId": team_id, "roles": roles}}, owner)
    # ADMIN+ may still block and remove a SCIM member.
    admin = people.token("ADMIN")
    assert (await mutate(client, BLOCK, {"id": scim_id}, admin))["member"]["status"] == "BLOCKED"
    assert (await mutate(client, REMOVE, {"id": scim_id}, admin))["member"]["status"] == "REMOVED"
    assert not await TeamMember.exists(member_id=scim.id)


TEAM_PAGES = """
query($id: ID!, $first: Int) {
  organization(id: $id) {
    teams(first: 50) {
      nodes {
        name
        members(first: $first) {
          totalCount pageInfo { hasNextPage hasPreviousPage endCursor } nodes { name status }
        }
      }
    }
  }
}"""
TEAM_MEMBERS_AFTER = """
query($id: ID!, $first: Int, $after: String) {
  node(id: $id) {
    ... on Team { members(first: $first, after: $after) { totalCount nodes { name } } }
  }
}"""


async def test_team_member_pages_as_the_viewer_sees_them(client, people):
    org_id = org_pk(people.org)
    active = [await factories.make_member(org_id, name=f"Person {c}") for c in ("C", "A", "D", "B")]
    blocked = await factories.make_member(org_id, name="Person E", status=MemberStatus.BLOCKED)
    big = await factories.make_team(org_id, "Big", members=[*active, blocked])
    await factories.make_team(org_id, "Empty")
    await factories.make_team(org_id, "Solo", members=active[:1])
    admin_view = await ok(
        client, TEAM_PAGES, {"id": people.org.id, "first": 2}, people.token("ADMIN")
    )
    teams = {t["name"]: t["members"] for t in admin_view["organization"]["teams"]["nodes"]}
    assert [n["name"] for n in teams["Big"]["nodes"]] == ["Person A", "Person B"]
    assert teams["Big"]["totalCount"] == 5 and teams["Big"]["pageInfo"]["hasNextPage"]
    assert teams["Empty"] == {
        "totalCount": 0,
        "pageInfo": {"hasNextPage": False, "hasPreviousPage": False, "endCursor": None},
        "nodes": [],
    }
    assert teams["Solo"]["totalCount"] == 1 and not teams["Solo"]["pageInfo"]["hasNextPage"]
    # The first page's cursor continues on the ordinary paging path.
    after = teams["Big"]["pageInfo"]["endCursor"]
    rest = await ok(
        client,
        TEAM_MEMBERS_AFTER,
        {"id": gid("Team", big.id), "first": 10, "after": after},
        people.token("ADMIN"),
    )
    assert [n["name"] for n in rest["node"]["members"]["nodes"]] == [
        "Person C",
        "Person D",
        "Person E",
    ]
    # USER and VIEWER see ACTIVE members only.
    user_view = await ok(
        client, TEAM_PAGES, {"id": people.org.id, "first": 10}, people.token("USER")
    )
    teams = {t["name"]: t["members"] for t in user_view["organization"]["teams"]["nodes"]}
    assert teams["Big"]["totalCount"] == 4
    assert {n["status"] for n in teams["Big"]["nodes"]} == {"ACTIVE"}
    # Refusals of the window, as for every connection.
    body = await gql(client, TEAM_PAGES, {"id": people.org.id, "first": 101}, people.token("ADMIN"))
    assert "errors" in body
