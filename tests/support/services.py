"""Helpers for the service tests: a crew of members, actors, and "nothing was written"."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

import pytest

from app.errors import DomainError, ErrorCode
from app.models import (
    ApiKey,
    AuditEvent,
    Domain,
    EmailToken,
    Invitation,
    InvitationProjectAssignment,
    JoinRequest,
    Member,
    Organization,
    OutboxMail,
    OwnershipTransfer,
    Project,
    ProjectAssignment,
    Session,
    Team,
    TeamMember,
    TeamProjectRole,
    User,
)
from app.services.audit import Actor
from tests.support import factories

# Every table a change could write to (rate-limit hits aside: the tests run without limits).
MODELS = (
    Organization,
    User,
    Session,
    EmailToken,
    Member,
    Invitation,
    InvitationProjectAssignment,
    Project,
    ProjectAssignment,
    OwnershipTransfer,
    Domain,
    ApiKey,
    AuditEvent,
    OutboxMail,
    Team,
    TeamMember,
    TeamProjectRole,
    JoinRequest,
)


async def all_rows() -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, by table: equal before and after means nothing was written."""
    return {model._meta.db_table: await model.all().order_by("id").values() for model in MODELS}


async def refuses(call: Awaitable[object], code: ErrorCode) -> DomainError:
    """Await `call`, expecting a DomainError with `code` and no row written or changed."""
    before = await all_rows()
    with pytest.raises(DomainError) as caught:
        await call
    assert caught.value.code == code, caught.value.message
    assert await all_rows() == before
    return caught.value


async def actions_since(count: int) -> list[str]:
    """The audit actions written after the first `count` events, oldest first."""
    return list(
        await AuditEvent.all().order_by("id").offset(count).values_list("action", flat=True)
    )


@dataclass
class Crew:
    """An organization with its owner and two members of each other role:
    OWNER, ADMIN, ADMIN2, USER, USER2, VIEWER, VIEWER2."""

    organization: Organization
    members: dict[str, Member]

    def __getitem__(self, key: str) -> Member:
        return self.members[key]

    async def actor(self, key: str) -> Actor:
        """What a request by this member builds: their user, role and member id."""
        return await factories.actor_for(await Member.get(id=self.members[key].id))

    async def reload(self, key: str) -> Member:
        return await Member.get(id=self.members[key].id)


async def make_crew(name: str = "Acme") -> Crew:
    owner = await factories.make_user(name="Olive Owner")
    organization, owner_member = await factories.make_organization(owner, name)
    members = {"OWNER": owner_member}
    for role in ("ADMIN", "USER", "VIEWER"):
        for key in (role, f"{role}2"):
            members[key] = await factories.make_member(
                organization, role=role, name=f"{key.title()} Person"
            )
    return Crew(organization, members)
