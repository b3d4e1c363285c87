"""Helpers to talk to the app like a client does, and factories built on the public API."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from aiohttp.test_utils import TestClient

from tests.support.mailbox import Mailbox

PASSWORD = "correct horse battery staple"
_counter = itertools.count(1)


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
ACCEPT = """
mutation($token: String!) {
  acceptInvitation(input: {token: $token}) { errors { code } member { id role status } }
}"""


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}{next(_counter)}@example.com"


@dataclass
class Person:
    email: str
    token: str
    user_id: str
    name: str


async def sign_up(
    client: TestClient, email: str | None = None, name: str = "Ada Lovelace"
) -> Person:
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
    owner = owner or await sign_up(client, name="Olive Owner")
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
    """Invite (as the owner), sign up and accept; returns the person and their member id."""
    person = await sign_up(client, email=email, name=name)
    await mutate(
        client,
        INVITE,
        {"input": {"organizationId": org.id, "email": person.email, "role": role}},
        org.owner.token,
    )
    mail = (await mailbox.wait_for(person.email, count=2))[-1]
    payload = await mutate(client, ACCEPT, {"token": mail.token}, person.token)
    return person, payload["member"]["id"]
