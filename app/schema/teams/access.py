"""A member's effective project roles and where they come from: EffectiveProjectRole and
AccessSource, built from app/services/project_access.py's answer.

Below members.types in the schema's import order (Member.effectiveProjectRoles returns
these); `AccessSource.team` builds its Team through the node registry.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import Private

from app.models.enums import ProjectRole
from app.resolvers import teams as resolve
from app.schema.context import Info
from app.schema.limits import LIST_SIZE_HINT
from app.schema.node import as_node
from app.schema.projects.types import ProjectType
from app.services.project_access import AccessSource, AccessSourceKind, EffectiveRole

if TYPE_CHECKING:
    from app.schema.teams.types import TeamType

TeamT = Annotated["TeamType", strawberry.lazy("app.schema.teams.types")]
SOURCES_COUNTED = 3


@strawberry.type(name="AccessSource", description="One reason a member holds a role on a project.")
class AccessSourceType:
    kind: AccessSourceKind = strawberry.field(description="Where the role comes from.")
    role: ProjectRole = strawberry.field(description="The role this source gives.")
    expires_at: datetime | None = strawberry.field(
        description="When a DIRECT assignment expires; null when it does not, and for other kinds."
    )
    team_id: Private[int | None]

    @classmethod
    def from_source(cls, source: AccessSource) -> AccessSourceType:
        return cls(
            kind=source.kind, role=source.role, expires_at=source.expires_at, team_id=source.team_id
        )

    @strawberry.field(description="The team, for a TEAM source; null otherwise.")
    async def team(self, info: Info) -> TeamT | None:
        if self.team_id is None:
            return None
        team = await resolve.team_by_pk(info.context, self.team_id)
        return None if team is None else as_node("Team", team)


@strawberry.type(
    name="EffectiveProjectRole",
    description="A member's role on a project: the highest of its sources (a direct "
    "assignment, their teams' roles, organization OWNER/ADMIN as project ADMIN).",
)
class EffectiveProjectRoleType:
    role: ProjectRole = strawberry.field(description="The highest role its sources give.")
    sources: list[AccessSourceType] = strawberry.field(
        description="Every source of a role on this project: DIRECT first, then TEAM (by team "
        "id), then ORGANIZATION_ROLE.",
        # The query cost counts it at this size (typically a direct assignment, a team, the
        # organization role); the item cap at execution bounds the real count.
        metadata={LIST_SIZE_HINT: SOURCES_COUNTED},
    )
    project_id: Private[int]

    @classmethod
    def from_effective(cls, effective: EffectiveRole) -> EffectiveProjectRoleType:
        return cls(
            role=effective.role,
            sources=[AccessSourceType.from_source(s) for s in effective.sources],
            project_id=effective.project_id,
        )

    @strawberry.field(description="The project.")
    async def project(self, info: Info) -> ProjectType:
        return ProjectType.from_model(await resolve.project_by_pk(info.context, self.project_id))
