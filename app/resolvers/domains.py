"""Verified domains: an organization's domains and the add / verify / remove changes.

Resolvers return models and raise DomainError; the schema wraps what they return.
"""

from __future__ import annotations

from app.models import Domain
from app.models.enums import DomainJoinPolicy, OrganizationRole
from app.resolvers.context import Context
from app.resolvers.loaders import load_one
from app.services import domains as service
from app.services.visibility import reads_private


async def organization_domains(ctx: Context, organization_id: int) -> list[Domain]:
    return list(await Domain.filter(organization_id=organization_id).order_by("domain"))


async def domain_node(ctx: Context, pk: int) -> Domain | None:
    """The domain, if the viewer reads its organization's private data (OWNER and ADMIN)."""
    domain = await load_one(ctx, Domain, pk)
    if domain is None or not reads_private(await ctx.access(domain.organization_id)):
        return None
    return domain


# Changes: the permission class found the target's organization and the viewer's access.


async def add_domain(
    ctx: Context,
    domain: str,
    verification_email: str,
    auto_join: bool,
    auto_join_role: OrganizationRole,
    join_policy: DomainJoinPolicy | None = None,
) -> Domain:
    organization_id, actor = ctx.authz_actor("Organization", "organizationId")
    return await service.add_domain(
        actor, organization_id, domain, verification_email, auto_join, auto_join_role, join_policy
    )


async def update_domain(
    ctx: Context, join_policy: DomainJoinPolicy | None, auto_join_role: OrganizationRole | None
) -> Domain:
    domain_id, actor = ctx.authz_actor("Domain", "domainId")
    return await service.update_domain(actor, domain_id, join_policy, auto_join_role)


async def verify_domain(ctx: Context, token: str) -> Domain:
    """Anyone holding the mailed token may verify: it proves control of the domain."""
    return await service.verify_domain(token, ctx.viewer, ctx.ip)


async def remove_domain(ctx: Context) -> None:
    domain_id, actor = ctx.authz_actor("Domain", "domainId")
    await service.remove_domain(actor, domain_id)
