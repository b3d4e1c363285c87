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
from app.schema.errors import INPUT, UserError, errors_field, object_field, ok_field
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


@strawberry.type(
    name="Invitation",
    description="An emailed invitation to join an organization. Visible to the organization's "
    "OWNER and ADMINs, and (as `me.pendingInvitations`) to the invitee once verified.",
)
class InvitationType(Node):
    id: strawberry.ID = strawberry.field(description="Opaque global id.")
    email: str = strawberry.field(description="The invited address (lower case).")
    username: str | None = strawberry.field(
        description="The username the member will get; null when none was given."
    )
    role: OrganizationRole = strawberry.field(description="The role the member will get.")
    status: InvitationStatus = strawberry.field(
        description="PENDING past `expiresAt` reads as EXPIRED."
    )
    message: str | None = strawberry.field(
        description="A personal note included in the mail; null when none."
    )
    created_at: datetime = strawberry.field(description="When it was created.")
    expires_at: datetime = strawberry.field(description="When its link stops working.")
    accepted_at: datetime | None = strawberry.field(
        description="When it was accepted; null unless ACCEPTED."
    )
    send_count: int = strawberry.field(description="How many times it was mailed (1 + resends).")
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

    @strawberry.field(description="The organization it invites to.")
    async def organization(self, info: strawberry.Info) -> OrganizationT:
        return await resolve.organization(info, self)

    @strawberry.field(description="The state of the latest invitation mail.")
    async def delivery_status(self, info: strawberry.Info) -> DeliveryStatus:
        return await resolve.delivery_status(info, self)

    @strawberry.field(
        description="When the latest invitation mail was delivered; null until it is."
    )
    async def sent_at(self, info: strawberry.Info) -> datetime | None:
        return await resolve.sent_at(info, self)

    @strawberry.field(
        description="The member who sent it; null when not visible to the viewer or gone."
    )
    async def invited_by(self, info: strawberry.Info) -> MemberT | None:
        return await resolve.invited_by(info, self)

    @strawberry.field(description="Projects and roles the member gets on accepting.")
    async def project_assignments(self, info: strawberry.Info) -> list[InvitationAssignmentT]:
        from app.resolvers import projects

        return await projects.invitation_assignments(info, self)


register_node("Invitation", resolve.invitation_node)


@strawberry.type(
    description="What an invitation link shows before signing in: enough to decide, nothing more."
)
class InvitationPreview:
    organization_name: str = strawberry.field(description="The inviting organization's name.")
    email: str = strawberry.field(description="The invited address.")
    role: OrganizationRole = strawberry.field(description="The role offered.")
    status: InvitationStatus = strawberry.field(
        description="Only a PENDING invitation can be accepted or declined."
    )
    expires_at: datetime = strawberry.field(description="When the link stops working.")
    invited_by_name: str | None = strawberry.field(
        description="The inviting member's name; null when unknown."
    )


@strawberry.input(description="A project and the role to have on it.")
class ProjectAssignmentInput:
    project_id: strawberry.ID = strawberry.field(
        description="A project of the same organization (NOT_FOUND otherwise)."
    )
    role: ProjectRole = strawberry.field(description="The role on that project.")


@strawberry.input(description="One invitation.")
class InviteMemberInput:
    organization_id: strawberry.ID = strawberry.field(description="The organization.")
    email: str = strawberry.field(
        description="The address to invite (INVALID_EMAIL, ALREADY_MEMBER, ALREADY_INVITED, "
        "DOMAIN_NOT_ALLOWED)."
    )
    username: str | None = strawberry.field(
        default=None,
        description="Up to 64 letters, digits, `.`, `_`, `-`; unique in the organization among "
        "members and pending invitations (USERNAME_TAKEN).",
    )
    role: OrganizationRole = strawberry.field(
        default=OrganizationRole.USER,
        description="Never OWNER (ROLE_NOT_ALLOWED); ADMIN only when the OWNER invites "
        "(FORBIDDEN_ROLE).",
    )
    project_assignments: list[ProjectAssignmentInput] = strawberry.field(
        default_factory=list,
        description="Projects the member gets on accepting (at most 100).",
    )
    expires_in_days: int | None = strawberry.field(
        default=None,
        description="1 to 30; the organization's `invitationTtlDays` when null.",
    )
    message: str | None = strawberry.field(
        default=None, description="A personal note for the mail, up to 2000 characters."
    )
    add_to_default_projects: bool = strawberry.field(
        default=False,
        description="Also assign every default project (`isDefault`) with role USE, unless "
        "`projectAssignments` lists it already.",
    )


