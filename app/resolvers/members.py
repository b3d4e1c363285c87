"""Members: reads (the members page, a member's links) and member-management changes.

Resolvers return models and raise DomainError; the schema wraps what they return.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tortoise.expressions import Q

from app.clock import now
from app.errors import DomainError, ErrorCode, not_found
from app.ids import pk_of
from app.models import Member, Organization, ProjectAssignment, User
from app.models.enums import MemberStatus, OrganizationRole
from app.resolvers.context import Context
from app.resolvers.loaders import load_one
from app.resolvers.paging import Order, Page, Window, paginate
from app.resolvers.search import search_term
from app.services import members as service
from app.services.expiry import assignment_live_q, role_q, status_now, status_q
from app.services.validation import check_list_size
from app.services.visibility import (
    may_read_member_email,
    may_see_member,
    reads_private,
    visible_statuses,
)

USER_COLUMNS = ("id", "name", "email", "email_verified_at", "created_at")
ASSIGNMENT_COLUMNS = (
    "id",
    "role",
    "created_at",
    "member_id",
    "project_id",
    "project__name",
    "project__slug",
    "project__is_default",
    "project__created_at",
    "expires_at",
)
MEMBER_ORDER = {
    "NAME": ("name",),
    "EMAIL": ("email",),
    "JOINED_AT": ("joined_at",),
    "ROLE": ("role_rank",),
}


@dataclass
class MembersPage:
    """A page of members with what the selection needs of them, fetched in bulk."""

    page: Page[Member]
    organization_id: int
    # Whether the viewer reads every member's email (else only their own).
    privileged: bool
    viewer_user_id: int | None
    # user id → `values()` row of USER_COLUMNS, when the selection asks for `user`.
    users: dict[int, dict[str, Any]] | None = None
    # member id → `values()` rows of ASSIGNMENT_COLUMNS, when it asks for assignments.
    assignments: dict[int, list[dict[str, Any]]] | None = field(default=None)

    def email_visible(self, member: Member) -> bool:
        return self.privileged or member.user_id == self.viewer_user_id


async def member_email_visible(ctx: Context, member: Member) -> bool:
    return may_read_member_email(
        await ctx.access(member.organization_id), ctx.is_self(member.user_id)
    )


async def member_user(ctx: Context, member: Member) -> User:
    user = await load_one(ctx, User, member.user_id)
    assert user is not None  # a member's user is deleted with the member (cascade)
    return user


async def member_organization(ctx: Context, member: Member) -> Organization:
    organization = await load_one(ctx, Organization, member.organization_id)
    assert organization is not None  # cascade, as above
    return organization


async def member_invited_by(ctx: Context, member: Member) -> Member | None:
    return await member_node(ctx, member.invited_by_id)


async def member_node(ctx: Context, pk: int | None) -> Member | None:
    """The member, if the viewer may see it."""
    member = await load_one(ctx, Member, pk)
    if member is None or not may_see_member(
        await ctx.access(member.organization_id), status_now(member)
    ):
        return None
    return member


async def visible_member(ctx: Context, global_id: str, field: str) -> Member:
    """The member behind an input id, if the viewer can see it; else NOT_FOUND."""
    member = await member_node(ctx, pk_of(global_id, "Member"))
    if member is None:
        raise not_found("Member", field)
    return member


async def organization_members(
    ctx: Context,
    organization_id: int,
    *,
    window: Window,
    search: str | None,
    roles: list[OrganizationRole] | None,
    statuses: list[MemberStatus] | None,
    order_field: str,
    descending: bool,
    with_users: bool,
    with_assignments: bool,
) -> MembersPage:
    access = await ctx.access(organization_id)
    privileged = reads_private(access)
    wanted = visible_statuses(access, set(statuses) if statuses is not None else None)
    moment = now()
    # Status and role as they read at this instant (app.services.expiry).
    queryset = Member.filter(status_q(wanted, moment), organization_id=organization_id)
    if roles is not None:  # an empty list matches nobody, as for statuses
        queryset = queryset.filter(role_q(roles, moment))
    term = search_term(search)
    if term:
        match = Q(name__icontains=term) | Q(username__icontains=term)
        if privileged:  # emails are searchable only by those who may read them
            match |= Q(email__icontains=term)
        queryset = queryset.filter(match)
    if order_field == "EMAIL" and not privileged:
        # Cursors carry the sort values, and the order itself tells about the addresses.
        raise DomainError(
            ErrorCode.FORBIDDEN, "Ordering by email needs a role that may read emails."
        )
    page = await paginate(queryset, Order(MEMBER_ORDER[order_field], descending), window)
    result = MembersPage(page, organization_id, privileged, ctx.user_id)
    if page.rows and with_users:
        rows = await User.filter(id__in=[m.user_id for m in page.rows]).values(*USER_COLUMNS)
        result.users = {row["id"]: row for row in rows}
    if page.rows and with_assignments:
        ids = [m.pk for m in page.rows]
        grouped: dict[int, list[dict[str, Any]]] = {pk: [] for pk in ids}
        for row in (
            await ProjectAssignment.filter(assignment_live_q(moment), member_id__in=ids)
            .order_by("id")
            .values(*ASSIGNMENT_COLUMNS)
        ):
            grouped[row["member_id"]].append(row)
        result.assignments = grouped
    return result


# Changes: the permission class found the member's organization and the viewer's access.


async def update_member_role(
    ctx: Context, role: OrganizationRole, until: datetime | None = None
) -> Member:
    member_id, actor = ctx.authz_actor("Member", "memberId")
    return await service.update_role(actor, member_id, role, until)


async def set_member_expiry(ctx: Context, expires_at: datetime | None) -> Member:
    member_id, actor = ctx.authz_actor("Member", "memberId")
    return await service.set_expiry(actor, member_id, expires_at)


async def update_member(ctx: Context, changes: dict[str, str | None]) -> Member:
    member_id, actor = ctx.authz_actor("Member", "memberId")
    return await service.update_profile(actor, member_id, changes)


async def block_member(ctx: Context) -> Member:
    member_id, actor = ctx.authz_actor("Member", "memberId")
    return await service.block(actor, member_id)


async def unblock_member(ctx: Context) -> Member:
    member_id, actor = ctx.authz_actor("Member", "memberId")
    return await service.unblock(actor, member_id)


async def remove_member(ctx: Context) -> Member:
    member_id, actor = ctx.authz_actor("Member", "memberId")
    return await service.remove(actor, member_id)


async def remove_members(
    ctx: Context, member_ids: list[str]
) -> list[tuple[str, Member | DomainError]]:
    """Each member on its own: one refusal does not stop the rest."""
    check_list_size(member_ids, "memberIds")
    results: list[tuple[str, Member | DomainError]] = []
    for global_id in member_ids:
        try:
            member = await visible_member(ctx, global_id, "memberIds")
            actor = ctx.actor(await ctx.access(member.organization_id))
            results.append((global_id, await service.remove(actor, member.id)))
        except DomainError as error:
            results.append((global_id, error))
        ctx.after_write()
    return results


async def leave_organization(ctx: Context) -> None:
    organization_id, actor = ctx.authz_actor("Organization", "organizationId")
    assert ctx.viewer.user is not None  # IsUser ran first
    await service.leave(actor, organization_id, ctx.viewer.user)


async def send_password_reset(ctx: Context) -> None:
    member_id, actor = ctx.authz_actor("Member", "memberId")
    await service.send_password_reset(actor, member_id)
