"""Members: the Member type and the member-management mutations."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import Private

from app.auth.roles import Permission
from app.ids import to_global_id
from app.models import Member
from app.models.enums import MemberStatus, OrganizationRole
from app.resolvers import members as resolve
from app.schema.accounts import UserType
from app.schema.errors import INPUT, UserError, errors_field, object_field, ok_field
from app.schema.execution import KNOWN_NULL, PRELOADED
from app.schema.node import Node, register_node
from app.schema.permissions import HasOrgPermission, IsUser, guard, org_of_input

if TYPE_CHECKING:
    from app.schema.organizations import OrganizationType
    from app.schema.projects import ProjectAssignmentType

OrganizationT = Annotated["OrganizationType", strawberry.lazy("app.schema.organizations")]
AssignmentT = Annotated["ProjectAssignmentType", strawberry.lazy("app.schema.projects")]


@strawberry.type(
    name="Member",
    description="A user's membership of an organization. Any active member of the "
    "organization sees ACTIVE members; OWNER and ADMIN also see BLOCKED and REMOVED ones.",
)
class MemberType(Node):
    id: strawberry.ID = strawberry.field(description="Opaque global id.")
    name: str = strawberry.field(description="The user's name.")
    username: str | None = strawberry.field(
        description="A handle unique in the organization; null when none was given."
    )
    title: str | None = strawberry.field(description="A job title; null when none was given.")
    role: OrganizationRole = strawberry.field(description="The member's role here.")
    status: MemberStatus = strawberry.field(description="ACTIVE, BLOCKED or REMOVED.")
    joined_at: datetime = strawberry.field(description="When they joined.")
    blocked_at: datetime | None = strawberry.field(
        description="When they were blocked; null unless BLOCKED."
    )
    removed_at: datetime | None = strawberry.field(
        description="When they were removed or left; null unless REMOVED."
    )
    pk: Private[int]
    organization_id: Private[int]
    user_id: Private[int]
    invited_by_id: Private[int | None]
    raw_email: Private[str]
    # Whether the viewer may read the email, when the path that built this
    # object already knows (None: work it out when asked).
    email_visible: Private[bool | None] = None
    # Filled by list resolvers that fetched them in bulk; fields then resolve
    # synchronously instead of scheduling a DataLoader call each.
    preloaded_user: Private[UserType | None] = None
    preloaded_assignments: Private[list | None] = None

    @classmethod
    def from_model(cls, member: Member, email_visible: bool = False) -> MemberType:
        return cls(
            id=strawberry.ID(to_global_id("Member", member.pk)),
            name=member.name,
            username=member.username,
            title=member.title,
            role=OrganizationRole(member.role),
            status=MemberStatus(member.status),
            joined_at=member.joined_at,
            blocked_at=member.blocked_at,
            removed_at=member.removed_at,
            pk=member.pk,
            organization_id=member.organization_id,
            user_id=member.user_id,
            invited_by_id=member.invited_by_id,
            raw_email=member.email,
            email_visible=email_visible or None,
        )

    @property
    def known_email(self) -> object:
        """The answer of `email` when visibility is already known (see PRELOADED)."""
        if self.email_visible is None:
            return None
        return self.raw_email if self.email_visible else KNOWN_NULL

    @strawberry.field(
        description="ADMIN+ or the member themself; null for anyone else.",
        metadata={PRELOADED: "known_email"},
    )
    async def email(self, info: strawberry.Info) -> str | None:
        return await resolve.member_email(info, self)

    @strawberry.field(description="The member's account.", metadata={PRELOADED: "preloaded_user"})
    async def user(self, info: strawberry.Info) -> UserType:
        return await resolve.member_user(info, self)

    @strawberry.field(description="The organization.")
    async def organization(self, info: strawberry.Info) -> OrganizationT:
        return await resolve.member_organization(info, self)

    @strawberry.field(
        description="Who invited them; null for the founder, auto-joined members, or when "
        "that member is not visible."
    )
    async def invited_by(self, info: strawberry.Info) -> MemberType | None:
        return await resolve.member_invited_by(info, self)

    @strawberry.field(
        description="Their roles on projects; empty once REMOVED.",
        metadata={PRELOADED: "preloaded_assignments"},
    )
    async def project_assignments(self, info: strawberry.Info) -> list[AssignmentT]:
        from app.resolvers import projects

        return await projects.member_assignments(info, self)


register_node("Member", resolve.member_node)


@strawberry.input(description="A member's new role.")
class UpdateMemberRoleInput:
    member_id: strawberry.ID = strawberry.field(description="The member.")
    role: OrganizationRole = strawberry.field(
        description="ADMIN, USER or VIEWER (OWNER moves only by transfer: ROLE_NOT_ALLOWED); "
        "granting ADMIN needs the OWNER (FORBIDDEN_ROLE)."
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
        description="Refusals of the whole request (e.g. too many ids); each member's own are "
        "in `results`."
    )
    results: list[RemoveMemberResult] | None = object_field("One per id, in order.")


@strawberry.type(description="The result of a change that returns no object.")
class OkPayload:
    errors: list[UserError] = errors_field()
    ok: bool | None = ok_field()


_member_input = org_of_input("Member", "member_id")
_org_input = org_of_input("Organization", "organization_id")
_manage = guard(HasOrgPermission(Permission.MANAGE_MEMBERS, _member_input))


async def _org_of_first_member(source, info, kwargs):
    ids = getattr(kwargs.get("input"), "member_ids", None) or []
    return await org_of_input("Member", "member_id")(
        source, info, {"input": MemberIdInput(member_id=ids[0])} if ids else {}
    )


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Change a member's role. OWNER and ADMIN (FORBIDDEN otherwise); only the "
        "OWNER manages ADMINs or grants ADMIN. Codes: NOT_FOUND, ROLE_NOT_ALLOWED, FORBIDDEN_ROLE, "
        "OWNER_PROTECTED, MEMBER_REMOVED, LAST_ADMIN.",
        extensions=_manage,
    )
    async def update_member_role(
        self, info: strawberry.Info, input: Annotated[UpdateMemberRoleInput, INPUT]
    ) -> MemberPayload:
        return await resolve.update_member_role(info, input)

    @strawberry.mutation(
        description="Change a member's username or title. OWNER and ADMIN (FORBIDDEN "
        "otherwise). Codes: NOT_FOUND, INVALID_INPUT, USERNAME_TAKEN, MEMBER_REMOVED, "
        "FORBIDDEN_ROLE.",
        extensions=_manage,
    )
    async def update_member(
        self, info: strawberry.Info, input: Annotated[UpdateMemberInput, INPUT]
    ) -> MemberPayload:
        return await resolve.update_member(info, input)

    @strawberry.mutation(
        description="Take a member's access away until unblocked; they keep their seat and "
        "(inert) project assignments. OWNER and ADMIN (FORBIDDEN otherwise). Codes: NOT_FOUND, "
        "OWNER_PROTECTED, SELF_ACTION, MEMBER_REMOVED, FORBIDDEN_ROLE, LAST_ADMIN.",
        extensions=_manage,
    )
    async def block_member(
        self, info: strawberry.Info, input: Annotated[MemberIdInput, INPUT]
    ) -> MemberPayload:
        return await resolve.block_member(info, input)

    @strawberry.mutation(
        description="Give a BLOCKED member their access back. OWNER and ADMIN (FORBIDDEN "
        "otherwise). Codes: NOT_FOUND, OWNER_PROTECTED, SELF_ACTION, MEMBER_REMOVED, "
        "FORBIDDEN_ROLE.",
        extensions=_manage,
    )
    async def unblock_member(
        self, info: strawberry.Info, input: Annotated[MemberIdInput, INPUT]
    ) -> MemberPayload:
        return await resolve.unblock_member(info, input)

    @strawberry.mutation(
        description="Remove a member: access ends at once, project assignments go, a notice "
        "is mailed, the seat frees. OWNER and ADMIN (FORBIDDEN otherwise). Codes: NOT_FOUND, "
        "OWNER_PROTECTED, SELF_ACTION, MEMBER_REMOVED, FORBIDDEN_ROLE, LAST_ADMIN.",
        extensions=_manage,
    )
    async def remove_member(
        self, info: strawberry.Info, input: Annotated[MemberIdInput, INPUT]
    ) -> MemberPayload:
        return await resolve.remove_member(info, input)

    @strawberry.mutation(
        description="Remove several members of one organization, each on its own: one refusal "
        "does not stop the others. OWNER and ADMIN (FORBIDDEN otherwise). Per-member codes as "
        "for `removeMember`.",
        extensions=guard(HasOrgPermission(Permission.MANAGE_MEMBERS, _org_of_first_member)),
    )
    async def remove_members(
        self, info: strawberry.Info, input: Annotated[RemoveMembersInput, INPUT]
    ) -> RemoveMembersPayload:
        return await resolve.remove_members(info, input)

    @strawberry.mutation(
        description="Leave an organization. Any signed-in member but the OWNER. Codes: "
        "NOT_FOUND, OWNER_PROTECTED, LAST_ADMIN.",
        extensions=guard(IsUser(), HasOrgPermission(Permission.READ_ORGANIZATION, _org_input)),
    )
    async def leave_organization(
        self, info: strawberry.Info, input: Annotated[LeaveOrganizationInput, INPUT]
    ) -> OkPayload:
        return await resolve.leave_organization(info, input)

    @strawberry.mutation(
        description="Mail the member a password-reset link. OWNER and ADMIN (FORBIDDEN "
        "otherwise). Codes: NOT_FOUND, MEMBER_REMOVED, FORBIDDEN_ROLE, RATE_LIMITED.",
        extensions=_manage,
    )
    async def send_password_reset(
        self, info: strawberry.Info, input: Annotated[SendPasswordResetInput, INPUT]
    ) -> OkPayload:
        return await resolve.send_password_reset(info, input)