@strawberry.input(description="Several invitations with the same settings.")
class InviteMembersInput:
    organization_id: strawberry.ID = strawberry.field(description="The organization.")
    emails: list[str] = strawberry.field(
        description="Up to 100 addresses; each is invited on its own."
    )
    role: OrganizationRole = strawberry.field(
        default=OrganizationRole.USER,
        description="For every address; never OWNER, ADMIN only by the OWNER.",
    )
    expires_in_days: int | None = strawberry.field(
        default=None,
        description="1 to 30; the organization's `invitationTtlDays` when null.",
    )
    message: str | None = strawberry.field(
        default=None, description="A personal note for the mails, up to 2000 characters."
    )


@strawberry.input(description="One invitation.")
class InvitationIdInput:
    invitation_id: strawberry.ID = strawberry.field(description="The invitation.")


@strawberry.input(description="More time for an invitation.")
class ExtendInvitationInput:
    invitation_id: strawberry.ID = strawberry.field(description="The invitation.")
    days: int = strawberry.field(description="1 to 30, added to the later of now and `expiresAt`.")


@strawberry.input(description="Changes to a PENDING invitation; null fields stay as they are.")
class UpdateInvitationInput:
    invitation_id: strawberry.ID = strawberry.field(description="The invitation.")
    role: OrganizationRole | None = strawberry.field(
        default=None, description="The new role; never OWNER, ADMIN only by the OWNER."
    )
    project_assignments: list[ProjectAssignmentInput] | None = strawberry.field(
        default=None, description="Replaces the whole list of project assignments."
    )


@strawberry.input(description="The token of an invitation link.")
class InvitationTokenInput:
    token: str = strawberry.field(
        description="The `token` query parameter of the mailed /invitations/accept link."
    )


@strawberry.type(description="The result of a change to one invitation.")
class InvitationPayload:
    errors: list[UserError] = errors_field()
    invitation: InvitationType | None = object_field("The invitation as it is now.")


@strawberry.type(description="What happened to one address of `inviteMembers`.")
class InviteMembersResult:
    email: str = strawberry.field(description="The address as given.")
    errors: list[UserError] = strawberry.field(
        description="Why this address was not invited; empty when it was."
    )
    invitation: InvitationType | None = object_field("The new invitation.")


@strawberry.type(description="The result of `inviteMembers`.")
class InviteMembersPayload:
    errors: list[UserError] = strawberry.field(
        description="Refusals of the whole request (e.g. more than 100 addresses); each "
        "address's own are in `results`."
    )
    results: list[InviteMembersResult] | None = object_field("One per address, in order.")


@strawberry.type(description="The result of `deleteInvitation`.")
class DeleteInvitationPayload:
    errors: list[UserError] = errors_field()
    ok: bool | None = ok_field()


@strawberry.type(description="The result of `acceptInvitation`.")
class AcceptInvitationPayload:
    errors: list[UserError] = errors_field()
    member: MemberT | None = object_field("The new membership.")


@strawberry.type(description="The result of `declineInvitation`.")
class DeclineInvitationPayload:
    errors: list[UserError] = errors_field()
    ok: bool | None = ok_field()


@strawberry.type
class Query:
    @strawberry.field(
        description="What an invitation link opens; anyone may ask. Null for an unknown, used "
        "or revoked token."
    )
    async def invitation_by_token(
        self,
        info: strawberry.Info,
        token: Annotated[
            str, strawberry.argument(description="The `token` of the invitation link.")
        ],
    ) -> InvitationPreview | None:
        return await resolve.invitation_by_token(info, token)


