"""Shared queries and factories for the organization, member and role tests."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from app.ids import pk_of, to_global_id
from app.models import AuditEvent, Member, Organization, User
from app.models.enums import MemberStatus, OrganizationRole
from tests.support.api import (
    Org,
    Person,
    add_member,
    add_member_by_invitation,
    create_org,
    create_org_by_api,
)

_seq = itertools.count(1)

MEMBER_FIELDS = "id name email username title role status joinedAt blockedAt removedAt"

MEMBERS = f"""
query($id: ID!, $first: Int, $after: String, $last: Int, $before: String, $offset: Int,
      $search: String, $roles: [OrganizationRole!], $statuses: [MemberStatus!],
      $orderBy: MemberOrder) {{
  organization(id: $id) {{
    members(first: $first, after: $after, last: $last, before: $before, offset: $offset,
            search: $search, roles: $roles, statuses: $statuses, orderBy: $orderBy) {{
      totalCount
      pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
      edges {{ cursor node {{ {MEMBER_FIELDS} }} }}
    }}
  }}
}}"""

# The same without `statuses`, so the argument's default applies.
MEMBERS_DEFAULT = """
query($id: ID!, $first: Int) {
  organization(id: $id) { members(first: $first) { totalCount nodes { name status } } }
}"""

UPDATE_ROLE = f"""
mutation($id: ID!, $role: OrganizationRole!) {{
  updateMemberRole(input: {{memberId: $id, role: $role}}) {{
    errors {{ code field message }} member {{ {MEMBER_FIELDS} }}
  }}
}}"""
UPDATE_MEMBER = f"""
mutation($input: UpdateMemberInput!) {{
  updateMember(input: $input) {{ errors {{ code field message }} member {{ {MEMBER_FIELDS} }} }}
}}"""
BLOCK = f"""
mutation($id: ID!) {{
  blockMember(input: {{memberId: $id}}) {{ errors {{ code field }} member {{ {MEMBER_FIELDS} }} }}
}}"""
UNBLOCK = f"""
mutation($id: ID!) {{
  unblockMember(input: {{memberId: $id}}) {{ errors {{ code field }} member {{ {MEMBER_FIELDS} }} }}
}}"""
REMOVE = f"""
mutation($id: ID!) {{
  removeMember(input: {{memberId: $id}}) {{ errors {{ code field }} member {{ {MEMBER_FIELDS} }} }}
}}"""
REMOVE_MANY = """
mutation($ids: [ID!]!) {
  removeMembers(input: {memberIds: $ids}) {
    errors { code }
    results { memberId errors { code field } member { id status } }
  }
}"""
LEAVE = """
mutation($id: ID!) { leaveOrganization(input: {organizationId: $id}) { ok errors { code field } } }
"""
SEND_RESET = """
mutation($id: ID!) { sendPasswordReset(input: {memberId: $id}) { ok errors { code field } } }
"""
ORGANIZATION = """
query($id: ID, $slug: String) {
  organization(id: $id, slug: $slug) { id name slug viewerRole }
}"""
UPDATE_ORG = """
mutation($input: UpdateOrganizationInput!) {
  updateOrganization(input: $input) {
    errors { code field message }
    organization { id name slug invitationTtlDays allowedEmailDomains seatLimit }
  }
}"""
DELETE_ORG = """
mutation($id: ID!, $confirm: String!) {
  deleteOrganization(input: {organizationId: $id, confirmName: $confirm}) { ok errors { code field } }
}"""


def org_pk(org: Org | str) -> int:
    pk = pk_of(org.id if isinstance(org, Org) else org, "Organization")
    assert pk is not None
    return pk


def member_pk(member_id: str) -> int:
    pk = pk_of(member_id, "Member")
    assert pk is not None
    return pk


async def actions(org: Org | str) -> list[str]:
    """The organization's audit actions, oldest first."""
    return list(
        await AuditEvent.filter(organization_id=org_pk(org))
        .order_by("id")
        .values_list("action", flat=True)
    )


async def seed_members(
    org: Org | str,
    names: Sequence[str],
    *,
    role: OrganizationRole = OrganizationRole.USER,
    status: MemberStatus = MemberStatus.ACTIVE,
    invited_by: int | None = None,
) -> list[Member]:
    """Members straight through the models (fast; they have no sessions).

    Emails are `<name>.<n>@seed.test` lower-cased; each joins a minute after the last.
    """
    organization = await Organization.get(id=org_pk(org))
    start = datetime.now(UTC) - timedelta(days=1)
    rows = []
    for name in names:
        n = next(_seq)
        email = f"{name.split()[0].lower()}.{n}@seed.test"
        user = await User.create(email=email, name=name, password_hash="!")
        member = Member(
            organization=organization,
            user=user,
            name=name,
            email=email,
            status=status,
            joined_at=start + timedelta(minutes=n),
            invited_by_id=invited_by,
        )
        member.set_role(role)
        await member.save()
        rows.append(member)
    return rows


def gid(member: Member) -> str:
    return to_global_id("Member", member.pk)


class Team:
    """One organization with a member of every role, each with a session."""

    def __init__(self, org: Org, people: dict[str, tuple[Person, str]]):
        self.org = org
        self.people = people

    def token(self, role: str) -> str:
        return self.org.owner.token if role == "OWNER" else self.people[role][0].token

    def member_id(self, role: str) -> str:
        return self.people[role][1]

    def person(self, role: str) -> Person:
        return self.org.owner if role == "OWNER" else self.people[role][0]


async def make_team(client, mailbox, name: str = "Acme") -> Team:
    """An owner, then an ADMIN, a USER and a VIEWER written directly (see `add_member`)."""
    return await _team(client, mailbox, name, add_member)


async def make_team_by_invitation(client, mailbox, name: str = "Acme") -> Team:
    """The same team over HTTP: each signed up, invited by the owner and accepted, so each
    has a verification and an invitation mail, and the trail has their invitations."""
    return await _team(client, mailbox, name, add_member_by_invitation, by_api=True)


async def _team(client, mailbox, name, add, by_api=False) -> Team:
    org = await (create_org_by_api(client, mailbox, name) if by_api else create_org(client, name))
    people = {}
    for role in ("ADMIN", "USER", "VIEWER"):
        people[role] = await add(client, mailbox, org, role=role, name=f"{role.title()} Person")
    owner_member = await Member.get(organization_id=org_pk(org), role=OrganizationRole.OWNER)
    people["OWNER"] = (org.owner, gid(owner_member))
    return Team(org, people)
