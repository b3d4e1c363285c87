"""SCIM connections: an organization's connections and the create / update / revoke
changes. Resolvers return models; the schema wraps them."""

from __future__ import annotations

from app import config
from app.models import ScimConnection
from app.models.enums import OrganizationRole
from app.resolvers.context import Context
from app.resolvers.loaders import load_one
from app.services import scim as service
from app.services.scim import RoleMapping
from app.services.visibility import reads_private


async def organization_connections(ctx: Context, organization_id: int) -> list[ScimConnection]:
    """Newest first."""
    return list(await ScimConnection.filter(organization_id=organization_id).order_by("-id"))


async def connection_node(ctx: Context, pk: int) -> ScimConnection | None:
    """The connection (never its token), if the viewer reads its organization's private data."""
    connection = await load_one(ctx, ScimConnection, pk)
    if connection is None or not reads_private(await ctx.access(connection.organization_id)):
        return None
    return connection


def base_url() -> str:
    return service.base_url(config.current().public_url)


async def create_connection(
    ctx: Context, name: str, default_role: OrganizationRole, mappings: list[RoleMapping]
) -> tuple[ScimConnection, str]:
    organization_id, actor = ctx.authz_actor("Organization", "organizationId")
    return await service.create_connection(actor, organization_id, name, default_role, mappings)


async def update_connection(
    ctx: Context,
    name: str | None,
    default_role: OrganizationRole | None,
    mappings: list[RoleMapping] | None,
) -> ScimConnection:
    connection_id, actor = ctx.authz_actor("SCIM connection", "connectionId")
    return await service.update_connection(actor, connection_id, name, default_role, mappings)


async def revoke_connection(ctx: Context) -> ScimConnection:
    connection_id, actor = ctx.authz_actor("SCIM connection", "connectionId")
    return await service.revoke_connection(actor, connection_id)
