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
from app.schema.errors import UserError
from app.schema.node import Node, register_node
from app.schema.pagination import Connection
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


@strawberry.type(name="Organization")
class OrganizationType(Node):
    id: strawberry.ID
    name: str
    slug: str
    created_at: datetime
    invitation_ttl_days: int
    allowed_email_domains: list[str]
    seat_limit: int | None
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
        description="ACTIVE + BLOCKED members (owner included) + PENDING unexpired invitations.",
        extensions=_can(Permission.READ_PRIVATE),
    )
    async def seats_used(self, info: strawberry.Info) -> int:
        return await resolve.seats_used(info, self)

    @strawberry.field(
        description="Members; USER and VIEWER see ACTIVE members only.",
        extensions=_can(Permission.READ_ORGANIZATION),
    )
    async def members(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        offset: int | None = None,
        search: str | None = None,
        roles: list[OrganizationRole] | None = None,
        statuses: list[MemberStatus] | None = [MemberStatus.ACTIVE, MemberStatus.BLOCKED],  # noqa: B006
        order_by: MemberOrder | None = None,
    ) -> Connection[MemberT]:
        return await resolve.members(
            info, self, first, after, last, before, offset, search, roles, statuses, order_by
        )

    @strawberry.field(extensions=_can(Permission.READ_PRIVATE))
    async def invitations(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        offset: int | None = None,
        search: str | None = None,
        statuses: list[InvitationStatus] | None = None,
        order_by: InvitationOrder | None = None,
    ) -> Connection[InvitationT]:
        return await resolve.invitations(
            info, self, first, after, offset, search, statuses, order_by
        )

    @strawberry.field(extensions=_can(Permission.READ_ORGANIZATION))
    async def projects(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        search: str | None = None,
    ) -> Connection[ProjectT]:
        from app.resolvers import projects

        return await projects.organization_projects(info, self, first, after, search)

    @strawberry.field(extensions=_can(Permission.READ_PRIVATE))
    async def domains(self, info: strawberry.Info) -> list[DomainT]:
        from app.resolvers import domains

        return await domains.organization_domains(info, self)

    @strawberry.field(extensions=_can(Permission.READ_PRIVATE))
    async def api_keys(self, info: strawberry.Info) -> list[ApiKeyT]:
        from app.resolvers import domains

        return await domains.organization_api_keys(info, self)

    @strawberry.field(description="Newest first.", extensions=_can(Permission.READ_PRIVATE))
    async def audit_events(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        actions: list[str] | None = None,
        actor_id: strawberry.ID | None = None,
        target_id: strawberry.ID | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Connection[AuditEventT]:
        from app.resolvers import audit

        return await audit.organization_events(
            info, self, first, after, actions, actor_id, target_id, since, until
        )

    @strawberry.field(extensions=_can(Permission.READ_PRIVATE))
    async def pending_ownership_transfer(self, info: strawberry.Info) -> TransferT | None:
        from app.resolvers import ownership

        return await ownership.pending_transfer(info, self)


register_node("Organization", resolve.organization_node)


@strawberry.input
class CreateOrganizationInput:
    name: str
    slug: str | None = None


@strawberry.input
class UpdateOrganizationInput:
    organization_id: strawberry.ID
    name: str | None = strawberry.UNSET
    invitation_ttl_days: int | None = strawberry.UNSET
    allowed_email_domains: list[str] | None = strawberry.UNSET
    seat_limit: int | None = strawberry.UNSET


@strawberry.input
class DeleteOrganizationInput:
    organization_id: strawberry.ID
    confirm_name: str


@strawberry.type
class OrganizationPayload:
    errors: list[UserError]
    organization: OrganizationType | None = None


@strawberry.type
class DeleteOrganizationPayload:
    errors: list[UserError]
    ok: bool | None = None


@strawberry.type
class Query:
    @strawberry.field(description="By id or slug; null when the viewer is not an active member.")
    async def organization(
        self, info: strawberry.Info, id: strawberry.ID | None = None, slug: str | None = None
    ) -> OrganizationType | None:
        return await resolve.organization(info, id, slug)

    @strawberry.field(description="The viewer's organizations.")
    async def organizations(
        self, info: strawberry.Info, first: int | None = 20, after: str | None = None
    ) -> Connection[OrganizationType]:
        return await resolve.organizations(info, first, after)


_org_input = org_of_input("Organization", "organization_id")


@strawberry.type
class Mutation:
    @strawberry.mutation(extensions=guard(IsUser()))
    async def create_organization(
        self, info: strawberry.Info, input: CreateOrganizationInput
    ) -> OrganizationPayload:
        return await resolve.create_organization(info, input)

    @strawberry.mutation(
        extensions=guard(HasOrgPermission(Permission.MANAGE_ORGANIZATION, _org_input))
    )
    async def update_organization(
        self, info: strawberry.Info, input: UpdateOrganizationInput
    ) -> OrganizationPayload:
        return await resolve.update_organization(info, input)

    @strawberry.mutation(
        extensions=guard(HasOrgPermission(Permission.OWN_ORGANIZATION, _org_input))
    )
    async def delete_organization(
        self, info: strawberry.Info, input: DeleteOrganizationInput
    ) -> DeleteOrganizationPayload:
        return await resolve.delete_organization(info, input)


__all__ = ["IsAuthenticated", "Mutation", "OrganizationType", "Query"]
