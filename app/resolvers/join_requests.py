"""Join requests: reads (an organization's queue, the viewer's own requests and
suggestions, a request's links) and the request / approve / deny / withdraw changes.

Resolvers return models and raise DomainError; the schema wraps what they return.
"""

from __future__ import annotations

from app.errors import DomainError, ErrorCode, not_found
from app.ids import pk_of
from app.models import JoinRequest, Member, Organization, User
from app.models.enums import JoinRequestStatus, OrganizationRole
from app.resolvers.context import Context
from app.resolvers.loaders import load_one
from app.resolvers.paging import Order, Page, Window, paginate
from app.services import join_requests as service
from app.services.visibility import may_see_member_now, reads_private

MAX_OWN_REQUESTS = 100


async def organization_join_requests(
    ctx: Context, organization_id: int, *, window: Window, statuses: list[JoinRequestStatus] | None
) -> Page[JoinRequest]:
    """The organization's join requests, oldest first (a queue); ADMIN+ (the field's
    permission class)."""
    queryset = JoinRequest.filter(organization_id=organization_id)
    if statuses is not None:
        if not statuses:
            queryset = queryset.filter(id__in=[])
        else:
            queryset = queryset.filter(service.status_filter(statuses))
    return await paginate(queryset, Order(("created_at",)), window)


async def join_request_node(ctx: Context, pk: int) -> JoinRequest | None:
    """The request, for ADMIN+ of its organization and for the requester."""
    request = await load_one(ctx, JoinRequest, pk)
    if request is None:
        return None
    if ctx.is_self(request.user_id) or reads_private(await ctx.access(request.organization_id)):
        return request
    return None


async def join_request_organization(ctx: Context, request: JoinRequest) -> Organization:
    organization = await load_one(ctx, Organization, request.organization_id)
    assert organization is not None  # a request is deleted with its organization
    return organization


async def join_request_user(ctx: Context, request: JoinRequest) -> User:
    user = await load_one(ctx, User, request.user_id)
    assert user is not None  # a request is deleted with its user
    return user


async def join_request_decided_by(ctx: Context, request: JoinRequest) -> Member | None:
    member = await load_one(ctx, Member, request.decided_by_id)
    if member is None or not may_see_member_now(await ctx.access(member.organization_id), member):
        return None
    return member


async def my_join_requests(ctx: Context, user_id: int) -> list[JoinRequest]:
    """The viewer's own requests, newest first; empty for anyone else's user."""
    if not ctx.is_self(user_id):
        return []
    return list(
        await JoinRequest.filter(user_id=user_id)
        .order_by("-created_at", "-id")
        .limit(MAX_OWN_REQUESTS)
    )


async def suggested_organizations(ctx: Context, user_id: int) -> list[Organization]:
    """Organizations the viewer may ask to join; empty for anyone else's user."""
    user = ctx.viewer.user
    if user is None or user.id != user_id:
        return []
    return await service.suggested_organizations(user)


async def suggestion_node(ctx: Context, pk: int) -> Organization | None:
    """An OrganizationSuggestion id: the organization, while it is suggested to the viewer."""
    user = ctx.viewer.user
    if user is None or not await service.is_suggested(user, pk):
        return None
    return await load_one(ctx, Organization, pk)


# Changes.


def _user(ctx: Context) -> User:
    user = ctx.viewer.user
    assert user is not None  # IsUser ran first
    return user


async def request_to_join(ctx: Context, organization_id: str, message: str | None) -> JoinRequest:
    """The organization by its Organization id or an OrganizationSuggestion id (the same
    organization)."""
    pk = pk_of(organization_id, "Organization") or pk_of(organization_id, "OrganizationSuggestion")
    if pk is None or not await Organization.exists(id=pk):
        raise not_found("Organization", "organizationId")
    return await service.request_to_join(_user(ctx), pk, message, ctx.ip)


async def approve_join_request(ctx: Context, role: OrganizationRole | None) -> Member:
    request_id, actor = ctx.authz_actor("JoinRequest", "joinRequestId")
    return await service.approve(actor, request_id, role)


async def deny_join_request(ctx: Context) -> JoinRequest:
    request_id, actor = ctx.authz_actor("JoinRequest", "joinRequestId")
    return await service.deny(actor, request_id)


async def withdraw_join_request(ctx: Context, join_request_id: str) -> JoinRequest:
    pk = pk_of(join_request_id, "JoinRequest")
    if pk is None:
        raise not_found("JoinRequest", "joinRequestId")
    user = _user(ctx)
    try:
        return await service.withdraw(user, pk, ctx.ip)
    except DomainError as error:
        # An ADMIN who sees the request but did not make it: say why, not "not found".
        if error.code == ErrorCode.NOT_FOUND and await join_request_node(ctx, pk) is not None:
            raise DomainError(
                ErrorCode.FORBIDDEN_ROLE, "Only the requester may withdraw it.", "joinRequestId"
            ) from error
        raise
