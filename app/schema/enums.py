"""The contract's enums and order inputs; domain enums come from the models."""

from __future__ import annotations

from dataclasses import replace
from enum import Enum

import strawberry

from app.models import enums
from app.services import project_access


def _described(cls: type[Enum], description: str, values: dict[str, str]) -> type[Enum]:
    """Register a domain enum with GraphQL descriptions for it and for each of its values.

    The domain enums live in app/models and know nothing of Strawberry, so their
    values cannot carry `strawberry.enum_value(...)`; the descriptions are set on
    the registered definition instead. A module imported earlier may already have
    registered the enum through an annotation: that definition is the one updated,
    so that every field refers to one and the same.
    """
    if not hasattr(cls, "__strawberry_definition__"):
        strawberry.enum(cls, name=cls.__name__)
    definition = cls.__strawberry_definition__  # type: ignore[attr-defined]
    definition.description = description
    definition.values = [replace(v, description=values[v.name]) for v in definition.values]
    return cls


OrganizationRole = _described(
    enums.OrganizationRole,
    "A member's role in an organization, highest first.",
    {
        "OWNER": "Everything, including transferring ownership and deleting the organization. "
        "Exactly one per organization; given only by an ownership transfer.",
        "ADMIN": "Manages members (except the owner and, unless the owner, other ADMINs), "
        "invitations, settings, domains and API keys; reads emails and the audit trail.",
        "USER": "Reads the organization and its active members; creates projects.",
        "VIEWER": "Reads the organization and its active members.",
    },
)
ProjectRole = _described(
    enums.ProjectRole,
    "A member's role on one project, highest first.",
    {
        "OWNER": "Manages the project and all its assignments, and may delete it.",
        "ADMIN": "Manages the project and its assignments, except granting or changing "
        "OWNER; cannot delete it.",
        "USE": "Works in the project.",
        "VIEWER": "Reads the project.",
    },
)
MemberStatus = _described(
    enums.MemberStatus,
    "Where a membership stands. Only ACTIVE members have any access.",
    {
        "ACTIVE": "A member with the access of their role.",
        "BLOCKED": "No access until unblocked; keeps a seat and (inert) project assignments.",
        "REMOVED": "Gone: no access, no seat, no project assignments; cannot be modified, "
        "may be invited again.",
    },
)
InvitationStatus = _described(
    enums.InvitationStatus,
    "Where an invitation stands.",
    {
        "PENDING": "Sent and not yet answered; its link works until `expiresAt`.",
        "ACCEPTED": "The invitee joined.",
        "DECLINED": "The invitee declined; the link no longer works.",
        "REVOKED": "An admin withdrew it; the link no longer works.",
        "EXPIRED": "PENDING past `expiresAt`; resend it for a fresh link and lifetime.",
    },
)
DeliveryStatus = _described(
    enums.DeliveryStatus,
    "The state of an outgoing email.",
    {
        "QUEUED": "In the outbox, waiting for (another) delivery attempt.",
        "SENT": "Accepted by the mail server.",
        "FAILED": "Delivery gave up after repeated failures.",
    },
)


DomainJoinPolicy = _described(
    enums.DomainJoinPolicy,
    "How people whose verified email is at a verified domain may join its organization.",
    {
        "OFF": "They may not join through the domain (invitations only).",
        "REQUEST": "They see the organization in `me.suggestedOrganizations` and may "
        "`requestToJoin`; OWNER and ADMINs approve or deny.",
        "AUTO_JOIN": "They join as `autoJoinRole` when their email gets verified, seats "
        "permitting (`autoJoin: true`).",
    },
)
JoinRequestStatus = _described(
    enums.JoinRequestStatus,
    "Where a join request stands.",
    {
        "PENDING": "Waiting for an OWNER or ADMIN, until `expiresAt`.",
        "APPROVED": "Approved: the requester is a member.",
        "DENIED": "Denied by an OWNER or ADMIN.",
        "WITHDRAWN": "Withdrawn by the requester.",
        "EXPIRED": "PENDING past `expiresAt` (30 days): it can no longer be decided.",
    },
)


@strawberry.enum(description="Sort order.")
class SortDirection(Enum):
    ASC = strawberry.enum_value("ASC", description="Ascending: A to Z, oldest first.")
    DESC = strawberry.enum_value("DESC", description="Descending: Z to A, newest first.")


@strawberry.enum(description="What members are sorted by; ties are broken by id.")
class MemberOrderField(Enum):
    NAME = strawberry.enum_value("NAME", description="The member's name.")
    EMAIL = strawberry.enum_value(
        "EMAIL", description="The email address; ADMIN+ only (FORBIDDEN otherwise)."
    )
    JOINED_AT = strawberry.enum_value("JOINED_AT", description="When they joined.")
    ROLE = strawberry.enum_value("ROLE", description="Their role, OWNER first in ascending order.")


@strawberry.enum(description="What invitations are sorted by; ties are broken by id.")
class InvitationOrderField(Enum):
    EMAIL = strawberry.enum_value("EMAIL", description="The invited address.")
    CREATED_AT = strawberry.enum_value("CREATED_AT", description="When it was created.")
    EXPIRES_AT = strawberry.enum_value("EXPIRES_AT", description="When its link expires.")


@strawberry.input(description="How to sort `Organization.members`.")
class MemberOrder:
    field: MemberOrderField = strawberry.field(description="The sort key.")
    direction: SortDirection = strawberry.field(
        default=SortDirection.ASC, description="The sort order."
    )


@strawberry.input(description="How to sort `Organization.invitations`.")
class InvitationOrder:
    field: InvitationOrderField = strawberry.field(description="The sort key.")
    direction: SortDirection = strawberry.field(
        default=SortDirection.DESC, description="The sort order."
    )


ManagedBy = _described(
    enums.ManagedBy,
    "Who manages a member's role and team membership, or a team's name and members.",
    {
        "ROSTER": "Roster's own API (GraphQL).",
        "SCIM": "An identity provider through SCIM: GraphQL changes to the role or team "
        "membership answer SCIM_MANAGED (ADMIN+ may still block or remove a member).",
    },
)
AccessSourceKind = _described(
    project_access.AccessSourceKind,
    "Where a member's role on a project comes from.",
    {
        "DIRECT": "Their own project assignment (not counted once expired).",
        "TEAM": "The project role of a team they belong to.",
        "ORGANIZATION_ROLE": "Organization OWNER and ADMIN hold project ADMIN on every project.",
    },
)
