"""The invitation lifecycle: invite, resend, revoke, delete, extend, update, accept, decline."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from app.auth.roles import Permission
from app.errors import DomainError
from app.models import Invitation
from app.models.enums import OrganizationRole
from app.resolvers import invitations as resolve
from app.resolvers.invitations import ProjectRoleRequest
from app.schema.context import Info
from app.schema.errors import (
    INPUT,
    UserError,
    errors_field,
    mutation,
    object_field,
    ok_field,
)
from app.schema.invitations.types import InvitationType
from app.schema.members.types import MemberType
from app.schema.permissions import IsUser, OrgInput
from app.schema.projects.types import ProjectAssignmentInput


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
    send_email: bool = strawberry.field(
        default=True,
        description="False: no mail is sent; the accept link comes back once, in the "
        "payload's `invitationUrl`, for you to pass on. `resendInvitation` mails it later.",
    )
    membership_expires_at: datetime | None = strawberry.field(
        default=None,
        description="When the membership it grants ends (the member's `expiresAt`): in the "
        "future, at most five years ahead (INVALID_INPUT otherwise). Null: it does not.",
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
    invitation_url: str | None = strawberry.field(
        default=None,
        description="The accept link, `{PUBLIC_URL}/invitations/accept?token=…`: only from "
        "`inviteMember(sendEmail: false)`, and only in that answer (it is stored hashed); "
        "null otherwise.",
    )


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
        default_factory=list,
        description="Refusals of the whole request (e.g. more than 100 addresses); each "
        "address's own are in `results`.",
    )
    results: list[InviteMembersResult] | None = object_field("One per address, in order.")


@strawberry.type(description="The result of `deleteInvitation`.")
class DeleteInvitationPayload:
    errors: list[UserError] = errors_field()
    ok: bool | None = ok_field()


@strawberry.type(description="The result of `acceptInvitation`.")
class AcceptInvitationPayload:
    errors: list[UserError] = errors_field()
    member: MemberType | None = object_field("The new membership.")


@strawberry.type(description="The result of `declineInvitation`.")
class DeclineInvitationPayload:
    errors: list[UserError] = errors_field()
    ok: bool | None = ok_field()


def _assignments(assignments: list[ProjectAssignmentInput]) -> list[ProjectRoleRequest]:
    return [(str(item.project_id), item.role) for item in assignments]


def _invited(email: str, found: Invitation | DomainError) -> InviteMembersResult:
    if isinstance(found, DomainError):
        return InviteMembersResult(email=email, errors=[UserError.from_domain(found)])
    return InviteMembersResult(email=email, errors=[], invitation=InvitationType.from_model(found))


def _invite() -> OrgInput:
    return OrgInput(Permission.MANAGE_MEMBERS, "Organization", "organization_id")


def _manage() -> OrgInput:
    return OrgInput(Permission.MANAGE_MEMBERS, "Invitation", "invitation_id")


@strawberry.type
class Mutation:
    @mutation(
        "Invite one address: mails a link (or, with `sendEmail: false`, returns it once in "
        "`invitationUrl`), takes a seat. OWNER and ADMIN (FORBIDDEN "
        "otherwise). Codes: EMAIL_NOT_VERIFIED, NOT_FOUND, INVALID_INPUT, INVALID_EMAIL, "
        "ALREADY_MEMBER, ALREADY_INVITED, USERNAME_TAKEN, ROLE_NOT_ALLOWED, FORBIDDEN_ROLE, "
        "DOMAIN_NOT_ALLOWED, SEAT_LIMIT_REACHED, RATE_LIMITED.",
        _invite(),
    )
    async def invite_member(
        self, info: Info, input: Annotated[InviteMemberInput, INPUT]
    ) -> InvitationPayload:
        invitation, url = await resolve.invite_member(
            info.context,
            email=input.email,
            role=input.role,
            username=input.username,
            project_assignments=_assignments(input.project_assignments),
            expires_in_days=input.expires_in_days,
            message=input.message,
            add_to_default_projects=input.add_to_default_projects,
            send_email=input.send_email,
            membership_expires_at=input.membership_expires_at,
        )
        return InvitationPayload(
            invitation=InvitationType.from_model(invitation), invitation_url=url
        )

    @mutation(
        "Invite several addresses, each on its own: one refusal does not stop the "
        "others. OWNER and ADMIN (FORBIDDEN otherwise). Codes: EMAIL_NOT_VERIFIED and "
        "INVALID_INPUT refuse the whole request; per-address codes as for `inviteMember`.",
        _invite(),
    )
    async def invite_members(
        self, info: Info, input: Annotated[InviteMembersInput, INPUT]
    ) -> InviteMembersPayload:
        found = await resolve.invite_members(
            info.context,
            list(input.emails),
            role=input.role,
            expires_in_days=input.expires_in_days,
            message=input.message,
        )
        return InviteMembersPayload(results=[_invited(email, f) for email, f in found])

    @mutation(
        "Mail a PENDING or EXPIRED invitation again with a fresh token (older "
        "links stop working); an EXPIRED one also gets a fresh lifetime and takes a seat again. "
        "OWNER and ADMIN (FORBIDDEN otherwise). Codes: NOT_FOUND, INVITATION_NOT_PENDING, "
        "FORBIDDEN_ROLE, SEAT_LIMIT_REACHED, ALREADY_MEMBER, ALREADY_INVITED, RATE_LIMITED.",
        _manage(),
    )
    async def resend_invitation(
        self, info: Info, input: Annotated[InvitationIdInput, INPUT]
    ) -> InvitationPayload:
        invitation = await resolve.resend_invitation(info.context)
        return InvitationPayload(invitation=InvitationType.from_model(invitation))

    @mutation(
        "Withdraw a PENDING or EXPIRED invitation; its link stops working and "
        "its seat frees. OWNER and ADMIN (FORBIDDEN otherwise). Codes: NOT_FOUND, "
        "INVITATION_NOT_PENDING, FORBIDDEN_ROLE.",
        _manage(),
    )
    async def revoke_invitation(
        self, info: Info, input: Annotated[InvitationIdInput, INPUT]
    ) -> InvitationPayload:
        invitation = await resolve.revoke_invitation(info.context)
        return InvitationPayload(invitation=InvitationType.from_model(invitation))

    @mutation(
        "Delete an EXPIRED, REVOKED or DECLINED invitation. OWNER and ADMIN "
        "(FORBIDDEN otherwise). Codes: NOT_FOUND, INVITATION_NOT_DELETABLE, FORBIDDEN_ROLE.",
        _manage(),
    )
    async def delete_invitation(
        self, info: Info, input: Annotated[InvitationIdInput, INPUT]
    ) -> DeleteInvitationPayload:
        await resolve.delete_invitation(info.context)
        return DeleteInvitationPayload(ok=True)

    @mutation(
        "Add days to a PENDING or EXPIRED invitation's lifetime, from the later "
        "of now and `expiresAt` (no new mail). OWNER and ADMIN (FORBIDDEN otherwise). Codes: "
        "NOT_FOUND, INVALID_INPUT, INVITATION_NOT_PENDING, FORBIDDEN_ROLE, SEAT_LIMIT_REACHED.",
        _manage(),
    )
    async def extend_invitation(
        self, info: Info, input: Annotated[ExtendInvitationInput, INPUT]
    ) -> InvitationPayload:
        invitation = await resolve.extend_invitation(info.context, input.days)
        return InvitationPayload(invitation=InvitationType.from_model(invitation))

    @mutation(
        "Change a PENDING invitation's role or project assignments. OWNER and "
        "ADMIN (FORBIDDEN otherwise). Codes: NOT_FOUND, INVALID_INPUT, INVITATION_NOT_PENDING, "
        "ROLE_NOT_ALLOWED, FORBIDDEN_ROLE.",
        _manage(),
    )
    async def update_invitation(
        self, info: Info, input: Annotated[UpdateInvitationInput, INPUT]
    ) -> InvitationPayload:
        assignments = input.project_assignments
        invitation = await resolve.update_invitation(
            info.context, input.role, None if assignments is None else _assignments(assignments)
        )
        return InvitationPayload(invitation=InvitationType.from_model(invitation))

    @mutation(
        "Join with the mailed token; applies the invitation's role and project "
        "assignments. Signed-in users whose email is the invited one (UNAUTHENTICATED; "
        "FORBIDDEN for API keys). Codes: INVALID_TOKEN, INVITATION_EXPIRED, "
        "INVITATION_EMAIL_MISMATCH, ALREADY_MEMBER.",
        IsUser(),
    )
    async def accept_invitation(
        self, info: Info, input: Annotated[InvitationTokenInput, INPUT]
    ) -> AcceptInvitationPayload:
        member = await resolve.accept_invitation(info.context, input.token)
        return AcceptInvitationPayload(member=MemberType.from_model(member))

    @mutation(
        "Decline with the mailed token; the link stops working and the seat frees. "
        "The token proves the invitee: no sign-in needed. Codes: INVALID_TOKEN."
    )
    async def decline_invitation(
        self, info: Info, input: Annotated[InvitationTokenInput, INPUT]
    ) -> DeclineInvitationPayload:
        await resolve.decline_invitation(info.context, input.token)
        return DeclineInvitationPayload(ok=True)
