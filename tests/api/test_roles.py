"""The role table, cell by cell against API.md's Roles table, and the same table over HTTP:
what each role (and a non-member, and nobody) gets from the guarded fields and mutations."""

from __future__ import annotations

import pytest

from app.auth.roles import (
    ROLE_PERMISSIONS,
    Permission,
    can_grant_project_role,
    can_manage_role,
    has_permission,
)
from app.models import Organization
from app.models.enums import OrganizationRole, ProjectRole
from tests.support.api import INVITE, create_org, gql, sign_up
from tests.support.members import DELETE_ORG, UPDATE_ORG, UPDATE_ROLE, make_team, org_pk

ROLES = ("OWNER", "ADMIN", "USER", "VIEWER")

# API.md, "Roles": each row, the capability that stands for it, and who has it.
CONTRACT = [
    (
        "read the organization, its active members' names, projects they are assigned to",
        Permission.READ_ORGANIZATION,
        {"OWNER", "ADMIN", "USER", "VIEWER"},
    ),
    (
        "read members' emails, invitations, seat usage, audit events, API keys",
        Permission.READ_PRIVATE,
        {"OWNER", "ADMIN"},
    ),
    (
        "invite / manage / block / remove members with role USER or VIEWER",
        Permission.MANAGE_MEMBERS,
        {"OWNER", "ADMIN"},
    ),
    ("grant ADMIN, or manage / block / remove an ADMIN", Permission.MANAGE_ADMINS, {"OWNER"}),
    ("create projects", Permission.CREATE_PROJECTS, {"OWNER", "ADMIN", "USER"}),
    (
        "change organization settings, domains, API keys",
        Permission.MANAGE_ORGANIZATION,
        {"OWNER", "ADMIN"},
    ),
    ("transfer ownership, delete the organization", Permission.OWN_ORGANIZATION, {"OWNER"}),
    ("manage teams (any member reads them)", Permission.MANAGE_TEAMS, {"OWNER", "ADMIN"}),
]


def test_every_capability_has_a_contract_row_and_every_role_a_row_in_the_table():
    assert {permission for _, permission, _ in CONTRACT} == set(Permission)
    assert set(ROLE_PERMISSIONS) == set(OrganizationRole)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("row", "permission", "allowed"), CONTRACT, ids=[c[1] for c in CONTRACT])
def test_role_table_cell(role, row, permission, allowed):
    assert (permission in ROLE_PERMISSIONS[OrganizationRole(role)]) == (role in allowed), row
    assert has_permission(role, permission) == (role in allowed), row
    assert has_permission(None, permission) is False


MANAGEABLE = {
    "OWNER": {"ADMIN", "USER", "VIEWER"},
    "ADMIN": {"USER", "VIEWER"},
    "USER": set(),
    "VIEWER": set(),
}


@pytest.mark.parametrize("actor", ROLES)
@pytest.mark.parametrize("target", ROLES)
def test_who_manages_whom(actor, target):
    """Admins manage USER and VIEWER; only the owner grants or touches ADMIN; nobody OWNER."""
    assert can_manage_role(actor, target) == (target in MANAGEABLE[actor])


@pytest.mark.parametrize("role", list(ProjectRole))
def test_project_role_grants(role):
    # Organization OWNER/ADMIN grant any project role, USER/VIEWER only through a project role.
    assert can_grant_project_role("OWNER", None, role)
    assert can_grant_project_role("ADMIN", None, role)
    assert not can_grant_project_role("USER", None, role)
    assert not can_grant_project_role("VIEWER", None, role)
    assert can_grant_project_role("USER", ProjectRole.OWNER, role)
    assert can_grant_project_role("USER", ProjectRole.ADMIN, role) == (role != ProjectRole.OWNER)
    assert not can_grant_project_role("USER", ProjectRole.USE, role)
    assert not can_grant_project_role("USER", ProjectRole.VIEWER, role)
    assert not can_grant_project_role(None, None, role)


# -- over HTTP -----------------------------------------------------------------------

FIELDS = {
    "seatsUsed": "seatsUsed",
    "invitations": "invitations { totalCount }",
    "auditEvents": "auditEvents { totalCount }",
    "apiKeys": "apiKeys { id }",
    "domains": "domains { id }",
    "members": "members { totalCount nodes { id email } }",
    "viewerRole": "viewerRole",
}
PRIVATE = {"seatsUsed", "invitations", "auditEvents", "apiKeys", "domains"}
WHO = [*ROLES, "NON_MEMBER", "ANONYMOUS"]


def read_outcome(who: str, field: str) -> str:
    if who == "ANONYMOUS":
        return "UNAUTHENTICATED"
    if who == "NON_MEMBER":
        return "null"
    if field in PRIVATE and who in ("USER", "VIEWER"):
        return "FORBIDDEN"
    return "data"


