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
from app.schema.errors import UserError
from app.schema.execution import KNOWN_NULL, PRELOADED
from app.schema.node import Node, register_node
from app.schema.permissions import HasOrgPermission, IsUser, guard, org_of_input

if TYPE_CHECKING:
    from app.schema.organizations import OrganizationType
    from app.schema.projects import ProjectAssignmentType

OrganizationT = Annotated["OrganizationType", strawberry.lazy("app.schema.organizations")]
AssignmentT = Annotated["ProjectAssignmentType", strawberry.lazy("app.schema.projects")]


@strawberry.type(name="Member", description="A user's membership of an organization.")
class MemberType(Node):
    id: strawberry.ID
    name: str
    username: str | None
    title: str | None
    role: OrganizationRole
    status: MemberStatus
    joined_at: datetime
    blocked_at: datetime | None
    removed_at: datetime | None
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

    @strawberry.field(metadata={PRELOADED: "preloaded_user"})
    async def user(self, info: strawberry.Info) -> UserType:
        return await resolve.member_user(info, self)

    @strawberry.field
    async def organization(self, info: strawberry.Info) -> OrganizationT:
        return await resolve.member_organization(info, self)

    @strawberry.field
    async def invited_by(self, info: strawberry.Info) -> MemberType | None:
        return await resolve.member_invited_by(info, self)

    @strawberry.field(metadata={PRELOADED: "preloaded_assignments"})
    async def project_assignments(self, info: strawberry.Info) -> list[AssignmentT]:
        from app.resolvers import projects

        return await projects.member_assignments(info, self)


register_node("Member", resolve.member_node)


@strawberry.input
class UpdateMemberRoleInput:
    member_id: strawberry.ID
    role: OrganizationRole


@strawberry.input
class UpdateMemberInput:
    member_id: strawberry.ID
    username: str | None = strawberry.UNSET
    title: str | None = strawberry.UNSET


@strawberry.input
class MemberIdInput:
    member_id: strawberry.ID


@strawberry.input
class RemoveMembersInput:
    member_ids: list[strawberry.ID]


@strawberry.input
class LeaveOrganizationInput:
    organization_id: strawberry.ID


@strawberry.input
class SendPasswordResetInput:
    member_id: strawberry.ID


@strawberry.type
class MemberPayload:
    errors: list[UserError]
    member: MemberType | None = None


@strawberry.type
class RemoveMemberResult:
    member_id: strawberry.ID
    errors: list[UserError]
    member: MemberType | None = None


@strawberry.type
class RemoveMembersPayload:
    errors: list[UserError]
    results: list[RemoveMemberResult] | None = None


@strawberry.type
class OkPayload:
    errors: list[UserError]
    ok: bool | None = None


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
    @strawberry.mutation(extensions=_manage)
    async def update_member_role(
        self, info: strawberry.Info, input: UpdateMemberRoleInput
    ) -> MemberPayload:
        return await resolve.update_member_role(info, input)

    @strawberry.mutation(extensions=_manage)
    async def update_member(self, info: strawberry.Info, input: UpdateMemberInput) -> MemberPayload:
        return await resolve.update_member(info, input)

    @strawberry.mutation(extensions=_manage)
    async def block_member(self, info: strawberry.Info, input: MemberIdInput) -> MemberPayload:
        return await resolve.block_member(info, input)

    @strawberry.mutation(extensions=_manage)
    async def unblock_member(self, info: strawberry.Info, input: MemberIdInput) -> MemberPayload:
        return await resolve.unblock_member(info, input)

    @strawberry.mutation(extensions=_manage)
    async def remove_member(self, info: strawberry.Info, input: MemberIdInput) -> MemberPayload:
        return await resolve.remove_member(info, input)

    @strawberry.mutation(
        extensions=guard(HasOrgPermission(Permission.MANAGE_MEMBERS, _org_of_first_member))
    )
    async def remove_members(
        self, info: strawberry.Info, input: RemoveMembersInput
    ) -> RemoveMembersPayload:
        return await resolve.remove_members(info, input)

    @strawberry.mutation(
        extensions=guard(IsUser(), HasOrgPermission(Permission.READ_ORGANIZATION, _org_input))
    )
    async def leave_organization(
        self, info: strawberry.Info, input: LeaveOrganizationInput
    ) -> OkPayload:
        return await resolve.leave_organization(info, input)

    @strawberry.mutation(extensions=_manage)
    async def send_password_reset(
        self, info: strawberry.Info, input: SendPasswordResetInput
    ) -> OkPayload:
        return await resolve.send_password_reset(info, input)
