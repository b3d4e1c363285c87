"""Invitations: reads (the organization's list, an invitation's links, the token preview)
and the invitation lifecycle.

Resolvers return models and raise DomainError; the schema wraps what they return.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.expressions import Q

from app import db
from app.clock import now
from app.errors import DomainError, not_found
from app.ids import pk_of
from app.models import Invitation, InvitationProjectAssignment, Member, Organization, OutboxMail
from app.models.enums import DeliveryStatus, InvitationStatus, OrganizationRole, ProjectRole
from app.resolvers.context import Context
from app.resolvers.loaders import load_many, load_one, load_some
from app.resolvers.paging import Order, Page, RecordRow, Window, paginate_records
from app.resolvers.search import search_term
from app.services import invitations as service
from app.services import onboarding
from app.services.invitations import InvitationLink, InviteRequest, pending_invitations
from app.services.projects import AssignmentSpec
from app.services.validation import check_list_size
from app.services.visibility import may_see_member_now, reads_private, sees_invitations_to

INVITATION_ORDER = {
    "EMAIL": ("email",),
    "CREATED_AT": ("created_at",),
    "EXPIRES_AT": ("expires_at",),
}

# A project (its global id, as given) and the role on it, from an input's
# `projectAssignments`.
ProjectRoleRequest = tuple[str, ProjectRole]


# Reads.


def invitation_status_filter(statuses: list[InvitationStatus]) -> Q:
    """Filter on the status as it reads: PENDING past expiry is EXPIRED."""
    clauses = []
    for status in set(statuses):
        if status == InvitationStatus.PENDING:
            clauses.append(pending_invitations())
        elif status == InvitationStatus.EXPIRED:
            clauses.append(Q(status=InvitationStatus.EXPIRED))
            clauses.append(Q(status=InvitationStatus.PENDING, expires_at__lte=now()))
        else:
            clauses.append(Q(status=status))
    return Q(*clauses, join_type="OR")


class InvitationRow(RecordRow[Invitation]):
    """An invitation of a list page read from its row (no Tortoise instance): the columns
    the Invitation type shows, datetimes read once (`model()`: see RecordRow)."""

    __slots__ = (
        "accepted_at",
        "created_at",
        "email",
        "expires_at",
        "id",
        "invited_by_id",
        "membership_expires_at",
        "message",
        "organization_id",
        "role",
        "send_count",
        "send_email",
        "status",
        "username",
    )

    model_class = Invitation

    def __init__(self, record: Any) -> None:
        super().__init__(record)
        read, optional = db.read_datetime, db.read_optional_datetime
        self.id: int = record["id"]
        self.organization_id: int = record["organization_id"]
        self.email: str = record["email"]
        self.username: str | None = record["username"]
        self.role: str = record["role"]
        self.status: str = record["status"]
        self.message: str | None = record["message"]
        self.created_at: datetime = read(record["created_at"])
        self.expires_at: datetime = read(record["expires_at"])
        self.accepted_at = optional(record["accepted_at"])
        self.invited_by_id: int | None = record["invited_by_id"]
        self.send_count: int = record["send_count"]
        self.send_email = bool(record["send_email"])  # SQLite's 0/1
        self.membership_expires_at = optional(record["membership_expires_at"])


@dataclass
class InvitationsPage:
    """A page of invitations with what the selection needs of them, fetched in bulk."""

    page: Page[InvitationRow]
    # inviting member id → the member when the viewer may see them, else None (as
    # `invitation_invited_by` answers); filled when the selection asks for `invitedBy`.
    inviters: dict[int, Member | None] | None = None


async def organization_invitations(
    ctx: Context,
    organization_id: int,
    *,
    window: Window,
    search: str | None,
    statuses: list[InvitationStatus] | None,
    order_field: str,
    descending: bool,
    with_inviters: bool = False,
) -> InvitationsPage:
    """The organization's invitations; the field's permission class admits ADMIN+ only.
    With `with_inviters`, the page's inviters too, in one statement."""
    queryset = Invitation.filter(organization_id=organization_id)
    if statuses is not None:
        if not statuses:  # an empty list matches nothing
            queryset = queryset.filter(id__in=[])
        else:
            queryset = queryset.filter(invitation_status_filter(statuses))
    term = search_term(search)
    if term:
        queryset = queryset.filter(email__icontains=term)
    order = Order(INVITATION_ORDER[order_field], descending)
    page = await paginate_records(queryset, order, window, InvitationRow)
    result = InvitationsPage(page)
    if with_inviters:
        result.inviters = await _visible_inviters(ctx, page.rows)
    return result


async def _visible_inviters(
    ctx: Context, invitations: Sequence[InvitationRow]
) -> dict[int, Member | None]:
    """The inviters of `invitations` (through the request's Member loader: one statement,
    and the same instances `invitation_invited_by` would load), None where not visible."""
    pks = sorted({i.invited_by_id for i in invitations if i.invited_by_id is not None})
    found: dict[int, Member | None] = {}
    for pk, member in zip(pks, await load_some(ctx, Member, pks), strict=True):
        visible = member is not None and may_see_member_now(
            await ctx.access(member.organization_id), member
        )
        found[pk] = member if visible else None
    return found


