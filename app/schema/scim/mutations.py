"""SCIM connection changes: create (the token shown once), update, revoke."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.auth.roles import Permission
from app.models.enums import OrganizationRole
from app.resolvers import scim as resolve
from app.schema.context import Info
from app.schema.errors import INPUT, UserError, errors_field, mutation, object_field
from app.schema.permissions import IsUser, OrgInput
from app.schema.scim.types import ScimConnectionType
from app.services.scim import RoleMapping


@strawberry.input(description="One group → role mapping.")
class ScimRoleMappingInput:
    group: str = strawberry.field(description="The SCIM group's displayName, 1 to 200 characters.")
    role: OrganizationRole = strawberry.field(
        description="ADMIN (the OWNER only: FORBIDDEN_ROLE), USER or VIEWER; never OWNER "
        "(ROLE_NOT_ALLOWED)."
    )


@strawberry.input(description="A new SCIM connection.")
class CreateScimConnectionInput:
    organization_id: strawberry.ID = strawberry.field(description="The organization.")
    name: str = strawberry.field(description="What it is for, 1 to 200 characters.")
    default_role: OrganizationRole = strawberry.field(
        default=OrganizationRole.USER,
        description="The role of provisioned members whose groups map to none: USER, VIEWER, "
        "or ADMIN (the OWNER only).",
    )
    role_mappings: list[ScimRoleMappingInput] = strawberry.field(
        default_factory=list, description="Group → role, at most 100, each group once."
    )


@strawberry.input(description="Changes to a SCIM connection; omitted fields stay.")
class UpdateScimConnectionInput:
    connection_id: strawberry.ID = strawberry.field(description="The connection.")
    name: str | None = strawberry.field(
        default=strawberry.UNSET, description="1 to 200 characters."
    )
    default_role: OrganizationRole | None = strawberry.field(
        default=strawberry.UNSET, description="As in createScimConnection."
    )
    role_mappings: list[ScimRoleMappingInput] | None = strawberry.field(
        default=strawberry.UNSET, description="Replaces every mapping."
    )


@strawberry.input(description="The SCIM connection to revoke.")
class RevokeScimConnectionInput:
    connection_id: strawberry.ID = strawberry.field(description="The connection.")


@strawberry.type(description="The result of `createScimConnection`.")
class CreateScimConnectionPayload:
    errors: list[UserError] = errors_field()
    connection: ScimConnectionType | None = object_field("The new connection.")
    token: str | None = strawberry.field(
        default=None,
        description="The bearer token for the identity provider; shown only in this answer, "
        "store it now. Null when refused.",
    )


@strawberry.type(description="The result of `updateScimConnection` or `revokeScimConnection`.")
class ScimConnectionPayload:
    errors: list[UserError] = errors_field()
    connection: ScimConnectionType | None = object_field("The connection as it is now.")


def _manage(type_name: str, field: str) -> OrgInput:
    return OrgInput(Permission.MANAGE_ORGANIZATION, type_name, field)


def _mappings(rows: list[ScimRoleMappingInput] | None) -> list[RoleMapping] | None:
    if rows is None or rows is strawberry.UNSET:
        return None
    return [RoleMapping(row.group, row.role) for row in rows]


def _given(value: object) -> object:
    return None if value is strawberry.UNSET else value


@strawberry.type
class Mutation:
    @mutation(
        "Create a SCIM connection; its token is returned once. Signed-in OWNER and ADMIN only "
        "(FORBIDDEN otherwise). Codes: NOT_FOUND, INVALID_INPUT, ROLE_NOT_ALLOWED, "
        "FORBIDDEN_ROLE.",
        IsUser(),
        _manage("Organization", "organization_id"),
    )
    async def create_scim_connection(
        self, info: Info, input: Annotated[CreateScimConnectionInput, INPUT]
    ) -> CreateScimConnectionPayload:
        connection, token = await resolve.create_connection(
            info.context, input.name, input.default_role, _mappings(input.role_mappings) or []
        )
        return CreateScimConnectionPayload(
            connection=ScimConnectionType.from_model(connection), token=token
        )

    @mutation(
        "Change a SCIM connection's name, default role or role mappings (applied at once to "
        "every member it provisioned). Signed-in OWNER and ADMIN only; which groups grant "
        "ADMIN, and an ADMIN default, only the OWNER changes (FORBIDDEN_ROLE). Codes: "
        "NOT_FOUND, INVALID_INPUT, ROLE_NOT_ALLOWED, FORBIDDEN_ROLE.",
        IsUser(),
        _manage("ScimConnection", "connection_id"),
    )
    async def update_scim_connection(
        self, info: Info, input: Annotated[UpdateScimConnectionInput, INPUT]
    ) -> ScimConnectionPayload:
        name = _given(input.name)
        role = _given(input.default_role)
        connection = await resolve.update_connection(
            info.context,
            name if isinstance(name, str) else None,
            OrganizationRole(role) if isinstance(role, str) else None,
            _mappings(input.role_mappings),
        )
        return ScimConnectionPayload(connection=ScimConnectionType.from_model(connection))

    @mutation(
        "Revoke a SCIM connection: its token answers 401 at once (revoking twice changes "
        "nothing); the members it provisioned stay. Signed-in OWNER and ADMIN only. Codes: "
        "NOT_FOUND.",
        IsUser(),
        _manage("ScimConnection", "connection_id"),
    )
    async def revoke_scim_connection(
        self, info: Info, input: Annotated[RevokeScimConnectionInput, INPUT]
    ) -> ScimConnectionPayload:
        connection = await resolve.revoke_connection(info.context)
        return ScimConnectionPayload(connection=ScimConnectionType.from_model(connection))
