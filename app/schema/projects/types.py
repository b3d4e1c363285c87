"""The Project, ProjectAssignment and InvitationProjectAssignment types, built from their
models, and the ProjectAssignmentInput that project and invitation mutations take.

Below members.types in the schema's import order: `ProjectAssignment.member` builds its
Member through the node registry.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import Private

from app.ids import to_global_id
from app.models import InvitationProjectAssignment, Project, ProjectAssignment
from app.models.enums import ProjectRole
from app.resolvers import projects as resolve
from app.resolvers.members import AssignmentRow
from app.resolvers.projects import OrgAssignment
from app.schema.context import Info
from app.schema.execution import PRELOADED
from app.schema.node import Node, as_node, register_node

if TYPE_CHECKING:
    from app.schema.members.types import MemberType

MemberT = Annotated["MemberType", strawberry.lazy("app.schema.members.types")]
_PROJECT_ROLES = {role.value: role for role in ProjectRole}


@strawberry.type(
    name="Project",
    description="A project of an organization; members get project roles on it. Visible to "
    "the organization's active members.",
)
class ProjectType(Node):
    id: strawberry.ID = strawberry.field(description="Opaque global id.")
    name: str = strawberry.field(description="1 to 200 characters.")
    slug: str = strawberry.field(description="Unique in the organization.")
    is_default: bool = strawberry.field(
        description="Offered to new members: `inviteMember(addToDefaultProjects: true)` assigns it."
    )
    created_at: datetime = strawberry.field(description="When it was created.")
    pk: Private[int]
    organization_id: Private[int]

    @classmethod
    def from_model(cls, project: Project) -> ProjectType:
        return cls(
            id=strawberry.ID(to_global_id("Project", project.pk)),
            name=project.name,
            slug=project.slug,
            is_default=project.is_default,
            created_at=project.created_at,
            pk=project.pk,
            organization_id=project.organization_id,
        )

    @strawberry.field(
        description="Who has which role on the project: for the organization's members (USER "
        "and VIEWER see ACTIVE members' only); empty for anyone else, an invitee included."
    )
    async def assignments(self, info: Info) -> list[ProjectAssignmentType]:
        rows = await resolve.project_assignments(info.context, self.pk, self.organization_id)
        return [ProjectAssignmentType.from_model(row, self.organization_id) for row in rows]


@strawberry.type(name="ProjectAssignment", description="A member's role on a project.")
class ProjectAssignmentType(Node):
    """Its fields are read from `source` (the model, or a members page's joined row) when
    a query asks for them (see MemberType)."""

    id: strawberry.ID = strawberry.field(
        description="Opaque global id (for a dry run's new pair: provisional, resolving to "
        "nothing)."
    )
    source: Private[ProjectAssignment | AssignmentRow]
    organization_id: Private[int]
    # Set by list resolvers that joined the project in: resolves synchronously.
    preloaded_project: Private[ProjectType | None] = None

    @property
    def project_id(self) -> int:
        return self.source.project_id

    @property
    def member_id(self) -> int:
        return self.source.member_id

    @classmethod
    def from_model(
        cls, assignment: ProjectAssignment, organization_id: int
    ) -> ProjectAssignmentType:
        return cls(
            id=(
                strawberry.ID(to_global_id("ProjectAssignment", assignment.pk))
                if assignment.pk is not None
                else _planned_id(assignment.project_id, assignment.member_id)
            ),
            source=assignment,
            organization_id=organization_id,
        )

    @classmethod
    def from_org_assignment(cls, found: OrgAssignment) -> ProjectAssignmentType:
        return cls.from_model(found.assignment, found.organization_id)

    @classmethod
    def from_row(
        cls, row: AssignmentRow, organization_id: int, projects: dict[int, ProjectType]
    ) -> ProjectAssignmentType:
        """From a row of the assignment joined with its project; `projects` shares one
        ProjectType per project across a page."""
        project = projects.get(row.project_id)
        if project is None:
            project = projects[row.project_id] = ProjectType(
                id=strawberry.ID(to_global_id("Project", row.project_id)),
                name=row.project_name,
                slug=row.project_slug,
                is_default=row.project_is_default,
                created_at=row.project_created_at,
                pk=row.project_id,
                organization_id=organization_id,
            )
        return cls(
            id=strawberry.ID(to_global_id("ProjectAssignment", row.id)),
            source=row,
            organization_id=organization_id,
            preloaded_project=project,
        )

    @strawberry.field(description="The member's role on the project.")
    def role(self) -> ProjectRole:
        role = self.source.role
        return _PROJECT_ROLES.get(role) or ProjectRole(role)

    @strawberry.field(description="When the member got the project.")
    def created_at(self) -> datetime:
        return self.source.created_at

    @strawberry.field(
        description="When the assignment ends: from that instant it is gone. Null when it "
        "does not end."
    )
    def expires_at(self) -> datetime | None:
        return self.source.expires_at

    @strawberry.field(description="The project.", metadata={PRELOADED: "preloaded_project"})
    async def project(self, info: Info) -> ProjectType:
        return ProjectType.from_model(await resolve.project_by_pk(info.context, self.project_id))

    @strawberry.field(description="The member.")
    async def member(self, info: Info) -> MemberT:
        return as_node(  # type: ignore[no-any-return]
            "Member", await resolve.assignment_member(info.context, self.member_id)
        )


def _planned_id(project_id: int, member_id: int) -> strawberry.ID:
    """A dry run's not-yet-saved pair: an id that resolves to nothing."""
    raw = f"PlannedProjectAssignment:{project_id}-{member_id}"
    return strawberry.ID(base64.urlsafe_b64encode(raw.encode()).decode().rstrip("="))


@strawberry.type(
    name="InvitationProjectAssignment",
    description="A project role an invitation grants when accepted.",
)
class InvitationProjectAssignmentType:
    role: ProjectRole = strawberry.field(description="The role on the project.")
    project_id: Private[int]

    @classmethod
    def from_model(cls, row: InvitationProjectAssignment) -> InvitationProjectAssignmentType:
        return cls(role=ProjectRole(row.role), project_id=row.project_id)

    @strawberry.field(description="The project.")
    async def project(self, info: Info) -> ProjectType:
        return ProjectType.from_model(await resolve.project_by_pk(info.context, self.project_id))


@strawberry.input(description="A project and the role to have on it.")
class ProjectAssignmentInput:
    project_id: strawberry.ID = strawberry.field(
        description="A project of the same organization (NOT_FOUND otherwise)."
    )
    role: ProjectRole = strawberry.field(description="The role on that project.")


register_node("Project", resolve.project_node, ProjectType.from_model)
register_node(
    "ProjectAssignment", resolve.assignment_node, ProjectAssignmentType.from_org_assignment
)
