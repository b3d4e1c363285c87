"""Organizations: the Organization type, `organization`, `organizations`, settings mutations."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import Private

from app.auth.roles import Permission
from app.ids import to_global_id
from app.models import Organization
from app.models.enums import InvitationStatus, MemberStatus, OrganizationRole
from app.resolvers import organizations as resolve
from app.schema.enums import InvitationOrder, MemberOrder
from app.schema.errors import INPUT, UserError, errors_field, object_field, ok_field
from app.schema.node import Node, register_node
from app.schema.pagination import After, Before, Connection, First, Last, Offset
from app.schema.permissions import HasOrgPermission, IsAuthenticated, IsUser, guard, org_of_input

if TYPE_CHECKING:
    from app.schema.audit import AuditEventType
    from app.schema.domains import ApiKeyType, DomainType
    from app.schema.invitations import InvitationType
    from app.schema.members import MemberType
    from app.schema.ownership import OwnershipTransferType
    from app.schema.projects import ProjectType

MemberT = Annotated["MemberType", strawberry.lazy("app.schema.members")]
InvitationT = Annotated["InvitationType", strawberry.lazy("app.schema.invitations")]
ProjectT = Annotated["ProjectType", strawberry.lazy("app.schema.projects")]
DomainT = Annotated["DomainType", strawberry.lazy("app.schema.domains")]
ApiKeyT = Annotated["ApiKeyType", strawberry.lazy("app.schema.domains")]
AuditEventT = Annotated["AuditEventType", strawberry.lazy("app.schema.audit")]
TransferT = Annotated["OwnershipTransferType", strawberry.lazy("app.schema.ownership")]


def _can(permission: Permission):
    return guard(HasOrgPermission(permission))


@strawberry.type(
    name="Organization",
    description="A company or team with members, invitations and projects. Visible to its "
    "ACTIVE members (and to its API keys); null for anyone else.",
)
class OrganizationType(Node):
    id: strawberry.ID = strawberry.field(description="Opaque global id.")
    name: str = strawberry.field(description="1 to 200 characters.")
    slug: str = strawberry.field(description="Unique URL-friendly name; `organization(slug:)`.")
    created_at: datetime = strawberry.field(description="When it was created.")
    invitation_ttl_days: int = strawberry.field(
        description="Days an invitation stays valid unless `expiresInDays` says otherwise (1-30)."
    )
    allowed_email_domains: list[str] = strawberry.field(
        description="When non-empty, only addresses at these domains may be invited "
        "(DOMAIN_NOT_ALLOWED)."
    )
    seat_limit: int | None = strawberry.field(
        description="At most this many seats (see `seatsUsed`); null means unlimited."
    )
    pk: Private[int]

    @property
    def organization_id(self) -> int:
        return self.pk

    @classmethod
    def from_model(cls, org: Organization) -> OrganizationType:
        return cls(
            id=strawberry.ID(to_global_id("Organization", org.pk)),
            name=org.name,
            slug=org.slug,
            created_at=org.created_at,
            invitation_ttl_days=org.invitation_ttl_days,
            allowed_email_domains=list(org.allowed_email_domains or []),
            seat_limit=org.seat_limit,
            pk=org.pk,
        )

    @strawberry.field(description="The viewer's role here; null for anyone not an active member.")
    async def viewer_role(self, info: strawberry.Info) -> OrganizationRole | None:
        access = await info.context.access(self.pk)
        return access.role if access else None

    @strawberry.field(
        description="ACTIVE + BLOCKED members (owner included) + PENDING unexpired "
        "invitations. OWNER and ADMIN only (FORBIDDEN).",
        extensions=_can(Permission.READ_PRIVATE),
    )
    async def seats_used(self, info: strawberry.Info) -> int:
        return await resolve.seats_used(info, self)

    @strawberry.field(
        description="Members, by name unless `orderBy` says otherwise. Any active member; "
        "USER and VIEWER see ACTIVE members only, whatever `statuses` asks.",
        extensions=_can(Permission.READ_ORGANIZATION),
    )
    async def members(
        self,
        info: strawberry.Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        offset: Offset = None,
        search: Annotated[
            str | None,
            strawberry.argument(
                description="Part of the name or username (or, for ADMIN+, the email); "
                "case-insensitive."
            ),
        ] = None,
        roles: Annotated[
            list[OrganizationRole] | None,
            strawberry.argument(description="Only these roles; null for all."),
        ] = None,
        statuses: Annotated[
            list[MemberStatus] | None,
            strawberry.argument(description="Only these statuses; null for all."),
        ] = [MemberStatus.ACTIVE, MemberStatus.BLOCKED],  # noqa: B006
        order_by: Annotated[
            MemberOrder | None, strawberry.argument(description="Sort; by name when null.")
        ] = None,
    ) -> Connection[MemberT]:
        return await resolve.members(
            info, self, first, after, last, before, offset, search, roles, statuses, order_by
        )

    @strawberry.field(
        description="Invitations, newest first unless `orderBy` says otherwise. OWNER and "
        "ADMIN only (FORBIDDEN).",
        extensions=_can(Permission.READ_PRIVATE),
    )
    async def invitations(
        self,
        info: strawberry.Info,
        first: First = None,
        after: After = None,
        offset: Offset = None,
        search: Annotated[
            str | None,
            strawberry.argument(description="Part of the email; case-insensitive."),
        ] = None,
        statuses: Annotated[
            list[InvitationStatus] | None,
            strawberry.argument(
                description="Only these statuses (EXPIRED: PENDING past `expiresAt`); null for all."
            ),
        ] = None,
        order_by: Annotated[
            InvitationOrder | None,
            strawberry.argument(description="Sort; newest first when null."),
        ] = None,
    ) -> Connection[InvitationT]:
        return await resolve.invitations(
            info, self, first, after, offset, search, statuses, order_by
        )

    @strawberry.field(
        description="The organization's projects. Any active member.",
        extensions=_can(Permission.READ_ORGANIZATION),
    )
    async def projects(
        self,
        info: strawberry.Info,
        first: First = None,
        after: After = None,
        search: Annotated[
            str | None,
            strawberry.argument(description="Part of the name; case-insensitive."),
        ] = None,
    ) -> Connection[ProjectT]:
        from app.resolvers import projects

        return await projects.organization_projects(info, self, first, after, search)

    @strawberry.field(
        description="Domains added for verification and auto-join. OWNER and ADMIN only "
        "(FORBIDDEN).",
        extensions=_can(Permission.READ_PRIVATE),
    )
    async def domains(self, info: strawberry.Info) -> list[DomainT]:
        from app.resolvers import domains

        return await domains.organization_domains(info, self)

    @strawberry.field(
        description="API keys, revoked ones included; never their secrets. OWNER and ADMIN "
        "only (FORBIDDEN).",
        extensions=_can(Permission.READ_PRIVATE),
    )
    async def api_keys(self, info: strawberry.Info) -> list[ApiKeyT]:
        from app.resolvers import domains

        return await domains.organization_api_keys(info, self)

    @strawberry.field(
        description="The audit trail, newest first. OWNER and ADMIN only (FORBIDDEN).",
        extensions=_can(Permission.READ_PRIVATE),
    )
    async def audit_events(
        self,
        info: strawberry.Info,
        first: First = None,
        after: After = None,
        actions: Annotated[
            list[str] | None,
            strawberry.argument(description='Only these actions, e.g. "member.removed".'),
        ] = None,
        actor_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Only events by this user (a User id)."),
        ] = None,
        target_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Only events about this object (its global id)."),
        ] = None,
        since: Annotated[
            datetime | None,
            strawberry.argument(description="Only events at or after this time."),
        ] = None,
        until: Annotated[
            datetime | None, strawberry.argument(description="Only events before this time.")
        ] = None,
    ) -> Connection[AuditEventT]:
        from app.resolvers import audit

        return await audit.organization_events(
            info, self, first, after, actions, actor_id, target_id, since, until
        )

    @strawberry.field(
        description="The ownership transfer awaiting the owner's confirmation; null when none. "
        "OWNER and ADMIN only (FORBIDDEN).",
        extensions=_can(Permission.READ_PRIVATE),
    )
    async def pending_ownership_transfer(self, info: strawberry.Info) -> TransferT | None:
        from app.resolvers import ownership

        return await ownership.pending_transfer(info, self)


register_node("Organization", resolve.organization_node)


@strawberry.input(description="A new organization.")
class CreateOrganizationInput:
    name: str = strawberry.field(description="1 to 200 characters after trimming.")
    slug: str | None = strawberry.field(
        default=None,
        description="Unique URL-friendly name (SLUG_TAKEN); made from the name when absent.",
    )


@strawberry.input(description="Settings to change; omitted fields stay as they are.")
class UpdateOrganizationInput:
    organization_id: strawberry.ID = strawberry.field(description="The organization.")
    name: str | None = strawberry.field(
        default=strawberry.UNSET, description="1 to 200 characters after trimming."
    )
    invitation_ttl_days: int | None = strawberry.field(
        default=strawberry.UNSET, description="Default invitation lifetime, 1 to 30 days."
    )
    allowed_email_domains: list[str] | None = strawberry.field(
        default=strawberry.UNSET,
        description="Only addresses at these domains may be invited; empty list or null for any.",
    )
    seat_limit: int | None = strawberry.field(
        default=strawberry.UNSET,
        description="At least 1, or null for unlimited. May be set below `seatsUsed`: nobody "
        "is removed, new invitations are refused.",
    )


@strawberry.input(description="Which organization to delete, confirmed by its name.")
class DeleteOrganizationInput:
    organization_id: strawberry.ID = strawberry.field(description="The organization.")
    confirm_name: str = strawberry.field(
        description="The organization's exact name (CONFIRMATION_MISMATCH otherwise)."
    )


@strawberry.type(description="The result of a change to an organization.")
class OrganizationPayload:
    errors: list[UserError] = errors_field()
    organization: OrganizationType | None = object_field("The organization as it is now.")


@strawberry.type(description="The result of `deleteOrganization`.")
class DeleteOrganizationPayload:
    errors: list[UserError] = errors_field()
    ok: bool | None = ok_field()


@strawberry.type
class Query:
    @strawberry.field(description="By id or slug; null when the viewer is not an active member.")
    async def organization(
        self,
        info: strawberry.Info,
        id: Annotated[
            strawberry.ID | None, strawberry.argument(description="The organization's id.")
        ] = None,
        slug: Annotated[
            str | None, strawberry.argument(description="The organization's slug.")
        ] = None,
    ) -> OrganizationType | None:
        return await resolve.organization(info, id, slug)

    @strawberry.field(
        description="The organizations the viewer is an ACTIVE member of (an API key: its own), "
        "by name."
    )
    async def organizations(
        self, info: strawberry.Info, first: First = 20, after: After = None
    ) -> Connection[OrganizationType]:
        return await resolve.organizations(info, first, after)


_org_input = org_of_input("Organization", "organization_id")


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Create an organization; the caller becomes its OWNER. Signed-in users "
        "only (UNAUTHENTICATED; FORBIDDEN for API keys). Codes: INVALID_INPUT, SLUG_TAKEN.",
        extensions=guard(IsUser()),
    )
    async def create_organization(
        self, info: strawberry.Info, input: Annotated[CreateOrganizationInput, INPUT]
    ) -> OrganizationPayload:
        return await resolve.create_organization(info, input)

    @strawberry.mutation(
        description="Change the name or settings. OWNER and ADMIN (FORBIDDEN otherwise). "
        "Codes: NOT_FOUND, INVALID_INPUT.",
        extensions=guard(HasOrgPermission(Permission.MANAGE_ORGANIZATION, _org_input)),
    )
    async def update_organization(
        self, info: strawberry.Info, input: Annotated[UpdateOrganizationInput, INPUT]
    ) -> OrganizationPayload:
        return await resolve.update_organization(info, input)

    @strawberry.mutation(
        description="Delete the organization and everything in it. OWNER only (FORBIDDEN "
        "otherwise). Codes: NOT_FOUND, CONFIRMATION_MISMATCH.",
        extensions=guard(HasOrgPermission(Permission.OWN_ORGANIZATION, _org_input)),
    )
    async def delete_organization(
        self, info: strawberry.Info, input: Annotated[DeleteOrganizationInput, INPUT]
    ) -> DeleteOrganizationPayload:
        return await resolve.delete_organization(info, input)


__all__ = ["IsAuthenticated", "Mutation", "OrganizationType", "Query"]
