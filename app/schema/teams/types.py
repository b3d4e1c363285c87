"""The Team and TeamProjectRole types, built from their models.

Above members.types in the schema's import order: `Team.members` is a MemberConnection.
"""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import Private

from app.ids import to_global_id
from app.models import Team, TeamProjectRole
from app.models.enums import ManagedBy, ProjectRole
from app.resolvers import teams as resolve
from app.resolvers.paging import Window
from app.schema.context import Info
from app.schema.members.types import MemberType, members_connection
from app.schema.node import Node, register_node
from app.schema.pagination import After, Before, Connection, First, Last
from app.schema.projects.types import ProjectType


@strawberry.type(
    name="TeamProjectRole", description="A role on a project that every member of a team holds."
)
class TeamProjectRoleType:
    role: ProjectRole = strawberry.field(description="The role on the project.")
    project_id: Private[int]

    @classmethod
    def from_model(cls, row: TeamProjectRole) -> TeamProjectRoleType:
        return cls(role=ProjectRole(row.role), project_id=row.project_id)

    @strawberry.field(description="The project.")
    async def project(self, info: Info) -> ProjectType:
        return ProjectType.from_model(await resolve.project_by_pk(info.context, self.project_id))


@strawberry.type(
    name="Team",
    description="A named group of an organization's members; its members hold its project "
    "roles (see `Member.effectiveProjectRoles`). Visible to the organization's active "
    "members; OWNER and ADMIN manage teams.",
)
class TeamType(Node):
    id: strawberry.ID = strawberry.field(description="Opaque global id.")
    name: str = strawberry.field(description="1 to 200 characters.")
    slug: str = strawberry.field(
        description="Made from the name (again when it is renamed); unique in the organization."
    )
    description: str | None = strawberry.field(
        description="Up to 1000 characters; null when none was given."
    )
    managed_by: ManagedBy = strawberry.field(
        description="SCIM for a group an identity provider provisioned: its name and members "
        "change only through SCIM (SCIM_MANAGED); its project roles stay Roster's."
    )
    created_at: datetime = strawberry.field(description="When it was created.")
    model: Private[Team]

    @property
    def organization_id(self) -> int:
        return self.model.organization_id

    @classmethod
    def from_model(cls, team: Team) -> TeamType:
        return cls(
            id=strawberry.ID(to_global_id("Team", team.pk)),
            name=team.name,
            slug=team.slug,
            description=team.description,
            managed_by=ManagedBy(team.managed_by),
            created_at=team.created_at,
            model=team,
        )

    @strawberry.field(
        description="The team's members, by name (USER and VIEWER see ACTIVE members only). "
        "BLOCKED members stay in their teams, their team roles inert; REMOVED members leave "
        "every team."
    )
    async def members(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[MemberType]:
        found = await resolve.team_members(
            info.context, self.model, window=Window(first, after, last, before)
        )
        return members_connection(found)

    @strawberry.field(description="The project roles the team's members hold.")
    async def project_roles(self, info: Info) -> list[TeamProjectRoleType]:
        rows = await resolve.team_project_roles(info.context, self.model)
        return [TeamProjectRoleType.from_model(row) for row in rows]


register_node("Team", resolve.team_node, TeamType.from_model)
