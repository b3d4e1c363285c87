from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import strawberry
from graphql import GraphQLError
from tortoise.expressions import Q

from app.auth.roles import Permission, has_permission
from app.errors import DomainError, ErrorCode, not_found
from app.ids import pk_of
from app.models import Invitation, Member, Organization
from app.models.enums import InvitationStatus, MemberStatus, OrganizationRole
from app.resolvers.members import preload
from app.schema.errors import FORBIDDEN, mutate
from app.schema.loaders import load_one
from app.schema.pagination import Order, connection, paginate
from app.services import organizations as service
from app.services.validation import NAME_MAX

if TYPE_CHECKING:
    from app.schema.organizations import OrganizationType


def _search_term(search: str | None) -> str | None:
    if search is None or not search.strip():
        return None
    if "\x00" in search:  # PostgreSQL text cannot hold NUL; nothing stored contains it
        raise DomainError(ErrorCode.INVALID_INPUT, "Search terms cannot contain NUL.", "search")
    return search.strip()[:NAME_MAX]


async def organization_node(info: strawberry.Info, pk: int) -> Any:
    from app.schema.organizations import OrganizationType

    if await info.context.access(pk) is None:
        return None
    org = await load_one(info, Organization, pk)
    return OrganizationType.from_model(org) if org else None


async def organization(info: strawberry.Info, id: str | None, slug: str | None) -> Any:
    from app.schema.organizations import OrganizationType

    if id is not None:
        pk = pk_of(id, "Organization")
        return await organization_node(info, pk) if pk else None
    if slug is None or len(slug) > 64 or "\x00" in slug:
        return None
    org = await Organization.get_or_none(slug=slug.strip().lower())
    if org is None or await info.context.access(org.pk) is None:
        return None
    return OrganizationType.from_model(org)


async def organizations(info: strawberry.Info, first: int | None, after: str | None) -> Any:
    from app.schema.organizations import OrganizationType

    ids = list(await info.context.accesses())
    queryset = Organization.filter(id__in=ids)
    page = await paginate(queryset, Order(("name",)), first=first, after=after)
    return connection(page, OrganizationType.from_model, queryset.count)


async def seats_used(info: strawberry.Info, org: OrganizationType) -> int:
    return await service.seats_used(org.pk)


MEMBER_ORDER = {
    "NAME": ("name",),
    "EMAIL": ("email",),
    "JOINED_AT": ("joined_at",),
    "ROLE": ("role_rank",),
}


async def members(
    info: strawberry.Info,
    org: OrganizationType,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
    offset: int | None,
    search: str | None,
    roles: list[OrganizationRole] | None,
    statuses: list[MemberStatus] | None,
    order_by: Any,
) -> Any:
    from app.schema.members import MemberType

    access = await info.context.access(org.pk)
    wanted = set(statuses) if statuses is not None else set(MemberStatus)
    privileged = has_permission(access.role, Permission.READ_PRIVATE)
    if not privileged:
        wanted &= {MemberStatus.ACTIVE}
    queryset = Member.filter(organization_id=org.pk, status__in=[s.value for s in wanted])
    if roles is not None:  # an empty list matches nobody, as for statuses
        queryset = queryset.filter(role__in=[r.value for r in roles])
    term = _search_term(search)
    if term:
        match = Q(name__icontains=term) | Q(username__icontains=term)
        if privileged:  # emails are searchable only by those who may read them
            match |= Q(email__icontains=term)
        queryset = queryset.filter(match)
    field = order_by.field.value if order_by else "NAME"
    if field == "EMAIL" and not privileged:
        # Cursors carry the sort values, and the order itself tells about the addresses.
        raise GraphQLError(
            "Ordering by email needs a role that may read emails.",
            extensions={"code": FORBIDDEN},
        )
    descending = bool(order_by) and order_by.direction.value == "DESC"
    page = await paginate(
        queryset,
        Order(MEMBER_ORDER[field], descending),
        first=first,
        after=after,
        last=last,
        before=before,
        offset=offset,
    )
    viewer = info.context.viewer.user
    nodes = {}
    for row in page.rows:
        node = MemberType.from_model(row)
        node.email_visible = privileged or (viewer is not None and viewer.id == row.user_id)
        nodes[row.pk] = node
    await preload(info, list(nodes.values()), privileged)
    return connection(page, lambda row: nodes[row.pk], queryset.count)


