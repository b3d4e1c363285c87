"""Invitations: the Invitation type, the preview, and the lifecycle mutations."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import Private

from app.auth.roles import Permission
from app.ids import to_global_id
from app.models import Invitation
from app.models.enums import DeliveryStatus, InvitationStatus, OrganizationRole, ProjectRole
from app.resolvers import invitations as resolve
from app.schema.errors import UserError
from app.schema.node import Node, register_node
from app.schema.permissions import HasOrgPermission, IsUser, guard, org_of_input
from app.services.invitations import effective_status

if TYPE_CHECKING:
    from app.schema.members import MemberType
    from app.schema.organizations import OrganizationType
    from app.schema.projects import InvitationProjectAssignmentType

OrganizationT = Annotated["OrganizationType", strawberry.lazy("app.schema.organizations")]
MemberT = Annotated["MemberType", strawberry.lazy("app.schema.members")]
InvitationAssignmentT = Annotated[
    "InvitationProjectAssignmentType", strawberry.lazy("app.schema.projects")
]


@strawberry.type(name="Invitation")
class InvitationType(Node):
    id: strawberry.ID
    email: str
    username: str | None
    role: OrganizationRole
    status: InvitationStatus
    message: str | None
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None
    send_count: int
    pk: Private[int]
    organization_id: Private[int]
    invited_by_id: Private[int | None]
    last_mail_id: Private[int | None]

    @classmethod
    def from_model(cls, invitation: Invitation) -> InvitationType:
        return cls(
            id=strawberry.ID(to_global_id("Invitation", invitation.pk)),
            email=invitation.email,
            username=invitation.username,
            role=OrganizationRole(invitation.role),
            status=effective_status(invitation),
            message=invitation.message,
            created_at=invitation.created_at,
            expires_at=invitation.expires_at,
            accepted_at=invitation.accepted_at,
            send_count=invitation.send_count,
            pk=invitation.pk,
            organization_id=invitation.organization_id,
            invited_by_id=invitation.invited_by_id,
            last_mail_id=invitation.last_mail_id,
        )

    @strawberry.field
    async def organization(self, info: strawberry.Info) -> OrganizationT:
        return await resolve.organization(info, self)

    @strawberry.field(description="The state of the latest invitation mail.")
    async def delivery_status(self, info: strawberry.Info) -> DeliveryStatus:
        return await resolve.delivery_status(info, self)

    @strawberry.field(description="When the latest invitation mail was delivered.")
    async def sent_at(self, info: strawberry.Info) -> datetime | None:
        return await resolve.sent_at(info, self)

    @strawberry.field
    async def invited_by(self, info: strawberry.Info) -> MemberT | None:
        return await resolve.invited_by(info, self)

    @strawberry.field
    async def project_assignments(self, info: strawberry.Info) -> list[InvitationAssignmentT]:
        from app.resolvers import projects

        return await projects.invitation_assignments(info, self)


register_node("Invitation", resolve.invitation_node)


@strawberry.type
class InvitationPreview:
    organization_name: str
    email: str
    role: OrganizationRole
    status: InvitationStatus
    expires_at: datetime
    invited_by_name: str | None


@strawberry.input
class ProjectAssignmentInput:
    project_id: strawberry.ID
    role: ProjectRole


@strawberry.input
class InviteMemberInput:
    organization_id: strawberry.ID
    email: str
    username: str | None = None
    role: OrganizationRole = OrganizationRole.USER
    project_assignments: list[ProjectAssignmentInput] = strawberry.field(default_factory=list)
    expires_in_days: int | None = None
    message: str | None = None
    add_to_default_projects: bool = False


@strawberry.input
class InviteMembersInput:
    organization_id: strawberry.ID
    emails: list[str]
    role: OrganizationRole = OrganizationRole.USER
    expires_in_days: int | None = None
    message: str | None = None


@strawberry.input
class InvitationIdInput:
    invitation_id: strawberry.ID


@strawberry.input
class ExtendInvitationInput:
    invitation_id: strawberry.ID
    days: int


@strawberry.input
class UpdateInvitationInput:
    invitation_id: strawberry.ID
    role: OrganizationRole | None = None
    project_assignments: list[ProjectAssignmentInput] | None = None


@strawberry.input
class InvitationTokenInput:
    token: str


@strawberry.type
class InvitationPayload:
    errors: list[UserError]
    invitation: InvitationType | None = None


@strawberry.type
class InviteMembersResult:
    email: str
    errors: list[UserError]
    invitation: InvitationType | None = None


@strawberry.type
class InviteMembersPayload:
    errors: list[UserError]
    results: list[InviteMembersResult] | None = None


@strawberry.type
class DeleteInvitationPayload:
    errors: list[UserError]
    ok: bool | None = None


@strawberry.type
class AcceptInvitationPayload:
    errors: list[UserError]
    member: MemberT | None = None


@strawberry.type
class DeclineInvitationPayload:
    errors: list[UserError]
    ok: bool | None = None


@strawberry.type
class Query:
    @strawberry.field(description="What an invitation link opens; anonymous callers may ask.")
    async def invitation_by_token(
        self, info: strawberry.Info, token: str
    ) -> InvitationPreview | None:
        return await resolve.invitation_by_token(info, token)


_org_input = org_of_input("Organization", "organization_id")
_invitation_input = org_of_input("Invitation", "invitation_id")
_invite = guard(HasOrgPermission(Permission.MANAGE_MEMBERS, _org_input))
_manage = guard(HasOrgPermission(Permission.MANAGE_MEMBERS, _invitation_input))


@strawberry.type
class Mutation:
    @strawberry.mutation(extensions=_invite)
    async def invite_member(
        self, info: strawberry.Info, input: InviteMemberInput
    ) -> InvitationPayload:
        return await resolve.invite_member(info, input)

    @strawberry.mutation(extensions=_invite)
    async def invite_members(
        self, info: strawberry.Info, input: InviteMembersInput
    ) -> InviteMembersPayload:
        return await resolve.invite_members(info, input)

    @strawberry.mutation(extensions=_manage)
    async def resend_invitation(
        self, info: strawberry.Info, input: InvitationIdInput
    ) -> InvitationPayload:
        return await resolve.resend_invitation(info, input)

    @strawberry.mutation(extensions=_manage)
    async def revoke_invitation(
        self, info: strawberry.Info, input: InvitationIdInput
    ) -> InvitationPayload:
        return await resolve.revoke_invitation(info, input)

    @strawberry.mutation(extensions=_manage)
    async def delete_invitation(
        self, info: strawberry.Info, input: InvitationIdInput
    ) -> DeleteInvitationPayload:
        return await resolve.delete_invitation(info, input)

    @strawberry.mutation(extensions=_manage)
    async def extend_invitation(
        self, info: strawberry.Info, input: ExtendInvitationInput
    ) -> InvitationPayload:
        return await resolve.extend_invitation(info, input)

    @strawberry.mutation(extensions=_manage)
    async def update_invitation(
        self, info: strawberry.Info, input: UpdateInvitationInput
    ) -> InvitationPayload:
        return await resolve.update_invitation(info, input)

    @strawberry.mutation(extensions=guard(IsUser()))
    async def accept_invitation(
        self, info: strawberry.Info, input: InvitationTokenInput
    ) -> AcceptInvitationPayload:
        return await resolve.accept_invitation(info, input)

    @strawberry.mutation(description="The token proves the invitee; no sign-in needed.")
    async def decline_invitation(
        self, info: strawberry.Info, input: InvitationTokenInput
    ) -> DeclineInvitationPayload:
        return await resolve.decline_invitation(info, input)
