"""SQL statements per list request do not grow with the page size (benchmark scenario 1
and every other list field), and scenario 1 stays within five statements (six before the session cache)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.models import AuditEvent, Invitation, Member, Project, ProjectAssignment
from app.models.enums import OrganizationRole, ProjectRole
from tests.support.api import create_org, gql
from tests.support.members import org_pk, seed_members
from tests.support.sqlcount import count_statements

SCENARIO_1 = """
query Members($id: ID!, $first: Int!) { organization(id: $id) {
  members(first: $first, orderBy: {field: NAME, direction: ASC}) {
    edges { node { id name email role status joinedAt user { id name }
      projectAssignments { role project { id name } } } } } } }"""
INVITATIONS = """
query($id: ID!, $first: Int!) { organization(id: $id) {
  invitations(first: $first, statuses: [PENDING], orderBy: {field: EXPIRES_AT, direction: ASC}) {
    totalCount nodes { id email role status deliveryStatus sentAt invitedBy { id name }
      projectAssignments { role project { id } } } } } }"""
SCENARIO_3 = """
query Pending($id: ID!, $first: Int!) { organization(id: $id) {
  invitations(first: $first, statuses: [PENDING], orderBy: {field: EXPIRES_AT, direction: ASC})
  { totalCount edges { cursor node { id email role status expiresAt createdAt sendCount
    invitedBy { id name } } } } } }"""
AUDIT = """
query($id: ID!, $first: Int!) { organization(id: $id) {
  auditEvents(first: $first) { totalCount nodes { id action targetId data
    actor { id name email } actorApiKey { id } } } } }"""
ORGANIZATIONS = """
query($first: Int!) { organizations(first: $first) { totalCount nodes { id name viewerRole } } }"""


async def count(client, token, query, variables) -> tuple[int, list[str]]:
    """The statements of one request, its session already in the process's session cache
    (as for every request but the first within SESSION_CACHE_SECONDS)."""
    await gql(client, "{ me { id } }", None, token)
    with count_statements() as sql:
        body = await gql(client, query, variables, token)
    assert "errors" not in body, body
    return sql.count, sql.statements


@pytest.fixture
async def big_org(client):
    org = await create_org(client, "Acme")
    owner = await Member.get(organization_id=org_pk(org), role=OrganizationRole.OWNER)
    members = await seed_members(org, [f"Member {i:03d}" for i in range(110)], invited_by=owner.id)
    projects = [
        await Project.create(organization_id=org_pk(org), name=f"P{i}", slug=f"p{i}")
        for i in range(3)
    ]
    await ProjectAssignment.bulk_create(
        [
            ProjectAssignment(project=project, member=member, role=ProjectRole.USE)
            for member in members
            for project in projects
        ]
    )
    expires = datetime.now(UTC) + timedelta(days=5)
    await Invitation.bulk_create(
        [
            Invitation(
                organization_id=org_pk(org),
                email=f"inv{i}@example.com",
                role="USER",
                expires_at=expires + timedelta(minutes=i),
                invited_by_id=owner.id,
            )
            for i in range(110)
        ]
    )
    await AuditEvent.bulk_create(
        [
            AuditEvent(
                organization_id=org_pk(org),
                action="test.event",
                target_type="Member",
                target_id=owner.id,
                actor_user_id=owner.user_id,
                data={"i": i},
            )
            for i in range(110)
        ]
    )
    return org


async def test_scenario_1_is_five_statements_whatever_the_page_size(client, big_org):
    token = big_org.owner.token
    await count(client, token, SCENARIO_1, {"id": big_org.id, "first": 1})  # warm-up
    counts = {
        n: (await count(client, token, SCENARIO_1, {"id": big_org.id, "first": n}))
        for n in (10, 50, 100)
    }
    sizes = {n: c for n, (c, _) in counts.items()}
    assert len(set(sizes.values())) == 1, counts
    assert sizes[100] <= 5, counts[100][1]  # six before the session cache


async def test_scenario_3_is_five_statements_whatever_the_page_size(client, big_org):
    """The page, its count, the viewer's access, the inviters (one statement for the
    page's inviters, however many), and the organization."""
    org = org_pk(big_org)
    inviters = [
        await Member.get(organization_id=org, role=OrganizationRole.OWNER),
        *await Member.filter(organization_id=org, role=OrganizationRole.USER).limit(20),
    ]
    invitations = await Invitation.filter(organization_id=org).order_by("expires_at", "id")
    for i, invitation in enumerate(invitations):
        invitation.invited_by_id = inviters[i % len(inviters)].id
        await invitation.save(update_fields=["invited_by_id"])
    token = big_org.owner.token
    await count(client, token, SCENARIO_3, {"id": big_org.id, "first": 1})  # warm-up
    counts = {
        n: (await count(client, token, SCENARIO_3, {"id": big_org.id, "first": n}))
        for n in (1, 10, 50, 100)
    }
    sizes = {n: c for n, (c, _) in counts.items()}
    assert len(set(sizes.values())) == 1, counts
    assert sizes[100] <= 5, counts[100][1]


@pytest.mark.parametrize("query", [INVITATIONS, AUDIT], ids=["invitations", "auditEvents"])
async def test_other_lists_do_not_grow_with_the_page(client, big_org, query):
    token = big_org.owner.token
    small, small_sql = await count(client, token, query, {"id": big_org.id, "first": 5})
    large, large_sql = await count(client, token, query, {"id": big_org.id, "first": 100})
    assert small == large, (small_sql, large_sql)


async def test_organizations_list_does_not_grow(client):
    org = await create_org(client, "Org 0")
    for i in range(1, 30):
        await create_org(client, f"Org {i}", owner=org.owner)
    small, small_sql = await count(client, org.owner.token, ORGANIZATIONS, {"first": 3})
    large, large_sql = await count(client, org.owner.token, ORGANIZATIONS, {"first": 30})
    assert small == large, (small_sql, large_sql)
