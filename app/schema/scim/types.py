"""The ScimConnection type: an identity provider's connection, visible to the
organization's OWNER and ADMINs; its token only ever in `createScimConnection`."""

from __future__ import annotations

from datetime import datetime

import strawberry

from app.ids import to_global_id
from app.models import ScimConnection
from app.models.enums import OrganizationRole
from app.resolvers import scim as resolve
from app.schema.node import Node, register_node


@strawberry.type(
    name="ScimRoleMapping",
    description="Members of the SCIM group `group` get at least `role` in the organization.",
)
class ScimRoleMappingType:
    group: str = strawberry.field(
        description="The SCIM group's displayName, compared ignoring case."
    )
    role: OrganizationRole = strawberry.field(description="ADMIN, USER or VIEWER.")


@strawberry.type(
    name="ScimConnection",
    description="An identity provider (Okta, Entra ID, …) provisioning members through "
    "SCIM 2.0 at `baseUrl` with its bearer token. Visible to the organization's OWNER and "
    "ADMINs.",
)
class ScimConnectionType(Node):
    id: strawberry.ID = strawberry.field(description="Opaque global id.")
    name: str = strawberry.field(description="What it is for, 1 to 200 characters.")
    base_url: str = strawberry.field(
        description="The SCIM base URL to give the identity provider: {PUBLIC_URL}/scim/v2."
    )
    default_role: OrganizationRole = strawberry.field(
        description="The role of a provisioned member none of whose groups is mapped."
    )
    role_mappings: list[ScimRoleMappingType] = strawberry.field(
        description="Group → role; a member gets the highest role of their groups."
    )
    created_at: datetime = strawberry.field(description="When it was created.")
    last_used_at: datetime | None = strawberry.field(
        description="Last SCIM request, refreshed at most once a minute; null when never used."
    )
    revoked_at: datetime | None = strawberry.field(
        description="When it was revoked (its token answers 401 since); null while valid."
    )

    @classmethod
    def from_model(cls, connection: ScimConnection) -> ScimConnectionType:
        return cls(
            id=strawberry.ID(to_global_id("ScimConnection", connection.pk)),
            name=connection.name,
            base_url=resolve.base_url(),
            default_role=OrganizationRole(connection.default_role),
            role_mappings=[
                ScimRoleMappingType(group=str(row["group"]), role=OrganizationRole(row["role"]))
                for row in connection.role_mappings or []
            ],
            created_at=connection.created_at,
            last_used_at=connection.last_used_at,
            revoked_at=connection.revoked_at,
        )


register_node("ScimConnection", resolve.connection_node, ScimConnectionType.from_model)