MUTATION_OUTCOMES = {
    # capability: OWNER, ADMIN, USER, VIEWER, NON_MEMBER, ANONYMOUS
    "inviteMember": ("data", "data", "FORBIDDEN", "FORBIDDEN", "NOT_FOUND", "UNAUTHENTICATED"),
    "grantAdmin": (
        "data",
        "FORBIDDEN_ROLE",
        "FORBIDDEN",
        "FORBIDDEN",
        "NOT_FOUND",
        "UNAUTHENTICATED",
    ),
    "updateOrganization": (
        "data",
        "data",
        "FORBIDDEN",
        "FORBIDDEN",
        "NOT_FOUND",
        "UNAUTHENTICATED",
    ),
    "deleteOrganization": (
        "data",
        "FORBIDDEN",
        "FORBIDDEN",
        "FORBIDDEN",
        "NOT_FOUND",
        "UNAUTHENTICATED",
    ),
}


def outcome(body: dict) -> str:
    """FORBIDDEN / UNAUTHENTICATED (top level), a UserError code, "null" or "data"."""
    if body.get("errors"):
        (error,) = body["errors"]
        return error["extensions"]["code"]
    (value,) = body["data"].values()
    if value is None:
        return "null"
    if isinstance(value, dict) and value.get("errors"):
        (error,) = value["errors"]
        return error["code"]
    return "data"


@pytest.mark.parametrize("who", WHO)
async def test_each_role_over_http(client, mailbox, who):
    team = await make_team(client, mailbox)
    if who == "NON_MEMBER":
        token = (await create_org(client, "Elsewhere")).owner.token
    elif who == "ANONYMOUS":
        token = None
    else:
        token = team.token(who)

    for field, selection in FIELDS.items():
        query = f"query($id: ID!) {{ organization(id: $id) {{ {selection} }} }}"
        body = await gql(client, query, {"id": team.org.id}, token)
        assert outcome(body) == read_outcome(who, field), (field, body)
        if outcome(body) == "data" and field == "members":
            nodes = body["data"]["organization"]["members"]["nodes"]
            emails = {n["id"]: n["email"] for n in nodes}
            assert len(emails) == 4
            for role in ROLES:
                readable = who in ("OWNER", "ADMIN") or role == who
                expected = team.person(role).email if readable else None
                assert emails[team.member_id(role)] == expected, (role, emails)
        if outcome(body) == "data" and field == "viewerRole":
            assert body["data"]["organization"]["viewerRole"] == who

    expected = dict(zip(WHO, zip(*MUTATION_OUTCOMES.values(), strict=True), strict=True))[who]
    invite, grant, update, delete = expected
    variables = {"input": {"organizationId": team.org.id, "email": "new@example.com"}}
    assert outcome(await gql(client, INVITE, variables, token)) == invite
    variables = {"id": team.member_id("USER"), "role": "ADMIN"}
    assert outcome(await gql(client, UPDATE_ROLE, variables, token)) == grant
    variables = {"input": {"organizationId": team.org.id, "seatLimit": 50}}
    assert outcome(await gql(client, UPDATE_ORG, variables, token)) == update
    stored = await Organization.get(id=org_pk(team.org))
    assert stored.seat_limit == (50 if update == "data" else None)
    variables = {"id": team.org.id, "confirm": "Acme"}
    assert outcome(await gql(client, DELETE_ORG, variables, token)) == delete
    assert await Organization.filter(id=org_pk(team.org)).exists() == (delete != "data")


async def test_a_stranger_cannot_tell_an_existing_organization_from_none(client):
    org = await create_org(client, "Acme")
    stranger = await sign_up(client)
    missing = "T3JnYW5pemF0aW9uOjk5OTk5"
    for selection in FIELDS.values():
        query = f"query($id: ID!) {{ organization(id: $id) {{ {selection} }} }}"
        real = await gql(client, query, {"id": org.id}, stranger.token)
        fake = await gql(client, query, {"id": missing}, stranger.token)
        assert real == fake == {"data": {"organization": None}}
    for query, variables in (
        (UPDATE_ORG, {"input": {"organizationId": "ID", "name": "X"}}),
        (DELETE_ORG, {"id": "ID", "confirm": "Acme"}),
        (INVITE, {"input": {"organizationId": "ID", "email": "x@example.com"}}),
    ):
        bodies = []
        for target in (org.id, missing):
            filled = {
                k: ({**v, "organizationId": target} if isinstance(v, dict) else v)
                for k, v in variables.items()
            }
            if "id" in filled:
                filled["id"] = target
            bodies.append(await gql(client, query, filled, stranger.token))
        assert bodies[0] == bodies[1]
        assert outcome(bodies[0]) == "NOT_FOUND"
