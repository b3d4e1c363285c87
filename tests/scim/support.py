"""Helpers for the SCIM tests: an organization with a SCIM connection, and requests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp.test_utils import TestClient

from app.models import AuditEvent, Member
from tests.support.api import Org, create_org, mutate

SCIM = "application/scim+json"
CREATE_CONNECTION = """
mutation($input: CreateScimConnectionInput!) {
  createScimConnection(input: $input) {
    errors { code field message }
    token
    connection { id name baseUrl defaultRole roleMappings { group role } createdAt lastUsedAt
      revokedAt }
  }
}"""


@dataclass
class Scim:
    client: TestClient
    org: Org
    token: str
    connection_id: str

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        status: int | None = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        all_headers = {"Authorization": f"Bearer {token or self.token}", **(headers or {})}
        kwargs: dict[str, Any] = {"headers": all_headers}
        if body is not None:
            kwargs["json"] = body
            all_headers.setdefault("Content-Type", SCIM)
        response = await self.client.request(method, f"/scim/v2{path}", **kwargs)
        text = await response.text()
        if status is not None:
            assert response.status == status, (response.status, text)
        if response.status != 204:
            assert response.content_type == SCIM, response.content_type
        return await response.json(content_type=None) if text else None

    async def get(self, path: str, **kw: Any) -> Any:
        return await self.call("GET", path, **kw)

    async def post(self, path: str, body: Any, **kw: Any) -> Any:
        return await self.call("POST", path, body, **kw)

    async def patch(self, path: str, body: Any, **kw: Any) -> Any:
        return await self.call("PATCH", path, body, **kw)

    async def put(self, path: str, body: Any, **kw: Any) -> Any:
        return await self.call("PUT", path, body, **kw)

    async def delete(self, path: str, **kw: Any) -> Any:
        return await self.call("DELETE", path, **kw)


async def connect(
    client: TestClient,
    *,
    org: Org | None = None,
    default_role: str = "USER",
    mappings: list[dict[str, str]] | None = None,
) -> Scim:
    """An organization (made by its owner) with a SCIM connection created over GraphQL."""
    org = org or await create_org(client)
    payload = await mutate(
        client,
        CREATE_CONNECTION,
        {
            "input": {
                "organizationId": org.id,
                "name": "Okta",
                "defaultRole": default_role,
                "roleMappings": mappings or [],
            }
        },
        org.owner.token,
    )
    return Scim(client, org, payload["token"], payload["connection"]["id"])


def new_user(email: str, **extra: Any) -> dict[str, Any]:
    """The body Okta POSTs for a new user."""
    given, _, family = email.split("@")[0].partition(".")
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": email,
        "name": {"givenName": given.title(), "familyName": (family or "Doe").title()},
        "emails": [{"primary": True, "value": email, "type": "work"}],
        "displayName": f"{given.title()} {(family or 'Doe').title()}",
        "locale": "en-US",
        "externalId": f"00u{abs(hash(email)) % 10**8}",
        "groups": [],
        "password": "ignored-by-roster-1!",
        "active": True,
        **extra,
    }


async def events_of(action: str) -> list[AuditEvent]:
    return list(await AuditEvent.filter(action=action).order_by("id"))


async def member(scim_id: str) -> Member:
    from app.ids import pk_of

    return await Member.get(id=pk_of(scim_id, "Member"))
