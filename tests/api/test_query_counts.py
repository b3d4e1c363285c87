"""No N+1: listing members with their users, assignments and inviters costs the same
number of SQL statements for 5 members as for 50."""

from __future__ import annotations

from app.models import Member, Project, ProjectAssignment, Team, TeamMember, TeamProjectRole
from app.models.enums import OrganizationRole, ProjectRole
from tests.support.api import add_member, create_org, gql
from tests.support.members import org_pk, seed_members
from tests.support.sqlcount import count_statements

MEMBERS = """
query($id: ID!, $first: Int!) {
  organization(id: $id) {
    members(first: $first) {
      totalCount
      nodes {
        email role
        user { id name email }
        projectAssignments { role project { id name } }
        invitedBy { id }
      }
    }
  }
}"""


async def statements(client, token, org_id, first) -> tuple[int, list[str]]:
    with count_statements() as sql:
        body = await gql(client, MEMBERS, {"id": org_id, "first": first}, token)
    assert "errors" not in body, body
    assert len(body["data"]["organization"]["members"]["nodes"]) == first
    return sql.count, sql.statements


async def test_members_listing_has_no_n_plus_one(client, mailbox):
    org = await create_org(client, "Acme")
    owner = await Member.get(organization_id=org_pk(org), role=OrganizationRole.OWNER)
    user, _ = await add_member(client, mailbox, org, role="USER", name="Una User")
    seeded = await seed_members(org, [f"Member {i:02d}" for i in range(55)], invited_by=owner.id)
    projects = [
        await Project.create(organization_id=org_pk(org), name=name, slug=name.lower())
        for name in ("Web", "Mobile")
    ]
    for i, member in enumerate(seeded):
        await ProjectAssignment.create(project=projects[0], member=member, role=ProjectRole.USE)
        if i % 2:
            await ProjectAssignment.create(
                project=projects[1], member=member, role=ProjectRole.VIEWER
            )

    counts = {}
    for who, token in (("admin", org.owner.token), ("user", user.token)):
        await gql(client, MEMBERS, {"id": org.id, "first": 1}, token)  # warm up
        small, small_sql = await statements(client, token, org.id, 5)
        large, large_sql = await statements(client, token, org.id, 50)
        counts[who] = (small, large)
        assert small == large, (who, small_sql, large_sql)
        assert large <= 12, large_sql
    print(f"statements for first=5 / first=50: {counts}")


TEAMS_AND_ACCESS = """
query($id: ID!, $first: Int!) {
  organization(id: $id) {
    members(first: $first) {
      nodes {
        id managedBy
        teams { id name }
        effectiveProjectRoles {
          role project { id name }
          sources { kind role expiresAt team { id name } }
        }
      }
    }
  }
}"""


async def test_members_with_teams_and_effective_roles_have_no_n_plus_one(client, mailbox):
    """Member.teams and Member.effectiveProjectRoles load for the whole page at once."""
    org = await create_org(client, "Acme")
    owner = await Member.get(organization_id=org_pk(org), role=OrganizationRole.OWNER)
    user, _ = await add_member(client, mailbox, org, role="USER", name="Una User")
    seeded = await seed_members(org, [f"Member {i:02d}" for i in range(55)], invited_by=owner.id)
    admins = await seed_members(
        org, [f"Admin {i:02d}" for i in range(3)], role=OrganizationRole.ADMIN, invited_by=owner.id
    )
    projects = [
        await Project.create(organization_id=org_pk(org), name=name, slug=name.lower())
        for name in ("Web", "Mobile", "Docs")
    ]
    teams = [
        await Team.create(organization_id=org_pk(org), name=f"Team {i}", slug=f"team-{i}")
        for i in range(4)
    ]
    for i, team in enumerate(teams):
        await TeamProjectRole.create(team=team, project=projects[i % 3], role=ProjectRole.ADMIN)
    for i, member in enumerate([*seeded, *admins]):
        await ProjectAssignment.create(project=projects[0], member=member, role=ProjectRole.USE)
        await TeamMember.create(team=teams[i % 4], member=member)
        if i % 3 == 0:
            await TeamMember.create(team=teams[(i + 1) % 4], member=member)

    counts = {}
    for who, token in (("admin", org.owner.token), ("user", user.token)):
        await gql(client, TEAMS_AND_ACCESS, {"id": org.id, "first": 1}, token)  # warm up
        sizes = {}
        for first in (5, 50):
            with count_statements() as sql:
                body = await gql(client, TEAMS_AND_ACCESS, {"id": org.id, "first": first}, token)
            assert "errors" not in body, body
            nodes = body["data"]["organization"]["members"]["nodes"]
            assert len(nodes) == first
            assert all(n["teams"] and n["effectiveProjectRoles"] for n in nodes)
            sizes[first] = (sql.count, sql.statements)
        counts[who] = (sizes[5][0], sizes[50][0])
        assert sizes[5][0] == sizes[50][0], (who, sizes[5][1], sizes[50][1])
    print(f"statements for first=5 / first=50 with teams and effective roles: {counts}")


TEAM_PAGES = """
query($id: ID!, $first: Int!) {
  organization(id: $id) {
    teams(first: $first) {
      totalCount
      nodes {
        id name managedBy
        projectRoles { role project { id name } }
        members(first: 5) { totalCount pageInfo { hasNextPage } nodes { id name } }
      }
    }
  }
}"""


async def test_teams_with_members_and_roles_have_no_n_plus_one(client, mailbox):
    org = await create_org(client, "Acme")
    owner = await Member.get(organization_id=org_pk(org), role=OrganizationRole.OWNER)
    seeded = await seed_members(org, [f"Member {i:02d}" for i in range(30)], invited_by=owner.id)
    project = await Project.create(organization_id=org_pk(org), name="Web", slug="web")
    for i in range(25):
        team = await Team.create(organization_id=org_pk(org), name=f"Team {i:02d}", slug=f"t-{i}")
        await TeamProjectRole.create(team=team, project=project, role=ProjectRole.USE)
        for member in seeded[i : i + 8]:
            await TeamMember.create(team=team, member=member)
    await gql(client, TEAM_PAGES, {"id": org.id, "first": 1}, org.owner.token)  # warm up
    sizes = {}
    for first in (3, 25):
        with count_statements() as sql:
            body = await gql(client, TEAM_PAGES, {"id": org.id, "first": first}, org.owner.token)
        assert "errors" not in body, body
        assert len(body["data"]["organization"]["teams"]["nodes"]) == first
        sizes[first] = (sql.count, sql.statements)
    assert sizes[3][0] == sizes[25][0], (sizes[3][1], sizes[25][1])
    print(f"statements for 3 / 25 teams with members: {sizes[3][0]}, {sizes[25][0]}")
