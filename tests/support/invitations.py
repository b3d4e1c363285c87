"""Shared queries and helpers for the invitation and seat tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from app.ids import pk_of
from app.models import Invitation, OutboxMail
from tests.support.api import Org, mutate, ok, refused
from tests.support.mailbox import Mailbox

INVITATION_FIELDS = """
  id email username role status deliveryStatus message createdAt sentAt expiresAt acceptedAt
  sendCount invitedBy { id name } organization { id name }
  projectAssignments { role project { id name } }
"""
INVITE = f"""
mutation($input: InviteMemberInput!) {{
  inviteMember(input: $input) {{ errors {{ code field message }} invitation {{ {INVITATION_FIELDS} }} }}
}}"""
INVITE_MANY = f"""
mutation($input: InviteMembersInput!) {{
  inviteMembers(input: $input) {{
    errors {{ code field }}
    results {{ email errors {{ code field }} invitation {{ {INVITATION_FIELDS} }} }}
  }}
}}"""
RESEND = f"""
mutation($id: ID!) {{
  resendInvitation(input: {{invitationId: $id}}) {{
    errors {{ code field }} invitation {{ {INVITATION_FIELDS} }}
  }}
}}"""
REVOKE = f"""
mutation($id: ID!) {{
  revokeInvitation(input: {{invitationId: $id}}) {{
    errors {{ code field }} invitation {{ {INVITATION_FIELDS} }}
  }}
}}"""
DELETE = """
mutation($id: ID!) { deleteInvitation(input: {invitationId: $id}) { errors { code field } ok } }"""
EXTEND = f"""
mutation($id: ID!, $days: Int!) {{
  extendInvitation(input: {{invitationId: $id, days: $days}}) {{
    errors {{ code field }} invitation {{ {INVITATION_FIELDS} }}
  }}
}}"""
UPDATE = f"""
mutation($input: UpdateInvitationInput!) {{
  updateInvitation(input: $input) {{ errors {{ code field }} invitation {{ {INVITATION_FIELDS} }} }}
}}"""
ACCEPT = """
mutation($token: String!) {
  acceptInvitation(input: {token: $token}) {
    errors { code field } member { id role status username email }
  }
}"""
DECLINE = """
mutation($token: String!) { declineInvitation(input: {token: $token}) { errors { code } ok } }"""
PREVIEW = """
query($token: String!) {
  invitationByToken(token: $token) {
    organizationName email role status expiresAt invitedByName
  }
}"""
SIGN_UP_INVITED = """
mutation($input: SignUpInput!) {
  signUp(input: $input) {
    token errors { code field } user { id email emailVerified } member { id role status }
  }
}"""
UPDATE_ORG = """
mutation($input: UpdateOrganizationInput!) {
  updateOrganization(input: $input) {
    errors { code field } organization { id seatLimit seatsUsed invitationTtlDays }
  }
}"""
ORG_STATE = """
query($id: ID!) {
  organization(id: $id) {
    seatsUsed seatLimit
    invitations(first: 100) { totalCount }
    auditEvents(first: 100) { totalCount nodes { action } }
  }
}"""
INVITATIONS = f"""
query($id: ID!, $first: Int, $after: String, $search: String,
      $statuses: [InvitationStatus!], $orderBy: InvitationOrder) {{
  organization(id: $id) {{
    invitations(first: $first, after: $after, search: $search, statuses: $statuses,
                orderBy: $orderBy) {{
      totalCount
      pageInfo {{ hasNextPage endCursor }}
      nodes {{ {INVITATION_FIELDS} }}
    }}
  }}
}}"""
NODE = f"""
query($id: ID!) {{ node(id: $id) {{ ... on Invitation {{ {INVITATION_FIELDS} }} }} }}"""
BLOCK = """
mutation($id: ID!) { blockMember(input: {memberId: $id}) { errors { code } member { status } } }"""
REMOVE = """
mutation($id: ID!) { removeMember(input: {memberId: $id}) { errors { code } member { status } } }"""


async def invite(
    client: TestClient, org: Org, email: str, token: str | None = None, **fields: Any
) -> dict[str, Any]:
    """Invite successfully; returns the invitation."""
    payload = await mutate(
        client,
        INVITE,
        {"input": {"organizationId": org.id, "email": email, **fields}},
        token or org.owner.token,
    )
    return payload["invitation"]


async def invite_refused(
    client: TestClient, org: Org, email: str, token: str | None = None, **fields: Any
) -> list[str]:
    return await refused(
        client,
        INVITE,
        {"input": {"organizationId": org.id, "email": email, **fields}},
        token or org.owner.token,
    )


async def set_org(client: TestClient, org: Org, **settings: Any) -> dict[str, Any]:
    payload = await mutate(
        client, UPDATE_ORG, {"input": {"organizationId": org.id, **settings}}, org.owner.token
    )
    return payload["organization"]


async def org_state(client: TestClient, org: Org) -> dict[str, Any]:
    """What a refusal must leave unchanged: invitations, audit events, outbox rows."""
    data = await ok(client, ORG_STATE, {"id": org.id}, org.owner.token)
    state = data["organization"]
    return {
        "invitations": state["invitations"]["totalCount"],
        "audit": state["auditEvents"]["totalCount"],
        "outbox": await OutboxMail.all().count(),
    }


async def seats(client: TestClient, org: Org) -> int:
    data = await ok(client, ORG_STATE, {"id": org.id}, org.owner.token)
    return data["organization"]["seatsUsed"]


async def invitation(client: TestClient, org: Org, invitation_id: str) -> dict[str, Any]:
    data = await ok(client, NODE, {"id": invitation_id}, org.owner.token)
    return data["node"]


async def expire(invitation_id: str) -> None:
    """Move an invitation's expiry into the past (the clock cannot be wound on a server)."""
    past = datetime.now(UTC) - timedelta(minutes=1)
    await Invitation.filter(id=pk_of(invitation_id, "Invitation")).update(expires_at=past)


async def token_for(mailbox: Mailbox, email: str, count: int = 1) -> str:
    """The token of the `count`-th mail to `email`."""
    return (await mailbox.wait_for(email, count=count))[count - 1].token


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
