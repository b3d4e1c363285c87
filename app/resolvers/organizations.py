"""Organizations: reads (by id or slug, the viewer's list, seats) and settings changes.

Resolvers return models and raise DomainError; the schema wraps what they return. The
lists inside an organization (members, invitations, projects, …) belong to their own
domains' resolvers.
"""

from __future__ import annotations

from dataclasses import replace

from app.ids import pk_of
from app.models import Organization
from app.models.enums import OrganizationRole
from app.resolvers.context import Context
from app.resolvers.loaders import load_one
from app.resolvers.paging import DEFAULT_PAGE, Order, Page, Window, paginate
from app.services import invitations as invitations_service
from app.services import organizations as service

# What `updateOrganization` may change; the service validates each value.
SettingValue = str | int | list[str] | None


async def organization_node(ctx: Context, pk: int) -> Organization | None:
    """The organization, if the viewer is an ACTIVE member of it (or its API key)."""
    if await ctx.access(pk) is None:
        return None
    return await load_one(ctx, Organization, pk)


async def organization(ctx: Context, id: str | None, slug: str | None) -> Organization | None:
    """By global id, else by slug; None when the viewer is not in it."""
    if id is not None:
        pk = pk_of(id, "Organization")
        return None if pk is None else await organization_node(ctx, pk)
    if slug is None or len(slug) > 64 or "\x00" in slug:
        return None
    found = await Organization.get_or_none(slug=slug.strip().lower())
    if found is None or await ctx.access(found.pk) is None:
        return None
    return found


async def organizations(ctx: Context, window: Window) -> Page[Organization]:
    """The viewer's organizations, by name. The field's `first` defaults to 20 (the
    contract's `first: Int = 20`): with `last` given, that default gives way."""
    if window.last is not None and window.first == DEFAULT_PAGE:
        window = replace(window, first=None)
    queryset = Organization.filter(id__in=list(await ctx.accesses()))
    return await paginate(queryset, Order(("name",)), window)


async def viewer_role(ctx: Context, organization_id: int) -> OrganizationRole | None:
    access = await ctx.access(organization_id)
    return None if access is None else access.role


async def seats_used(ctx: Context, organization_id: int) -> int:
    return await invitations_service.seats_used(organization_id)


# Changes: update and delete are guarded by OrgInput, which found the organization and
# the viewer's access.


async def create_organization(ctx: Context, name: str, slug: str | None) -> Organization:
    user = ctx.viewer.user
    assert user is not None  # IsUser ran first
    return await service.create_organization(user, name, slug, ctx.ip)


async def update_organization(ctx: Context, changes: dict[str, SettingValue]) -> Organization:
    organization_id, actor = ctx.authz_actor("Organization", "organizationId")
    return await service.update_organization(actor, organization_id, changes)


async def delete_organization(ctx: Context, confirm_name: str) -> None:
    organization_id, actor = ctx.authz_actor("Organization", "organizationId")
    await service.delete_organization(actor, organization_id, confirm_name)