async def invitation_node(ctx: Context, pk: int) -> Invitation | None:
    """The invitation, if the viewer reads its organization's private data or is the
    invitee (signed in with the invited address, verified)."""
    invitation = await load_one(ctx, Invitation, pk)
    if invitation is None:
        return None
    if reads_private(await ctx.access(invitation.organization_id)):
        return invitation
    return invitation if sees_invitations_to(ctx.viewer.user, invitation.email) else None


async def invitation_organization(ctx: Context, invitation: Invitation) -> Organization:
    organization = await load_one(ctx, Organization, invitation.organization_id)
    assert organization is not None  # an invitation is deleted with its organization
    return organization


async def invitation_invited_by(ctx: Context, invitation: Invitation) -> Member | None:
    """The inviting member, if the viewer may see them: OWNER and ADMIN of the
    organization; not the invitee, who is not a member yet (the token's preview names
    the inviter)."""
    member = await load_one(ctx, Member, invitation.invited_by_id)
    if member is None or not may_see_member_now(await ctx.access(member.organization_id), member):
        return None
    return member


async def _last_mail(ctx: Context, invitation: Invitation) -> OutboxMail | None:
    return await load_one(ctx, OutboxMail, invitation.last_mail_id)


async def invitation_delivery_status(ctx: Context, invitation: Invitation) -> DeliveryStatus:
    mail = await _last_mail(ctx, invitation)
    return DeliveryStatus(mail.status) if mail else DeliveryStatus.QUEUED


async def invitation_sent_at(ctx: Context, invitation: Invitation) -> datetime | None:
    mail = await _last_mail(ctx, invitation)
    return mail.sent_at if mail else None


async def invitation_assignments(
    ctx: Context, invitation: Invitation
) -> list[InvitationProjectAssignment]:
    return await load_many(ctx, InvitationProjectAssignment, "invitation_id", invitation.pk)


async def invitation_by_token(ctx: Context, token: str) -> InvitationLink | None:
    """What the link opens; anyone may ask. None for an unknown, used or revoked token."""
    return await service.link_by_token(token)


# Changes: the permission class found the organization (or the invitation's) and the
# viewer's access.


def _specs(assignments: Sequence[ProjectRoleRequest] | None) -> list[AssignmentSpec] | None:
    if assignments is None:
        return None
    specs = []
    for index, (project_id, role) in enumerate(assignments):
        pk = pk_of(project_id, "Project")
        if pk is None:
            raise not_found("Project", ["projectAssignments", str(index), "projectId"])
        specs.append(AssignmentSpec(pk, role))
    return specs


async def invite_member(
    ctx: Context,
    *,
    email: str,
    role: OrganizationRole,
    username: str | None,
    project_assignments: Sequence[ProjectRoleRequest],
    expires_in_days: int | None,
    message: str | None,
    add_to_default_projects: bool,
    send_email: bool = True,
    membership_expires_at: datetime | None = None,
) -> tuple[Invitation, str | None]:
    """The invitation, and its accept link when it was not mailed."""
    organization_id, actor = ctx.authz_actor("Organization", "organizationId")
    request = InviteRequest(
        email=email,
        role=role,
        username=username,
        project_assignments=_specs(project_assignments),
        expires_in_days=expires_in_days,
        message=message,
        add_to_default_projects=add_to_default_projects,
        send_email=send_email,
        membership_expires_at=membership_expires_at,
    )
    return await service.invite_with_link(actor, organization_id, request)


async def invite_members(
    ctx: Context,
    emails: list[str],
    *,
    role: OrganizationRole,
    expires_in_days: int | None,
    message: str | None,
) -> list[tuple[str, Invitation | DomainError]]:
    """Each address on its own: one refusal does not stop the rest."""
    check_list_size(emails, "emails")
    organization_id, actor = ctx.authz_actor("Organization", "organizationId")
    requests = [
        InviteRequest(email=email, role=role, expires_in_days=expires_in_days, message=message)
        for email in emails
    ]
    return await service.invite_many(actor, organization_id, requests)


async def resend_invitation(ctx: Context) -> Invitation:
    invitation_id, actor = ctx.authz_actor("Invitation", "invitationId")
    return await service.resend(actor, invitation_id)


async def revoke_invitation(ctx: Context) -> Invitation:
    invitation_id, actor = ctx.authz_actor("Invitation", "invitationId")
    return await service.revoke(actor, invitation_id)


async def delete_invitation(ctx: Context) -> None:
    invitation_id, actor = ctx.authz_actor("Invitation", "invitationId")
    await service.delete(actor, invitation_id)


async def extend_invitation(ctx: Context, days: int) -> Invitation:
    invitation_id, actor = ctx.authz_actor("Invitation", "invitationId")
    return await service.extend(actor, invitation_id, days)


async def update_invitation(
    ctx: Context,
    role: OrganizationRole | None,
    project_assignments: Sequence[ProjectRoleRequest] | None,
) -> Invitation:
    invitation_id, actor = ctx.authz_actor("Invitation", "invitationId")
    return await service.update(actor, invitation_id, role, _specs(project_assignments))


async def accept_invitation(ctx: Context, token: str) -> Member:
    user = ctx.viewer.user
    assert user is not None  # IsUser ran first
    return await onboarding.accept_by_token(token, user, ctx.ip)


async def decline_invitation(ctx: Context, token: str) -> None:
    """The token proves the invitee: no sign-in needed."""
    await service.decline(token, ctx.ip)
