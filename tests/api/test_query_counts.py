"""No N+1: listing members with their users, assignments and inviters costs the same
number of SQL statements for 5 members as for 50."""

from __future__ import annotations

from app.models import Member, Project, ProjectAssignment
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
