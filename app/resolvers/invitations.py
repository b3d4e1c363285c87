from __future__ import annotations

from typing import TYPE_CHECKING, Any

import strawberry

from app.errors import DomainError, not_found
from app.ids import pk_of
from app.models import Invitation, Member, Organization, OutboxMail
from app.models.enums import DeliveryStatus
from app.schema.errors import UserError, mutate
from app.schema.loaders import load_one
from app.services import invitations as service
from app.services.invitations import AssignmentSpec, InviteRequest
from app.services.validation import check_list_size

if TYPE_CHECKING:
    from app.schema.invitations import InvitationType


async def organization(info: strawberry.Info, invitation: InvitationType) -> Any:
    from app.schema.organizations import OrganizationType

    return OrganizationType.from_model(
        await load_one(info, Organization, invitation.organization_id)
    )


async def delivery_status(info: strawberry.Info, invitation: InvitationType) -> DeliveryStatus:
    mail = await load_one(info, OutboxMail, invitation.last_mail_id)
    return DeliveryStatus(mail.status) if mail else DeliveryStatus.QUEUED


async def sent_at(info: strawberry.Info, invitation: InvitationType) -> Any:
    mail = await load_one(info, OutboxMail, invitation.last_mail_id)
    return mail.sent_at if mail else None


async def invited_by(info: strawberry.Info, invitation: InvitationType) -> Any:
    from app.schema.members import MemberType

    inviter = await load_one(info, Member, invitation.invited_by_id)
    return MemberType.from_model(inviter) if inviter else None


async def _visible(info: strawberry.Info, invitation: Invitation | None) -> bool:
    from app.auth.roles import Permission, has_permission

    if invitation is None:
        return False
    access = await info.context.access(invitation.organization_id)
    return access is not None and has_permission(access.role, Permission.READ_PRIVATE)


async def invitation_node(info: strawberry.Info, pk: int) -> Any:
    from app.schema.invitations import InvitationType

    invitation = await load_one(info, Invitation, pk)
    if await _visible(info, invitation):
        return InvitationType.from_model(invitation)
    # The invitee may see invitations to their own verified address.
    user = info.context.viewer.user
    if (
        invitation is not None
        and user is not None
        and user.email_verified
        and invitation.email == user.email
    ):
        return InvitationType.from_model(invitation)
    return None


async def invitation_by_token(info: strawberry.Info, token: str) -> Any:
    from app.schema.invitations import InvitationPreview

    invitation = await service.by_token(token)
    if invitation is None:
        return None
    org = await load_one(info, Organization, invitation.organization_id)
    inviter = await load_one(info, Member, invitation.invited_by_id)
    return InvitationPreview(
        organization_name=org.name,
        email=invitation.email,
        role=invitation.role,
        status=service.effective_status(invitation),
        expires_at=invitation.expires_at,
        invited_by_name=inviter.name if inviter else None,
    )


def _specs(assignments: list[Any] | None) -> list[AssignmentSpec] | None:
    if assignments is None:
        return None
    specs = []
    for index, item in enumerate(assignments):
        pk = pk_of(item.project_id, "Project")
        if pk is None:
            raise not_found("Project", ["projectAssignments", str(index), "projectId"])
        specs.append(AssignmentSpec(pk, item.role))
    return specs


async def _org_actor(info: strawberry.Info, organization_id: str):
    pk = pk_of(organization_id, "Organization")
    access = await info.context.access(pk)
    if access is None:
        raise not_found("Organization", "organizationId")
    return pk, info.context.actor(access)


async def invite_member(info: strawberry.Info, input: Any) -> Any:
    from app.schema.invitations import InvitationPayload, InvitationType

    async def change() -> dict[str, Any]:
        pk, actor = await _org_actor(info, input.organization_id)
        invitation = await service.invite(
            actor,
            pk,
            InviteRequest(
                email=input.email,
                role=input.role,
                username=input.username,
                project_assignments=_specs(input.project_assignments),
                expires_in_days=input.expires_in_days,
                message=input.message,
                add_to_default_projects=input.add_to_default_projects,
            ),
        )
        return {"invitation": InvitationType.from_model(invitation)}

    return await mutate(info, InvitationPayload, change)


async def invite_members(info: strawberry.Info, input: Any) -> Any:
    """Each email on its own; one refusal does not stop the rest."""
    from app.schema.invitations import InvitationType, InviteMembersPayload, InviteMembersResult

    async def change() -> dict[str, Any]:
        check_list_size(input.emails, "emails")
        pk, actor = await _org_actor(info, input.organization_id)
        results = []
        for email in input.emails:
            try:
                invitation = await service.invite(
                    actor,
                    pk,
                    InviteRequest(
                        email=email,
                        role=input.role,
                        expires_in_days=input.expires_in_days,
                        message=input.message,
                    ),
                )
                results.append(
                    InviteMembersResult(
                        email=email, errors=[], invitation=InvitationType.from_model(invitation)
                    )
                )
            except DomainError as error:
                results.append(
                    InviteMembersResult(email=email, errors=[UserError.from_domain(error)])
                )
        return {"results": results}

    return await mutate(info, InviteMembersPayload, change)


async def load_invitation(info: strawberry.Info, global_id: str) -> Invitation:
    invitation = await load_one(info, Invitation, pk_of(global_id, "Invitation"))
    if not await _visible(info, invitation):
        raise not_found("Invitation", "invitationId")
    return invitation


def _invitation_change(action):
    async def run(info: strawberry.Info, input: Any) -> Any:
        from app.schema.invitations import InvitationPayload, InvitationType

        async def change() -> dict[str, Any]:
            invitation = await load_invitation(info, input.invitation_id)
            actor = info.context.actor(await info.context.access(invitation.organization_id))
            updated = await action(actor, invitation.id, input)
            return {"invitation": InvitationType.from_model(updated)}

        return await mutate(info, InvitationPayload, change)

    return run


resend_invitation = _invitation_change(lambda a, pk, i: service.resend(a, pk))
revoke_invitation = _invitation_change(lambda a, pk, i: service.revoke(a, pk))
extend_invitation = _invitation_change(lambda a, pk, i: service.extend(a, pk, i.days))
update_invitation = _invitation_change(
    lambda a, pk, i: service.update(a, pk, i.role, _specs(i.project_assignments))
)


async def delete_invitation(info: strawberry.Info, input: Any) -> Any:
    from app.schema.invitations import DeleteInvitationPayload

    async def change() -> dict[str, Any]:
        invitation = await load_invitation(info, input.invitation_id)
        actor = info.context.actor(await info.context.access(invitation.organization_id))
        await service.delete(actor, invitation.id)
        return {"ok": True}

    return await mutate(info, DeleteInvitationPayload, change)


async def accept_invitation(info: strawberry.Info, input: Any) -> Any:
    from app.schema.invitations import AcceptInvitationPayload
    from app.schema.members import MemberType

    async def change() -> dict[str, Any]:
        user = info.context.viewer.user
        member = await service.accept_by_token(input.token, user, info.context.ip)
        return {"member": MemberType.from_model(member, email_visible=True)}

    return await mutate(info, AcceptInvitationPayload, change)


async def decline_invitation(info: strawberry.Info, input: Any) -> Any:
    from app.schema.invitations import DeclineInvitationPayload

    async def change() -> dict[str, Any]:
        await service.decline(input.token, info.context.ip)
        return {"ok": True}

    return await mutate(info, DeclineInvitationPayload, change)
