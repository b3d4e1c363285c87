"""API keys: an organization's keys and the create / revoke changes.

Resolvers return models and raise DomainError; the schema wraps what they return.
"""

from __future__ import annotations

from app.models import ApiKey
from app.models.enums import OrganizationRole
from app.resolvers.context import Context
from app.resolvers.loaders import load_one
from app.services import api_keys as service
from app.services.visibility import reads_private


async def organization_api_keys(ctx: Context, organization_id: int) -> list[ApiKey]:
    """Newest first."""
    return list(await ApiKey.filter(organization_id=organization_id).order_by("-id"))


async def api_key_node(ctx: Context, pk: int) -> ApiKey | None:
    """The key (never its secret), if the viewer reads its organization's private data."""
    key = await load_one(ctx, ApiKey, pk)
    if key is None or not reads_private(await ctx.access(key.organization_id)):
        return None
    return key


# Changes: the permission class found the target's organization and the viewer's access.


async def create_api_key(
    ctx: Context, name: str, role: OrganizationRole, expires_in_days: int | None
) -> tuple[ApiKey, str]:
    """The new key and its secret (which is never readable again)."""
    organization_id, actor = ctx.authz_actor("Organization", "organizationId")
    return await service.create_api_key(actor, organization_id, name, role, expires_in_days)


async def revoke_api_key(ctx: Context) -> ApiKey:
    api_key_id, actor = ctx.authz_actor("API key", "apiKeyId")
    return await service.revoke_api_key(actor, api_key_id)
