"""The Member type, built from the Member model."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import Private

from app.clock import now
from app.ids import to_global_id
from app.models import Member
from app.models.enums import ManagedBy, MemberStatus, OrganizationRole
from app.resolvers import members as resolve
from app.resolvers import projects as resolve_projects
from app.resolvers import teams as resolve_teams
from app.resolvers.members import MemberRow, MembersPage
from app.resolvers.paging import model_of
from app.schema.accounts.types import UserType
from app.schema.context import Info
from app.schema.execution import KNOWN_NULL, PRELOADED
from app.schema.node import Node, as_node, register_node
from app.schema.pagination import Connection, connection
from app.schema.projects.types import ProjectAssignmentType, ProjectType
from app.schema.teams.access import EffectiveProjectRoleType
from app.services.expiry import (
    removed_at_from,
    role_from,
    status_from,
    temporary_role_pending_from,
)

if TYPE_CHECKING:
    from app.schema.organizations.types import OrganizationType
    from app.schema.teams.types import TeamType

OrganizationT = Annotated["OrganizationType", strawberry.lazy("app.schema.organizations.types")]
TeamT = Annotated["TeamType", strawberry.lazy("app.schema.teams.types")]


@strawberry.type(
    name="Member",
    description="A user's membership of an organization. Any active member of the "
    "organization sees ACTIVE members; OWNER and ADMIN also see BLOCKED and REMOVED ones.",
)
class MemberType(Node):
    """Every field is read from `source` when a query asks for it (the plain fields are
    synchronous resolvers of `self` alone, which compiled plans call directly), with the
    status and role as they read at `moment` (app.services.expiry): past `expiresAt`
    REMOVED, past `roleExpiresAt` in the role it reverts to, whether or not the sweep has
    run."""

    id: strawberry.ID = strawberry.field(description="Opaque global id.")
    # The model, or a list page's row (app.resolvers.members.MemberRow) until a field
    # needs the model.
    source: Private[Member | MemberRow]
    # The instant its status and role are read at.
    moment: Private[datetime]
    # Filled from a MembersPage, whose resolver fetched them in bulk: these fields then
    # resolve synchronously (see PRELOADED) instead of scheduling a DataLoader call each.
    known_email: Private[object] = None
    preloaded_user: Private[UserType | None] = None
    preloaded_assignments: Private[list[ProjectAssignmentType] | None] = None

    @property
    def model(self) -> Member:
        return model_of(self.source)

    @property
    def organization_id(self) -> int:
        return self.source.organization_id

    @classmethod
    def from_model(cls, member: Member) -> MemberType:
        """The member as it reads now."""
        return cls(id=strawberry.ID(to_global_id("Member", member.pk)), source=member, moment=now())

    @classmethod
    def from_row(cls, row: MemberRow, moment: datetime) -> MemberType:
        """The same from a members page's row, read at the page's instant."""
        return cls(id=strawberry.ID(to_global_id("Member", row.id)), source=row, moment=moment)

    def _status(self) -> MemberStatus:
        source = self.source
        return status_from(source.status, source.role, source.expires_at, self.moment)

    def _temporary_role(self) -> bool:
        source = self.source
        return self._status() != MemberStatus.REMOVED and temporary_role_pending_from(
            source.role_expires_at, source.role_reverts_to, self.moment
        )

    @strawberry.field(description="The user's name.")
    def name(self) -> str:
        return self.source.name

    @strawberry.field(description="A handle unique in the organization; null when none was given.")
    def username(self) -> str | None:
        return self.source.username

    @strawberry.field(description="A job title; null when none was given.")
    def title(self) -> str | None:
        return self.source.title

    @strawberry.field(description="The member's role here.")
    def role(self) -> OrganizationRole:
        source = self.source
        return role_from(source.role, source.role_expires_at, source.role_reverts_to, self.moment)

    @strawberry.field(description="ACTIVE, BLOCKED or REMOVED.")
    def status(self) -> MemberStatus:
        return self._status()

    @strawberry.field(description="When they joined.")
    def joined_at(self) -> datetime:
        return self.source.joined_at

    @strawberry.field(description="When they were blocked; null unless BLOCKED.")
    def blocked_at(self) -> datetime | None:
        return self.source.blocked_at if self._status() == MemberStatus.BLOCKED else None

    @strawberry.field(
        description="When they were removed, left or their membership expired; null unless REMOVED."
    )
    def removed_at(self) -> datetime | None:
        source = self.source
        return removed_at_from(
            source.status, source.role, source.expires_at, source.removed_at, self.moment
        )

    @strawberry.field(
        description="When the membership ends (`setMemberExpiry`): from that instant they are "
        "REMOVED. Null when it does not end, and once REMOVED."
    )
    def expires_at(self) -> datetime | None:
        return None if self._status() == MemberStatus.REMOVED else self.source.expires_at

    @strawberry.field(
        description="When a temporary role (`updateMemberRole(until:)`) ends; null for a "
        "lasting role."
    )
    def role_expires_at(self) -> datetime | None:
        return self.source.role_expires_at if self._temporary_role() else None

    @strawberry.field(
        description="The lasting role a temporary role reverts to at `roleExpiresAt`; null for "
        "a lasting role."
    )
    def role_reverts_to(self) -> OrganizationRole | None:
        reverts_to = self.source.role_reverts_to
        if reverts_to is None or not self._temporary_role():
            return None
        return OrganizationRole(reverts_to)

    @strawberry.field(
        description="SCIM for a member an identity provider provisioned: their role and team "
        "membership change only through SCIM (SCIM_MANAGED); ADMIN+ may still block or "
        "remove them."
    )
    def managed_by(self) -> ManagedBy:
        return ManagedBy(self.source.managed_by)

    @strawberry.field(
        description="ADMIN+ or the member themself; null for anyone else.",
        metadata={PRELOADED: "known_email"},
    )
    async def email(self, info: Info) -> str | None:
        if await resolve.member_email_visible(info.context, self.model):
            return self.model.email
        return None

    @strawberry.field(description="The member's account.", metadata={PRELOADED: "preloaded_user"})
    async def user(self, info: Info) -> UserType:
        member = self.model
        user = await resolve.member_user(info.context, member)
        return UserType.from_model(
            user, email_visible=await resolve.member_email_visible(info.context, member)
        )

    @strawberry.field(description="The organization.")
    async def organization(self, info: Info) -> OrganizationT:
        return as_node(  # type: ignore[no-any-return]
            "Organization", await resolve.member_organization(info.context, self.model)
        )

    @strawberry.field(
        description="Who invited them; null for the founder, auto-joined members, or when "
        "that member is not visible."
    )
    async def invited_by(self, info: Info) -> MemberType | None:
        inviter = await resolve.member_invited_by(info.context, self.model)
        return None if inviter is None else MemberType.from_model(inviter)

    @strawberry.field(
        description="Their roles on projects; empty once REMOVED.",
        metadata={PRELOADED: "preloaded_assignments"},
    )
    async def project_assignments(self, info: Info) -> list[ProjectAssignmentType]:
        rows = await resolve_projects.member_assignments(info.context, self.model)
        return [ProjectAssignmentType.from_model(row, self.organization_id) for row in rows]

    @strawberry.field(
        description="The teams they belong to, by name (BLOCKED members keep "
        "theirs, inert; REMOVED members have left every team)."
    )
    async def teams(self, info: Info) -> list[TeamT]:
        rows = await resolve_teams.member_teams(info.context, self.model)
        return [as_node("Team", row) for row in rows]

    @strawberry.field(
        description="Their role on each project where they hold one: the highest of their "
        "direct assignment (unless expired), their teams' roles and, for organization OWNER "
        "and ADMIN, project ADMIN on every project; with the sources that give it. Empty "
        "unless ACTIVE (a BLOCKED member's assignments and team roles are inert)."
    )
    async def effective_project_roles(self, info: Info) -> list[EffectiveProjectRoleType]:
        found = await resolve_teams.member_effective_roles(info.context, self.model)
        return [EffectiveProjectRoleType.from_effective(e) for e in found]


def members_connection(found: MembersPage) -> Connection[MemberType]:
    """A members page as a connection, with what its resolver preloaded filled in."""

    projects: dict[int, ProjectType] = {}

    def node(member: MemberRow) -> MemberType:
        wrapped = MemberType.from_row(member, found.moment)
        visible = found.email_visible(member)
        wrapped.known_email = member.email if visible else KNOWN_NULL
        if found.users is not None:
            wrapped.preloaded_user = UserType.from_row(found.users[member.user_id], visible)
        if found.assignments is not None:
            wrapped.preloaded_assignments = [
                ProjectAssignmentType.from_row(row, found.organization_id, projects)
                for row in found.assignments[member.id]
            ]
        return wrapped

    return connection(found.page, node)


register_node("Member", resolve.member_node, MemberType.from_model)
