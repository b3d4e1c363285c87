"""The Invitation type, built from the Invitation model, and the token preview."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import Private

from app.clock import now
from app.ids import to_global_id
from app.models import Invitation
from app.models.enums import DeliveryStatus, InvitationStatus, OrganizationRole
from app.resolvers import invitations as resolve
from app.resolvers.invitations import InvitationRow, InvitationsPage
from app.resolvers.paging import model_of
from app.schema.context import Info
from app.schema.execution import KNOWN_NULL, PRELOADED
from app.schema.members.types import MemberType
from app.schema.node import Node, as_node, register_node
from app.schema.pagination import Connection, connection
from app.schema.projects.types import InvitationProjectAssignmentType
from app.services.invitations import InvitationLink, effective_status, effective_status_from

if TYPE_CHECKING:
    from app.schema.organizations.types import OrganizationType

OrganizationT = Annotated["OrganizationType", strawberry.lazy("app.schema.organizations.types")]


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
    send_email: bool = strawberry.field(
        description="False while its link was handed to the inviter (`inviteMember(sendEmail: "
        "false)`) instead of mailed; a resend mails it and makes this true. Without a mail, "
        "`deliveryStatus` reads QUEUED and `sendCount` is 0."
    )
    membership_expires_at: datetime | None = strawberry.field(
        description="When the membership it grants ends (the member's `expiresAt`); null: "
        "it does not."
    )
    # The model, or a list page's row (app.resolvers.invitations.InvitationRow) until a
    # field needs the model.
    source: Private[Invitation | InvitationRow]
    # Filled from an InvitationsPage, whose resolver fetched the inviters in bulk: the
    # field then resolves synchronously (see PRELOADED); KNOWN_NULL when not visible.
    preloaded_invited_by: Private[object] = None

    @property
    def model(self) -> Invitation:
        return model_of(self.source)

    @property
    def organization_id(self) -> int:
        return self.source.organization_id

    @classmethod
    def from_model(cls, invitation: Invitation) -> InvitationType:
        return cls._read(invitation, invitation.pk, effective_status(invitation))

    @classmethod
    def from_row(cls, row: InvitationRow, at: datetime) -> InvitationType:
        """The same from an invitations page's row, its status as it reads at `at`."""
        return cls._read(row, row.id, effective_status_from(row.status, row.expires_at, at))

    @classmethod
    def _read(
        cls, invitation: Invitation | InvitationRow, pk: int, status: InvitationStatus
    ) -> InvitationType:
        return cls(
            id=strawberry.ID(to_global_id("Invitation", pk)),
            email=invitation.email,
            username=invitation.username,
            role=OrganizationRole(invitation.role),
            status=status,
            message=invitation.message,
            created_at=invitation.created_at,
            expires_at=invitation.expires_at,
            accepted_at=invitation.accepted_at,
            send_count=invitation.send_count,
            send_email=invitation.send_email,
            membership_expires_at=invitation.membership_expires_at,
            source=invitation,
        )

    @strawberry.field(description="The organization it invites to.")
    async def organization(self, info: Info) -> OrganizationT:
        return as_node(  # type: ignore[no-any-return]
            "Organization", await resolve.invitation_organization(info.context, self.model)
        )

    @strawberry.field(description="The state of the latest invitation mail.")
    async def delivery_status(self, info: Info) -> DeliveryStatus:
        return await resolve.invitation_delivery_status(info.context, self.model)

    @strawberry.field(
        description="When the latest invitation mail was delivered; null until it is."
    )
    async def sent_at(self, info: Info) -> datetime | None:
        return await resolve.invitation_sent_at(info.context, self.model)

    @strawberry.field(
        description="The member who sent it; null when not visible to the viewer or gone.",
        metadata={PRELOADED: "preloaded_invited_by"},
    )
    async def invited_by(self, info: Info) -> MemberType | None:
        inviter = await resolve.invitation_invited_by(info.context, self.model)
        return None if inviter is None else MemberType.from_model(inviter)

    @strawberry.field(description="Projects and roles the member gets on accepting.")
    async def project_assignments(self, info: Info) -> list[InvitationProjectAssignmentType]:
        rows = await resolve.invitation_assignments(info.context, self.model)
        return [InvitationProjectAssignmentType.from_model(row) for row in rows]


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
    membership_expires_at: datetime | None = strawberry.field(
        description="When the membership it grants ends; null: it does not."
    )

    @classmethod
    def from_link(cls, link: InvitationLink) -> InvitationPreview:
        invitation = link.invitation
        return cls(
            organization_name=link.organization.name,
            email=invitation.email,
            role=OrganizationRole(invitation.role),
            status=effective_status(invitation),
            expires_at=invitation.expires_at,
            invited_by_name=link.inviter.name if link.inviter else None,
            membership_expires_at=invitation.membership_expires_at,
        )


def invitations_connection(found: InvitationsPage) -> Connection[InvitationType]:
    """An invitations page as a connection, with what its resolver preloaded filled in."""
    inviters: dict[int, object] = {}
    if found.inviters is not None:
        for pk, member in found.inviters.items():
            inviters[pk] = KNOWN_NULL if member is None else MemberType.from_model(member)

    moment = now()

    def node(row: InvitationRow) -> InvitationType:
        wrapped = InvitationType.from_row(row, moment)
        if found.inviters is not None:
            pk = row.invited_by_id
            wrapped.preloaded_invited_by = KNOWN_NULL if pk is None else inviters[pk]
        return wrapped

    return connection(found.page, node)


register_node("Invitation", resolve.invitation_node, InvitationType.from_model)
