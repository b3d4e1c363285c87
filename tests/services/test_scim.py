"""SCIM rules at the service level: connections (roles, tokens), role mappings, and the
PATCH forms identity providers send, applied to a resource's state."""

from __future__ import annotations

import pytest
from scim2_models import InvalidPathException, InvalidValueException, NoTargetException

from app.errors import DomainError, ErrorCode
from app.models import AuditEvent, ScimConnection
from app.models.enums import OrganizationRole
from app.services import scim
from app.services.scim import RoleMapping
from app.services.scim_groups import GROUP
from app.services.scim_patch import apply
from app.services.scim_users import USER
from tests.support.factories import actor_for, make_member, make_organization, make_user

pytestmark = pytest.mark.usefixtures("db")


async def _org_with_admin():
    organization, owner = await make_organization(await make_user())
    admin = await make_member(organization, await make_user(), "ADMIN")
    return organization, await actor_for(owner), await actor_for(admin)


async def test_refusals_write_nothing():
    organization, owner, admin = await _org_with_admin()
    cases = [
        (
            admin,
            OrganizationRole.USER,
            [RoleMapping("Admins", OrganizationRole.ADMIN)],
            ErrorCode.FORBIDDEN_ROLE,
        ),
        (admin, OrganizationRole.ADMIN, [], ErrorCode.FORBIDDEN_ROLE),
        (owner, OrganizationRole.OWNER, [], ErrorCode.ROLE_NOT_ALLOWED),
        (
            owner,
            OrganizationRole.USER,
            [RoleMapping("X", OrganizationRole.OWNER)],
            ErrorCode.ROLE_NOT_ALLOWED,
        ),
        (
            owner,
            OrganizationRole.USER,
            [
                RoleMapping("Ops", OrganizationRole.USER),
                RoleMapping("OPS", OrganizationRole.VIEWER),
            ],
            ErrorCode.INVALID_INPUT,
        ),
        (
            owner,
            OrganizationRole.USER,
            [RoleMapping("  ", OrganizationRole.USER)],
            ErrorCode.INVALID_INPUT,
        ),
    ]
    for actor, default, mappings, code in cases:
        with pytest.raises(DomainError) as caught:
            await scim.create_connection(actor, organization.id, "IdP", default, mappings)
        assert caught.value.code == code
    assert await ScimConnection.all().count() == 0
    assert not await AuditEvent.filter(action__startswith="scim_connection").exists()
    connection, _ = await scim.create_connection(
        owner, organization.id, "IdP", OrganizationRole.USER, []
    )
    with pytest.raises(DomainError) as caught:
        await scim.update_connection(admin, connection.id, None, OrganizationRole.ADMIN, None)
    assert caught.value.code == ErrorCode.FORBIDDEN_ROLE
    assert (await ScimConnection.get()).default_role == OrganizationRole.USER
    assert not await AuditEvent.filter(action="scim_connection.updated").exists()


async def test_tokens_and_revocation():
    organization, owner, _ = await _org_with_admin()
    connection, token = await scim.create_connection(
        owner, organization.id, "IdP", OrganizationRole.USER, []
    )
    assert token.startswith(scim.TOKEN_PREFIX)
    found = await scim.authenticate(token)
    assert found is not None and found.id == connection.id and found.last_used_at is not None
    assert await scim.authenticate(token + "x") is None
    assert await scim.authenticate("rk_" + token) is None
    await scim.revoke_connection(owner, connection.id)
    await scim.revoke_connection(owner, connection.id)  # twice changes nothing
    assert await scim.authenticate(token) is None
    assert await AuditEvent.filter(action="scim_connection.revoked").count() == 1


async def test_the_highest_mapped_role_wins_else_the_default():
    connection = ScimConnection(
        default_role=OrganizationRole.VIEWER,
        role_mappings=[
            {"group": "Engineering", "role": "USER"},
            {"group": "IT Admins", "role": "ADMIN"},
        ],
    )
    assert scim.role_for_groups(connection, []) == OrganizationRole.VIEWER
    assert scim.role_for_groups(connection, ["Sales"]) == OrganizationRole.VIEWER
    assert scim.role_for_groups(connection, ["engineering"]) == OrganizationRole.USER
    assert scim.role_for_groups(connection, ["Engineering", "it admins"]) == OrganizationRole.ADMIN


def _user() -> dict:
    return {
        "userName": "ada@example.com",
        "active": True,
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "emails": [{"value": "ada@example.com", "type": "work", "primary": True}],
    }


