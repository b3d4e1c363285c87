"""Member management: role, profile, block, unblock, remove, leave, password reset."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from app.auth.roles import Permission
from app.errors import DomainError
from app.models import Member
from app.models.enums import OrganizationRole
from app.resolvers import members as resolve
from app.schema.context import Info
from app.schema.errors import (
    INPUT,
    OkPayload,
    UserError,
    errors_field,
    mutation,
    object_field,
)
from app.schema.members.types import MemberType
from app.schema.permissions import FirstOfInput, IsUser, OrgInput


@strawberry.input(description="A member's new role.")
class UpdateMemberRoleInput:
    member_id: strawberry.ID = strawberry.field(description="The member.")
    role: OrganizationRole = strawberry.field(
        description="ADMIN, USER or VIEWER (OWNER moves only by transfer: ROLE_NOT_ALLOWED); "
        "granting ADMIN needs the OWNER (FORBIDDEN_ROLE)."
    )
    until: datetime | None = strawberry.field(
        default=None,
        description="Make the role temporary: at this instant (in the future, within 5 years: "
        "INVALID_INPUT) it reverts to the member's lasting role. Null: the role is lasting, "
        "and any pending revert is cleared.",
    )


@strawberry.input(description="When a membership ends.")
class SetMemberExpiryInput:
    member_id: strawberry.ID = strawberry.field(description="The member (not the OWNER).")
    expires_at: datetime | None = strawberry.field(
        default=None,
        description="From this instant (in the future, within 5 years: INVALID_INPUT) the "
        "member is REMOVED; null (or omitted) clears it.",
    )


@strawberry.input(description="Profile fields to change; omitted fields stay as they are.")
class UpdateMemberInput:
    member_id: strawberry.ID = strawberry.field(description="The member.")
    username: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="Unique in the organization (USERNAME_TAKEN); null clears it.",
    )
    title: str | None = strawberry.field(
        default=strawberry.UNSET, description="A job title; null clears it."
    )


@strawberry.input(description="One member.")
class MemberIdInput:
    member_id: strawberry.ID = strawberry.field(description="The member.")


@strawberry.input(description="Members to remove, each on its own.")
class RemoveMembersInput:
    member_ids: list[strawberry.ID] = strawberry.field(
        description="Members of one organization (the first one's decides the permission check)."
    )


@strawberry.input(description="The organization to leave.")
class LeaveOrganizationInput:
    organization_id: strawberry.ID = strawberry.field(description="The organization.")


@strawberry.input(description="Whom to mail a password-reset link.")
class SendPasswordResetInput:
    member_id: strawberry.ID = strawberry.field(description="The member.")


@strawberry.type(description="The result of a change to one member.")
class MemberPayload:
    errors: list[UserError] = errors_field()
    member: MemberType | None = object_field("The member as it is now.")


@strawberry.type(description="What happened to one member of `removeMembers`.")
class RemoveMemberResult:
    member_id: strawberry.ID = strawberry.field(description="The id as given in `memberIds`.")
    errors: list[UserError] = strawberry.field(
        description="Why this member was not removed; empty when removed."
    )
    member: MemberType | None = object_field("The removed member.")


@strawberry.type(description="The result of `removeMembers`.")
class RemoveMembersPayload:
    errors: list[UserError] = strawberry.field(
        default_factory=list,
        description="Refusals of the whole request (e.g. too many ids); each member's own are "
        "in `results`.",
    )
    results: list[RemoveMemberResult] | None = object_field("One per id, in order.")


def _member(member_id: strawberry.ID, found: Member | DomainError) -> RemoveMemberResult:
    if isinstance(found, DomainError):
        return RemoveMemberResult(member_id=member_id, errors=[UserError.from_domain(found)])
    return RemoveMemberResult(member_id=member_id, errors=[], member=MemberType.from_model(found))


def _manage() -> OrgInput:
    return OrgInput(Permission.MANAGE_MEMBERS, "Member", "member_id")


@strawberry.type
class Mutation:
    @mutation(
        "Change a member's role, for good or `until` an instant. OWNER and ADMIN (FORBIDDEN "
        "otherwise); only the OWNER manages ADMINs or grants ADMIN. Codes: NOT_FOUND, "
        "ROLE_NOT_ALLOWED, FORBIDDEN_ROLE, OWNER_PROTECTED, MEMBER_REMOVED, LAST_ADMIN, "
        "INVALID_INPUT.",
        _manage(),
    )
    async def update_member_role(
        self, info: Info, input: Annotated[UpdateMemberRoleInput, INPUT]
    ) -> MemberPayload:
        member = await resolve.update_member_role(info.context, input.role, input.until)
        return MemberPayload(member=MemberType.from_model(member))

    @mutation(
        "Set or clear when a membership ends: from `expiresAt` on the member has no access and "
        "no seat, and is REMOVED (mailed as for a removal) within a minute. The rules of "
        "`removeMember` apply; the OWNER never expires. Codes: NOT_FOUND, INVALID_INPUT, "
        "OWNER_PROTECTED, SELF_ACTION, FORBIDDEN_ROLE, MEMBER_REMOVED, LAST_ADMIN.",
        _manage(),
    )
    async def set_member_expiry(
        self, info: Info, input: Annotated[SetMemberExpiryInput, INPUT]
    ) -> MemberPayload:
        member = await resolve.set_member_expiry(info.context, input.expires_at)
        return MemberPayload(member=MemberType.from_model(member))

    @mutation(
        "Change a member's username or title. OWNER and ADMIN (FORBIDDEN otherwise). Codes: "
        "NOT_FOUND, INVALID_INPUT, USERNAME_TAKEN, MEMBER_REMOVED, FORBIDDEN_ROLE.",
        _manage(),
    )
    async def update_member(
        self, info: Info, input: Annotated[UpdateMemberInput, INPUT]
    ) -> MemberPayload:
        changes = {
            key: value
            for key, value in (("username", input.username), ("title", input.title))
            if value is not strawberry.UNSET
        }
        member = await resolve.update_member(info.context, changes)
        return MemberPayload(member=MemberType.from_model(member))

    @mutation(
        "Take a member's access away until unblocked; they keep their seat and (inert) project "
        "assignments. OWNER and ADMIN (FORBIDDEN otherwise). Codes: NOT_FOUND, OWNER_PROTECTED, "
        "SELF_ACTION, MEMBER_REMOVED, FORBIDDEN_ROLE, LAST_ADMIN.",
        _manage(),
    )
    async def block_member(
        self, info: Info, input: Annotated[MemberIdInput, INPUT]
    ) -> MemberPayload:
        member = await resolve.block_member(info.context)
        return MemberPayload(member=MemberType.from_model(member))

    @mutation(
        "Give a BLOCKED member their access back. OWNER and ADMIN (FORBIDDEN otherwise). Codes: "
        "NOT_FOUND, OWNER_PROTECTED, SELF_ACTION, MEMBER_REMOVED, FORBIDDEN_ROLE.",
        _manage(),
    )
    async def unblock_member(
        self, info: Info, input: Annotated[MemberIdInput, INPUT]
    ) -> MemberPayload:
        member = await resolve.unblock_member(info.context)
        return MemberPayload(member=MemberType.from_model(member))

    @mutation(
        "Remove a member: access ends at once, project assignments go, a notice is mailed, the "
        "seat frees. OWNER and ADMIN (FORBIDDEN otherwise). Codes: NOT_FOUND, OWNER_PROTECTED, "
        "SELF_ACTION, MEMBER_REMOVED, FORBIDDEN_ROLE, LAST_ADMIN.",
        _manage(),
    )
    async def remove_member(
        self, info: Info, input: Annotated[MemberIdInput, INPUT]
    ) -> MemberPayload:
        member = await resolve.remove_member(info.context)
        return MemberPayload(member=MemberType.from_model(member))

    @mutation(
        "Remove several members of one organization, each on its own: one refusal does not stop "
        "the others. OWNER and ADMIN (FORBIDDEN otherwise). Per-member codes as for "
        "`removeMember`.",
        FirstOfInput(Permission.MANAGE_MEMBERS, "Member", "member_ids"),
    )
    async def remove_members(
        self, info: Info, input: Annotated[RemoveMembersInput, INPUT]
    ) -> RemoveMembersPayload:
        found = await resolve.remove_members(info.context, list(input.member_ids))
        return RemoveMembersPayload(results=[_member(strawberry.ID(i), f) for i, f in found])

    @mutation(
        "Leave an organization. Any signed-in member but the OWNER. Codes: NOT_FOUND, "
        "OWNER_PROTECTED, LAST_ADMIN.",
        IsUser(),
        OrgInput(Permission.READ_ORGANIZATION, "Organization", "organization_id"),
    )
    async def leave_organization(
        self, info: Info, input: Annotated[LeaveOrganizationInput, INPUT]
    ) -> OkPayload:
        await resolve.leave_organization(info.context)
        return OkPayload(ok=True)

    @mutation(
        "Mail the member a password-reset link. OWNER and ADMIN (FORBIDDEN otherwise). Codes: "
        "NOT_FOUND, MEMBER_REMOVED, FORBIDDEN_ROLE, RATE_LIMITED.",
        _manage(),
    )
    async def send_password_reset(
        self, info: Info, input: Annotated[SendPasswordResetInput, INPUT]
    ) -> OkPayload:
        await resolve.send_password_reset(info.context)
        return OkPayload(ok=True)
