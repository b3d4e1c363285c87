"""Helpers to talk to the app like a client does, and the people and organizations tests need.

`sign_up`, `create_org` and `add_member` write their rows through the models
(tests/support/factories.py): no argon2, no mail, no invitation. Tests whose
assertions read what the public path leaves behind (the verification mail, an
unverified address, the invitation, its mails and audit events) use
`sign_up_by_api`, `create_org_by_api` and `add_member_by_invitation`, which go
through the GraphQL API as a client would.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp.test_utils import TestClient

from app.ids import pk_of, to_global_id
from app.models import User
from tests.support import factories
from tests.support.factories import PASSWORD, unique_email
from tests.support.mailbox import Mailbox

__all__ = ["PASSWORD", "unique_email"]


async def gql(
    client: TestClient,
    query: str,
    variables: dict[str, Any] | None = None,
    token: str | None = None,
    *,
    status: int = 200,
) -> dict[str, Any]:
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )
    assert response.status == status, await response.text()
    return await response.json()


async def ok(client: TestClient, query: str, variables=None, token=None) -> dict[str, Any]:
    """Run and insist on no top-level errors; returns `data`."""
    body = await gql(client, query, variables, token)
    assert "errors" not in body, body
    return body["data"]


async def mutate(client, query, variables=None, token=None) -> dict[str, Any]:
    """Run a one-mutation document; returns its payload after checking `errors` is empty."""
    data = await ok(client, query, variables, token)
    (payload,) = data.values()
    assert payload["errors"] == [], payload["errors"]
    return payload


async def refused(client, query, variables=None, token=None) -> list[str]:
    """Run a one-mutation document expected to fail; returns the UserError codes."""
    data = await ok(client, query, variables, token)
    (payload,) = data.values()
    assert payload["errors"], payload
    for key, value in payload.items():
        if key != "errors":
            assert value is None, f"{key} should be null on errors: {payload}"
    return [e["code"] for e in payload["errors"]]


def top_codes(body: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors", [])]


SIGN_UP = """
mutation($input: SignUpInput!) {
  signUp(input: $input) { token errors { code field message } user { id email name emailVerified }
    member { id role } }
}"""
LOG_IN = """
mutation($input: LogInInput!) {
  logIn(input: $input) { token errors { code } user { id email } }
}"""
CREATE_ORG = """
mutation($input: CreateOrganizationInput!) {
  createOrganization(input: $input) { errors { code field } organization { id name slug viewerRole } }
}"""
INVITE = """
mutation($input: InviteMemberInput!) {
  inviteMember(input: $input) {
    errors { code field message }
    invitation { id email role status expiresAt sendCount username }
  }
}"""
VERIFY_EMAIL = """
mutation($token: String!) { verifyEmail(input: {token: $token}) { errors { code } user { id } } }"""
ACCEPT = """
mutation($token: String!) {
  acceptInvitation(input: {token: $token}) { errors { code } member { id role status } }
}"""


@dataclass
class Person:
    email: str
    token: str
    user_id: str
    name: str


async def sign_up(
    client: TestClient, email: str | None = None, name: str = "Ada Lovelace"
) -> Person:
    """A user with a verified email, password PASSWORD, and a session (written directly)."""
    user = await factories.make_user(email, name)
    token = await factories.make_session(user)
    return Person(
        email=user.email, token=token, user_id=to_global_id("User", user.id), name=user.name
    )


async def sign_up_by_api(
    client: TestClient, email: str | None = None, name: str = "Ada Lovelace"
) -> Person:
    """signUp over HTTP: an unverified user, and a verification mail in the mailbox."""
    email = email or unique_email()
    payload = await mutate(
        client, SIGN_UP, {"input": {"email": email, "password": PASSWORD, "name": name}}
    )
    return Person(email=email, token=payload["token"], user_id=payload["user"]["id"], name=name)


@dataclass
class Org:
    id: str
    owner: Person


async def create_org(client: TestClient, name: str = "Acme", owner: Person | None = None) -> Org:
    """The organization, its owner member and `organization.created`, written directly."""
    owner = owner or await sign_up(client, name="Olive Owner")
    user = await User.get(id=pk_of(owner.user_id, "User"))
    organization, _ = await factories.make_organization(user, name)
    return Org(id=to_global_id("Organization", organization.id), owner=owner)


async def create_org_by_api(
    client: TestClient, mailbox: Mailbox, name: str = "Acme", owner: Person | None = None
) -> Org:
    """createOrganization over HTTP. Unless given, the owner signs up over HTTP and verifies
    the address by the mailed link first: their one mail is the verification."""
    if owner is None:
        owner = await sign_up_by_api(client, name="Olive Owner")
        (mail,) = await mailbox.wait_for(owner.email)
        await mutate(client, VERIFY_EMAIL, {"token": mail.token})
    payload = await mutate(client, CREATE_ORG, {"input": {"name": name}}, owner.token)
    return Org(id=payload["organization"]["id"], owner=owner)


async def add_member(
    client: TestClient,
    mailbox: Mailbox,
    org: Org,
    role: str = "USER",
    name: str = "Mia Member",
    email: str | None = None,
) -> tuple[Person, str]:
    """A new person, ACTIVE member with `role`, invited by the owner (written directly);
    returns the person and their member id."""
    person = await sign_up(client, email=email, name=name)
    member = await factories.make_member(
        pk_of(org.id, "Organization"), await User.get(id=pk_of(person.user_id, "User")), role
    )
    return person, to_global_id("Member", member.id)


async def add_member_by_invitation(
    client: TestClient,
    mailbox: Mailbox,
    org: Org,
    role: str = "USER",
    name: str = "Mia Member",
    email: str | None = None,
) -> tuple[Person, str]:
    """Over HTTP: sign up, invited by the owner, accept the mailed invitation.

    Leaves the verification and invitation mails, the ACCEPTED invitation and its
    audit events (`invitation.created`, `invitation.accepted`, `member.joined`).
    """
    person = await sign_up_by_api(client, email=email, name=name)
    await mutate(
        client,
        INVITE,
        {"input": {"organizationId": org.id, "email": person.email, "role": role}},
        org.owner.token,
    )
    mail = (await mailbox.wait_for(person.email, count=2))[-1]
    payload = await mutate(client, ACCEPT, {"token": mail.token}, person.token)
    return person, payload["member"]["id"]
