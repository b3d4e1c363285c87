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
    id: strawberry.ID = strawberry.field(description="Opaque global id.")
    name: str = strawberry.field(description="The user's name.")
    username: str | None = strawberry.field(
        description="A handle unique in the organization; null when none was given."
    )
    title: str | None = strawberry.field(description="A job title; null when none was given.")
    role: OrganizationRole = strawberry.field(description="The member's role here.")
    status: MemberStatus = strawberry.field(description="ACTIVE, BLOCKED or REMOVED.")
    joined_at: datetime = strawberry.field(description="When they joined.")
    blocked_at: datetime | None = strawberry.field(
        description="When they were blocked; null unless BLOCKED."
    )
    removed_at: datetime | None = strawberry.field(
        description="When they were removed, left or their membership expired; null unless REMOVED."
    )
    expires_at: datetime | None = strawberry.field(
        description="When the membership ends (`setMemberExpiry`): from that instant they are "
        "REMOVED. Null when it does not end, and once REMOVED."
    )
    role_expires_at: datetime | None = strawberry.field(
        description="When a temporary role (`updateMemberRole(until:)`) ends; null for a "
        "lasting role."
    )
    role_reverts_to: OrganizationRole | None = strawberry.field(
        description="The lasting role a temporary role reverts to at `roleExpiresAt`; null for "
        "a lasting role."
    )
    managed_by: ManagedBy = strawberry.field(
        description="SCIM for a member an identity provider provisioned: their role and team "
        "membership change only through SCIM (SCIM_MANAGED); ADMIN+ may still block or "
        "remove them."
    )
    # The model, or a list page's row (app.resolvers.members.MemberRow) until a field
    # needs the model.
    source: Private[Member | MemberRow]
    # Filled from a MembersPage, whose resolver fetched them in bulk: these fields then
    # resolve synchronously (see PRELOADED) instead of scheduling a DataLoader call each.
    known_email: Private[object] = None
    preloaded_user: Private[UserType | None] = None
    preloaded_assignments: Private[list[ProjectAssignmentType] | None] = None

    @property
    def model(self) -> Member:
        source = self.source
        return source if isinstance(source, Member) else source.model()

    @property
    def organization_id(self) -> int:
        return self.source.organization_id

    @classmethod
    def from_model(cls, member: Member) -> MemberType:
        """As the member reads now: past `expiresAt` REMOVED, past `roleExpiresAt` in the
        role it reverts to (app.services.expiry), whether or not the sweep has run."""
        return cls._read(member, member.pk)

    @classmethod
    def from_row(cls, row: MemberRow) -> MemberType:
        """The same from a members page's row."""
        return cls._read(row, row.id)

    @classmethod
    def _read(cls, member: Member | MemberRow, pk: int) -> MemberType:
        moment = now()
        role, expires_at = member.role, member.expires_at
        status = status_from(member.status, role, expires_at, moment)
        temporary = status != MemberStatus.REMOVED and temporary_role_pending_from(
            member.role_expires_at, member.role_reverts_to, moment
        )
        return cls(
            id=strawberry.ID(to_global_id("Member", pk)),
            name=member.name,
            username=member.username,
            title=member.title,
            role=role_from(role, member.role_expires_at, member.role_reverts_to, moment),
            status=status,
            joined_at=member.joined_at,
            blocked_at=member.blocked_at if status == MemberStatus.BLOCKED else None,
            removed_at=removed_at_from(member.status, role, expires_at, member.removed_at, moment),
            expires_at=None if status == MemberStatus.REMOVED else expires_at,
            role_expires_at=member.role_expires_at if temporary else None,
            role_reverts_to=(
                OrganizationRole(member.role_reverts_to)
                if temporary and member.role_reverts_to is not None
                else None
            ),
            managed_by=ManagedBy(member.managed_by),
            source=member,
        )

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
        wrapped = MemberType.from_row(member)
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
