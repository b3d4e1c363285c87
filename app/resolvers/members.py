"""Members: reads (the members page, a member's links) and member-management changes.

Resolvers return models and raise DomainError; the schema wraps what they return.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, cast

from tortoise.expressions import Q

from app import db
from app.clock import now
from app.errors import DomainError, ErrorCode, not_found
from app.ids import pk_of
from app.models import Member, Organization, User
from app.models.enums import MemberStatus, OrganizationRole
from app.resolvers.context import Context
from app.resolvers.loaders import load_one
from app.resolvers.paging import Order, Page, RecordRow, Window, paginate_records
from app.resolvers.search import search_term
from app.services import members as service
from app.services.expiry import live_at, role_q, status_q
from app.services.validation import check_list_size
from app.services.visibility import (
    may_read_member_email,
    may_see_member_now,
    reads_private,
    visible_statuses,
)


class MemberRow(RecordRow[Member]):
    """A member of a list page read from its row (no Tortoise instance): the columns the
    Member type shows, datetimes read once (`model()`: see RecordRow)."""

    __slots__ = (
        "blocked_at",
        "email",
        "expires_at",
        "id",
        "joined_at",
        "managed_by",
        "name",
        "organization_id",
        "removed_at",
        "role",
        "role_expires_at",
        "role_rank",
        "role_reverts_to",
        "status",
        "title",
        "user_id",
        "username",
    )

    model_class = Member

    def __init__(self, record: Any) -> None:
        super().__init__(record)
        read, optional = db.read_datetime, db.read_optional_datetime
        self.id: int = record["id"]
        self.name: str = record["name"]
        self.email: str = record["email"]
        self.username: str | None = record["username"]
        self.title: str | None = record["title"]
        self.role: str = record["role"]
        self.role_rank: int = record["role_rank"]
        self.status: str = record["status"]
        self.joined_at: datetime = read(record["joined_at"])
        self.blocked_at = optional(record["blocked_at"])
        self.removed_at = optional(record["removed_at"])
        self.expires_at = optional(record["expires_at"])
        self.role_expires_at = optional(record["role_expires_at"])
        self.role_reverts_to: str | None = record["role_reverts_to"]
        self.managed_by: str = record["managed_by"]
        self.user_id: int = record["user_id"]
        self.organization_id: int = record["organization_id"]


class UserRow(NamedTuple):
    """What a members page needs of a member's user (one statement for the page)."""

    id: int
    name: str
    email: str
    email_verified: bool
    created_at: datetime


class AssignmentRow:
    """A member's live project assignment joined with its project, read from the driver's
    row (no per-row tuple of every column): what a query may not ask for, the dates and
    the project's columns (read once per project per page), is read when asked."""

    __slots__ = ("_row", "expires_at", "id", "member_id", "project_id", "role")

    def __init__(self, row: Sequence[Any], expires_at: datetime | None) -> None:
        self._row = row
        self.id: int = row[0]
        self.role: str = row[1]
        self.member_id: int = row[3]
        self.project_id: int = row[4]
        self.expires_at = expires_at

    @property
    def created_at(self) -> datetime:
        return db.read_datetime(self._row[2])

    @property
    def project_name(self) -> str:
        return cast("str", self._row[5])

    @property
    def project_slug(self) -> str:
        return cast("str", self._row[6])

    @property
    def project_is_default(self) -> bool:
        return bool(self._row[7])

    @property
    def project_created_at(self) -> datetime:
        return db.read_datetime(self._row[8])


# Built once; rows read as tuples (no model instances, no per-row dicts) and datetimes
# read with db.read_datetime.
USERS_SQL = (
    "SELECT id, name, email, email_verified_at IS NOT NULL, created_at FROM users"
    " WHERE id IN ({keys})"
)
ASSIGNMENTS_SQL = (
    "SELECT a.id, a.role, a.created_at, a.member_id, a.project_id, p.name, p.slug,"
    " p.is_default, p.created_at, a.expires_at FROM project_assignments a"
    " JOIN projects p ON p.id = a.project_id WHERE a.member_id IN ({keys}) ORDER BY a.id"
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

    page: Page[MemberRow]
    organization_id: int
    # Whether the viewer reads every member's email (else only their own).
    privileged: bool
    viewer_user_id: int | None
    # user id → its row, when the selection asks for `user`.
    users: dict[int, UserRow] | None = None
    # member id → its assignment rows, when it asks for assignments.
    assignments: dict[int, list[AssignmentRow]] | None = field(default=None)
    # The instant the page reads statuses and roles at (the one its query filtered at).
    moment: datetime = field(default_factory=now)

    def email_visible(self, member: MemberRow) -> bool:
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
    if member is None or not may_see_member_now(await ctx.access(member.organization_id), member):
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
    page = await paginate_records(
        queryset, Order(MEMBER_ORDER[order_field], descending), window, MemberRow
    )
    result = MembersPage(page, organization_id, privileged, ctx.user_id, moment=moment)
    if page.rows and with_users:
        result.users = await _user_rows({m.user_id for m in page.rows})
    if page.rows and with_assignments:
        result.assignments = await _assignment_rows([m.id for m in page.rows], moment)
    return result


async def _user_rows(ids: set[int]) -> dict[int, UserRow]:
    read = db.read_datetime
    return {
        row[0]: UserRow(row[0], row[1], row[2], bool(row[3]), read(row[4]))
        for row in await db.rows_for_keys(USERS_SQL, sorted(ids))
    }


async def _assignment_rows(
    member_ids: Sequence[int], moment: datetime
) -> dict[int, list[AssignmentRow]]:
    """The live assignments (app.services.expiry: not past `expires_at` at `moment`)."""
    read = db.read_datetime
    grouped: dict[int, list[AssignmentRow]] = {pk: [] for pk in member_ids}
    for row in await db.rows_for_keys(ASSIGNMENTS_SQL, member_ids):
        expires_at = None if row[9] is None else read(row[9])
        if live_at(expires_at, moment):
            grouped[row[3]].append(AssignmentRow(row, expires_at))
    return grouped


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