def test_patch_forms_of_okta_and_entra():
    state = _user()
    after = apply(USER, state, {"Operations": [{"op": "replace", "value": {"active": False}}]}, 20)
    assert after["active"] is False and state["active"] is True  # the input is untouched
    after = apply(
        USER,
        state,
        {
            "Operations": [
                {"op": "Replace", "value": {"active": "False", "name.familyName": "Byron"}},
                {
                    "op": "Add",
                    "path": "urn:ietf:params:scim:schemas:core:2.0:User:displayName",
                    "value": "Ada",
                },
                {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "a@b.example"},
                {"op": "add", "path": 'emails[type eq "home"].value', "value": "h@b.example"},
                {
                    "op": "Replace",
                    "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
                    "value": "x",
                },
                {"op": "replace", "path": "title", "value": "ignored"},
            ]
        },
        20,
    )
    assert after["active"] is False
    assert after["name"] == {"givenName": "Ada", "familyName": "Byron"}
    assert after["displayName"] == "Ada"
    assert after["emails"] == [
        {"value": "a@b.example", "type": "work", "primary": True},
        {"type": "home", "value": "h@b.example"},
    ]
    after = apply(
        USER, after, {"Operations": [{"op": "remove", "path": 'emails[type eq "home"]'}]}, 20
    )
    assert [e["type"] for e in after["emails"]] == ["work"]


def test_patch_refusals():
    for operations, error in (
        ([], InvalidValueException),
        ([{"op": "move", "path": "displayName"}], InvalidValueException),
        ([{"op": "remove"}], NoTargetException),
        ([{"op": "replace", "value": "not an object"}], InvalidValueException),
        ([{"op": "replace", "path": "active", "value": "yes"}], InvalidValueException),
        ([{"op": "remove", "path": "userName"}], InvalidValueException),
        (
            [{"op": "replace", "path": 'displayName[value eq "x"]', "value": "y"}],
            InvalidPathException,
        ),
        ([{"op": "replace", "path": "emails[type eq", "value": "y"}], InvalidPathException),
    ):
        with pytest.raises(error):
            apply(USER, _user(), {"Operations": operations}, 20)


def test_group_member_paths():
    state = {"displayName": "G", "members": [{"value": "a"}, {"value": "b"}]}
    after = apply(
        GROUP,
        state,
        {
            "Operations": [
                {"op": "Remove", "path": 'members[value eq "a"]'},
                {"op": "Add", "path": "members", "value": [{"value": "c"}, {"value": "b"}]},
            ]
        },
        100,
    )
    assert after["members"] == [{"value": "b"}, {"value": "c"}]
    after = apply(
        GROUP,
        after,
        {"Operations": [{"op": "remove", "path": "members", "value": [{"value": "B"}]}]},
        100,
    )
    assert after["members"] == [{"value": "c"}]
    after = apply(GROUP, after, {"Operations": [{"op": "remove", "path": "members"}]}, 100)
    assert after["members"] is None
    with pytest.raises(InvalidValueException):
        apply(
            GROUP,
            state,
            {"Operations": [{"op": "add", "path": "members", "value": [{"value": "x"}] * 3}]},
            2,
        )


async def test_admin_mappings_and_an_admin_default_are_the_owners_to_change():
    organization, owner, admin = await _org_with_admin()
    connection, _ = await scim.create_connection(
        owner,
        organization.id,
        "IdP",
        OrganizationRole.ADMIN,
        [RoleMapping("IT", OrganizationRole.ADMIN)],
    )
    # Keeping them is fine for an ADMIN (a rename, the same mappings).
    kept = [RoleMapping("it", OrganizationRole.ADMIN), RoleMapping("Eng", OrganizationRole.USER)]
    await scim.update_connection(admin, connection.id, "IdP 2", OrganizationRole.ADMIN, kept)
    for default, mappings in (
        (OrganizationRole.USER, None),
        (None, [RoleMapping("Eng", OrganizationRole.USER)]),
        (None, [RoleMapping("IT", OrganizationRole.USER)]),
    ):
        with pytest.raises(DomainError) as caught:
            await scim.update_connection(admin, connection.id, None, default, mappings)
        assert caught.value.code == ErrorCode.FORBIDDEN_ROLE
    row = await ScimConnection.get()
    assert row.default_role == OrganizationRole.ADMIN
    assert {m["group"] for m in row.role_mappings} == {"it", "Eng"}