_org_input = org_of_input("Organization", "organization_id")
_invitation_input = org_of_input("Invitation", "invitation_id")
_invite = guard(HasOrgPermission(Permission.MANAGE_MEMBERS, _org_input))
_manage = guard(HasOrgPermission(Permission.MANAGE_MEMBERS, _invitation_input))


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Invite one address: mails a link, takes a seat. OWNER and ADMIN (FORBIDDEN "
        "otherwise). Codes: NOT_FOUND, INVALID_INPUT, INVALID_EMAIL, ALREADY_MEMBER, "
        "ALREADY_INVITED, USERNAME_TAKEN, ROLE_NOT_ALLOWED, FORBIDDEN_ROLE, DOMAIN_NOT_ALLOWED, "
        "SEAT_LIMIT_REACHED, RATE_LIMITED.",
        extensions=_invite,
    )
    async def invite_member(
        self, info: strawberry.Info, input: Annotated[InviteMemberInput, INPUT]
    ) -> InvitationPayload:
        return await resolve.invite_member(info, input)

    @strawberry.mutation(
        description="Invite several addresses, each on its own: one refusal does not stop the "
        "others. OWNER and ADMIN (FORBIDDEN otherwise). Per-address codes as for `inviteMember`.",
        extensions=_invite,
    )
    async def invite_members(
        self, info: strawberry.Info, input: Annotated[InviteMembersInput, INPUT]
    ) -> InviteMembersPayload:
        return await resolve.invite_members(info, input)

    @strawberry.mutation(
        description="Mail a PENDING or EXPIRED invitation again with a fresh token (older "
        "links stop working); an EXPIRED one also gets a fresh lifetime and takes a seat again. "
        "OWNER and ADMIN (FORBIDDEN otherwise). Codes: NOT_FOUND, INVITATION_NOT_PENDING, "
        "FORBIDDEN_ROLE, SEAT_LIMIT_REACHED, ALREADY_MEMBER, ALREADY_INVITED, RATE_LIMITED.",
        extensions=_manage,
    )
    async def resend_invitation(
        self, info: strawberry.Info, input: Annotated[InvitationIdInput, INPUT]
    ) -> InvitationPayload:
        return await resolve.resend_invitation(info, input)

    @strawberry.mutation(
        description="Withdraw a PENDING or EXPIRED invitation; its link stops working and "
        "its seat frees. OWNER and ADMIN (FORBIDDEN otherwise). Codes: NOT_FOUND, "
        "INVITATION_NOT_PENDING, FORBIDDEN_ROLE.",
        extensions=_manage,
    )
    async def revoke_invitation(
        self, info: strawberry.Info, input: Annotated[InvitationIdInput, INPUT]
    ) -> InvitationPayload:
        return await resolve.revoke_invitation(info, input)

    @strawberry.mutation(
        description="Delete an EXPIRED, REVOKED or DECLINED invitation. OWNER and ADMIN "
        "(FORBIDDEN otherwise). Codes: NOT_FOUND, INVITATION_NOT_DELETABLE, FORBIDDEN_ROLE.",
        extensions=_manage,
    )
    async def delete_invitation(
        self, info: strawberry.Info, input: Annotated[InvitationIdInput, INPUT]
    ) -> DeleteInvitationPayload:
        return await resolve.delete_invitation(info, input)

    @strawberry.mutation(
        description="Add days to a PENDING or EXPIRED invitation's lifetime, from the later "
        "of now and `expiresAt` (no new mail). OWNER and ADMIN (FORBIDDEN otherwise). Codes: "
        "NOT_FOUND, INVALID_INPUT, INVITATION_NOT_PENDING, FORBIDDEN_ROLE, SEAT_LIMIT_REACHED.",
        extensions=_manage,
    )
    async def extend_invitation(
        self, info: strawberry.Info, input: Annotated[ExtendInvitationInput, INPUT]
    ) -> InvitationPayload:
        return await resolve.extend_invitation(info, input)

    @strawberry.mutation(
        description="Change a PENDING invitation's role or project assignments. OWNER and "
        "ADMIN (FORBIDDEN otherwise). Codes: NOT_FOUND, INVALID_INPUT, INVITATION_NOT_PENDING, "
        "ROLE_NOT_ALLOWED, FORBIDDEN_ROLE.",
        extensions=_manage,
    )
    async def update_invitation(
        self, info: strawberry.Info, input: Annotated[UpdateInvitationInput, INPUT]
    ) -> InvitationPayload:
        return await resolve.update_invitation(info, input)

    @strawberry.mutation(
        description="Join with the mailed token; applies the invitation's role and project "
        "assignments. Signed-in users whose email is the invited one (UNAUTHENTICATED; "
        "FORBIDDEN for API keys). Codes: INVALID_TOKEN, INVITATION_EXPIRED, "
        "INVITATION_EMAIL_MISMATCH, ALREADY_MEMBER.",
        extensions=guard(IsUser()),
    )
    async def accept_invitation(
        self, info: strawberry.Info, input: Annotated[InvitationTokenInput, INPUT]
    ) -> AcceptInvitationPayload:
        return await resolve.accept_invitation(info, input)

    @strawberry.mutation(
        description="Decline with the mailed token; the link stops working and the seat frees. "
        "The token proves the invitee: no sign-in needed. Codes: INVALID_TOKEN."
    )
    async def decline_invitation(
        self, info: strawberry.Info, input: Annotated[InvitationTokenInput, INPUT]
    ) -> DeclineInvitationPayload:
        return await resolve.decline_invitation(info, input)
