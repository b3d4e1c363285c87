"""The Organization type, built from the Organization model, with its lists.

The highest domain of the schema: it imports every other domain's types and wraps
what their resolvers return for the lists inside an organization.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry import Private

from app.auth.roles import Permission
from app.ids import to_global_id
from app.models import Organization
from app.models.enums import InvitationStatus, JoinRequestStatus, MemberStatus, OrganizationRole
from app.resolvers import api_keys as resolve_api_keys
from app.resolvers import audit as resolve_audit
from app.resolvers import domains as resolve_domains
from app.resolvers import invitations as resolve_invitations
from app.resolvers import join_requests as resolve_join_requests
from app.resolvers import members as resolve_members
from app.resolvers import organizations as resolve
from app.resolvers import ownership as resolve_ownership
from app.resolvers import projects as resolve_projects
from app.resolvers import scim as resolve_scim
from app.resolvers import teams as resolve_teams
from app.resolvers import webhooks as resolve_webhooks
from app.resolvers.paging import Window
from app.schema.audit.types import EVENT_TYPES, AuditEventType
from app.schema.context import Info
from app.schema.domains.types import ApiKeyType, DomainType
from app.schema.enums import InvitationOrder, MemberOrder, SortDirection
from app.schema.errors import guard
from app.schema.invitations.types import InvitationType, invitations_connection
from app.schema.join_requests.types import JoinRequestType
from app.schema.members.types import MemberType, members_connection
from app.schema.node import Node, register_node
from app.schema.ownership.types import OwnershipTransferType
from app.schema.pagination import After, Before, Connection, First, Last, Offset, connection
from app.schema.permissions import HasOrgPermission
from app.schema.projects.types import ProjectType
from app.schema.scim.types import ScimConnectionType
from app.schema.selection import selected_node_fields
from app.schema.teams.types import TeamType
from app.schema.webhooks.types import WebhookEndpointType


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
    model: Private[Organization]

    @property
    def organization_id(self) -> int:
        return self.model.id

    @classmethod
    def from_model(cls, organization: Organization) -> OrganizationType:
        return cls(
            id=strawberry.ID(to_global_id("Organization", organization.pk)),
            name=organization.name,
            slug=organization.slug,
            created_at=organization.created_at,
            invitation_ttl_days=organization.invitation_ttl_days,
            allowed_email_domains=list(organization.allowed_email_domains or []),
            seat_limit=organization.seat_limit,
            model=organization,
        )

    @strawberry.field(description="The viewer's role here; null for anyone not an active member.")
    async def viewer_role(self, info: Info) -> OrganizationRole | None:
        return await resolve.viewer_role(info.context, self.organization_id)

    @strawberry.field(
        description="ACTIVE + BLOCKED members (owner included) + PENDING unexpired "
        "invitations. OWNER and ADMIN only: null for anyone else, with a FORBIDDEN error on "
        "this field alone.",
        extensions=guard(HasOrgPermission(Permission.READ_PRIVATE)),
    )
    async def seats_used(self, info: Info) -> int | None:
        return await resolve.seats_used(info.context, self.organization_id)

    @strawberry.field(
        description="Members, by name unless `orderBy` says otherwise. Any active member; "
        "USER and VIEWER see ACTIVE members only, whatever `statuses` asks.",
        extensions=guard(HasOrgPermission(Permission.READ_ORGANIZATION)),
    )
    async def members(
        self,
        info: Info,
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
    ) -> Connection[MemberType]:
        wanted = selected_node_fields(info)
        found = await resolve_members.organization_members(
            info.context,
            self.organization_id,
            window=Window(first, after, last, before, offset),
            search=search,
            roles=roles,
            statuses=statuses,
            order_field=order_by.field.name if order_by is not None else "NAME",
            descending=order_by is not None and order_by.direction == SortDirection.DESC,
            with_users="user" in wanted,
            with_assignments="projectAssignments" in wanted,
        )
        return members_connection(found)

    @strawberry.field(
        description="Invitations, newest first unless `orderBy` says otherwise. OWNER and "
        "ADMIN only: null for anyone else, with a FORBIDDEN error on this field alone.",
        extensions=guard(HasOrgPermission(Permission.READ_PRIVATE)),
    )
    async def invitations(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
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
    ) -> Connection[InvitationType] | None:
        found = await resolve_invitations.organization_invitations(
            info.context,
            self.organization_id,
            window=Window(first, after, last, before, offset),
            search=search,
            statuses=statuses,
            order_field=order_by.field.name if order_by is not None else "CREATED_AT",
            descending=order_by is None or order_by.direction == SortDirection.DESC,
            with_inviters="invitedBy" in selected_node_fields(info),
        )
        return invitations_connection(found)

    @strawberry.field(
        description="The organization's projects. Any active member.",
        extensions=guard(HasOrgPermission(Permission.READ_ORGANIZATION)),
    )
    async def projects(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        search: Annotated[
            str | None,
            strawberry.argument(description="Part of the name; case-insensitive."),
        ] = None,
    ) -> Connection[ProjectType]:
        page = await resolve_projects.organization_projects(
            info.context,
            self.organization_id,
            window=Window(first, after, last, before),
            search=search,
        )
        return connection(page, ProjectType.from_model)

    @strawberry.field(
        description="The organization's teams, by name. Any active member.",
        extensions=guard(HasOrgPermission(Permission.READ_ORGANIZATION)),
    )
    async def teams(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        search: Annotated[
            str | None,
            strawberry.argument(description="Part of the name; case-insensitive."),
        ] = None,
    ) -> Connection[TeamType]:
        page = await resolve_teams.organization_teams(
            info.context,
            self.organization_id,
            window=Window(first, after, last, before),
            search=search,
        )
        return connection(page, TeamType.from_model)

    @strawberry.field(
        description="Domains added for verification and auto-join. OWNER and ADMIN only: "
        "null for anyone else, with a FORBIDDEN error on this field alone.",
        extensions=guard(HasOrgPermission(Permission.READ_PRIVATE)),
    )
    async def domains(self, info: Info) -> list[DomainType] | None:
        rows = await resolve_domains.organization_domains(info.context, self.organization_id)
        return [DomainType.from_model(row) for row in rows]

    @strawberry.field(
        description="API keys, revoked ones included; never their secrets. OWNER and ADMIN "
        "only: null for anyone else, with a FORBIDDEN error on this field alone.",
        extensions=guard(HasOrgPermission(Permission.READ_PRIVATE)),
    )
    async def api_keys(self, info: Info) -> list[ApiKeyType] | None:
        rows = await resolve_api_keys.organization_api_keys(info.context, self.organization_id)
        return [ApiKeyType.from_model(row) for row in rows]

    @strawberry.field(
        description="Webhook endpoints, oldest first (at most 20). OWNER and ADMIN only: null "
        "for anyone else, with a FORBIDDEN error on this field alone.",
        extensions=guard(HasOrgPermission(Permission.READ_PRIVATE)),
    )
    async def webhook_endpoints(self, info: Info) -> list[WebhookEndpointType] | None:
        rows = await resolve_webhooks.organization_endpoints(info.context, self.organization_id)
        return [WebhookEndpointType.from_model(row) for row in rows]

    @strawberry.field(
        description="The audit trail, newest first. OWNER and ADMIN only: null for anyone "
        "else, with a FORBIDDEN error on this field alone.",
        extensions=guard(HasOrgPermission(Permission.READ_PRIVATE)),
    )
    async def audit_events(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
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
    ) -> Connection[AuditEventType] | None:
        page = await resolve_audit.organization_events(
            info.context,
            self.organization_id,
            window=Window(first, after, last, before),
            actions=actions,
            actor_id=actor_id,
            target_id=target_id,
            since=since,
            until=until,
        )
        return connection(page, AuditEventType.from_model)

    @strawberry.field(
        description="The event feed: the audit trail oldest first, in commit order, an order "
        "that never changes once listed. A client that keeps `endCursor` and asks again "
        "later gets every event exactly once, none skipped, none repeated. An event is listed "
        "as soon as its transaction has committed and no transaction that began before it is "
        "still open. The event types are the audit actions (`AuditEvent.action`): the "
        'vocabulary is app/services/events.py, listed in the README\'s "Audit actions". '
        "OWNER and ADMIN only: null for anyone else, with a FORBIDDEN error on this field "
        "alone.",
        extensions=guard(HasOrgPermission(Permission.READ_PRIVATE)),
    )
    async def events(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        types: Annotated[
            list[str] | None,
            strawberry.argument(
                description=f"Only events of these types (actions): {EVENT_TYPES}."
            ),
        ] = None,
    ) -> Connection[AuditEventType] | None:
        page = await resolve_audit.organization_feed(
            info.context,
            self.organization_id,
            window=Window(first, after, last, before),
            types=types,
        )
        return connection(page, AuditEventType.from_model)

    @strawberry.field(
        description="The ownership transfer awaiting the owner's confirmation; null when none. "
        "OWNER and ADMIN only: null for anyone else, with a FORBIDDEN error on this field "
        "alone.",
        extensions=guard(HasOrgPermission(Permission.READ_PRIVATE)),
    )
    async def pending_ownership_transfer(self, info: Info) -> OwnershipTransferType | None:
        transfer = await resolve_ownership.pending_transfer(info.context, self.organization_id)
        return None if transfer is None else OwnershipTransferType.from_model(transfer)

    @strawberry.field(
        description="SCIM connections, revoked ones included; never their tokens. OWNER and "
        "ADMIN only: null for anyone else, with a FORBIDDEN error on this field alone.",
        extensions=guard(HasOrgPermission(Permission.READ_PRIVATE)),
    )
    async def scim_connections(self, info: Info) -> list[ScimConnectionType] | None:
        rows = await resolve_scim.organization_connections(info.context, self.organization_id)
        return [ScimConnectionType.from_model(row) for row in rows]

    @strawberry.field(
        description="Join requests through the organization's REQUEST domains, oldest first "
        "(a queue). OWNER and ADMIN only: null for anyone else, with a FORBIDDEN error on "
        "this field alone.",
        extensions=guard(HasOrgPermission(Permission.READ_PRIVATE)),
    )
    async def join_requests(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        statuses: Annotated[
            list[JoinRequestStatus] | None,
            strawberry.argument(
                description="Only these statuses (EXPIRED: PENDING past `expiresAt`); null for all."
            ),
        ] = [JoinRequestStatus.PENDING],  # noqa: B006
    ) -> Connection[JoinRequestType] | None:
        page = await resolve_join_requests.organization_join_requests(
            info.context,
            self.organization_id,
            window=Window(first, after, last, before),
            statuses=statuses,
        )
        return connection(page, JoinRequestType.from_model)


register_node("Organization", resolve.organization_node, OrganizationType.from_model)