INVITATION_ORDER = {
    "EMAIL": ("email",),
    "CREATED_AT": ("created_at",),
    "EXPIRES_AT": ("expires_at",),
}


def invitation_status_filter(statuses: list[InvitationStatus]) -> Q:
    """Filter on the status as it reads: PENDING past expiry is EXPIRED."""
    now = datetime.now(UTC)
    clauses = []
    for status in set(statuses):
        if status == InvitationStatus.PENDING:
            clauses.append(Q(status=InvitationStatus.PENDING, expires_at__gt=now))
        elif status == InvitationStatus.EXPIRED:
            clauses.append(Q(status=InvitationStatus.EXPIRED))
            clauses.append(Q(status=InvitationStatus.PENDING, expires_at__lte=now))
        else:
            clauses.append(Q(status=status))
    return Q(*clauses, join_type="OR")


async def invitations(
    info: strawberry.Info,
    org: OrganizationType,
    first: int | None,
    after: str | None,
    offset: int | None,
    search: str | None,
    statuses: list[InvitationStatus] | None,
    order_by: Any,
) -> Any:
    from app.schema.invitations import InvitationType

    queryset = Invitation.filter(organization_id=org.pk)
    if statuses is not None:
        if not statuses:
            queryset = queryset.filter(id__in=[])
        else:
            queryset = queryset.filter(invitation_status_filter(statuses))
    term = _search_term(search)
    if term:
        queryset = queryset.filter(email__icontains=term)
    field = order_by.field.value if order_by else "CREATED_AT"
    descending = not order_by or order_by.direction.value == "DESC"
    page = await paginate(
        queryset,
        Order(INVITATION_ORDER[field], descending),
        first=first,
        after=after,
        offset=offset,
    )
    return connection(page, InvitationType.from_model, queryset.count)


async def _org_pk(info: strawberry.Info, global_id: str) -> int:
    """The organization's pk when the viewer is in it, else NOT_FOUND."""
    pk = pk_of(global_id, "Organization")
    if pk is None or await info.context.access(pk) is None:
        raise not_found("Organization", "organizationId")
    return pk


async def create_organization(info: strawberry.Info, input: Any) -> Any:
    from app.schema.organizations import OrganizationPayload, OrganizationType

    async def change() -> dict[str, Any]:
        org = await service.create_organization(
            info.context.viewer.user, input.name, input.slug, info.context.ip
        )
        return {"organization": OrganizationType.from_model(org)}

    return await mutate(info, OrganizationPayload, change)


async def update_organization(info: strawberry.Info, input: Any) -> Any:
    from app.schema.organizations import OrganizationPayload, OrganizationType

    async def change() -> dict[str, Any]:
        pk = await _org_pk(info, input.organization_id)
        changes = {
            key: getattr(input, key)
            for key in ("name", "invitation_ttl_days", "allowed_email_domains", "seat_limit")
            if getattr(input, key) is not strawberry.UNSET
        }
        access = await info.context.access(pk)
        org = await service.update_organization(info.context.actor(access), pk, changes)
        return {"organization": OrganizationType.from_model(org)}

    return await mutate(info, OrganizationPayload, change)


async def delete_organization(info: strawberry.Info, input: Any) -> Any:
    from app.schema.organizations import DeleteOrganizationPayload

    async def change() -> dict[str, Any]:
        pk = await _org_pk(info, input.organization_id)
        access = await info.context.access(pk)
        await service.delete_organization(info.context.actor(access), pk, input.confirm_name)
        return {"ok": True}

    return await mutate(info, DeleteOrganizationPayload, change)
