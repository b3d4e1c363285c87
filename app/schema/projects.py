"""Projects and per-project roles."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import Private

from app.ids import to_global_id
from app.models import Project, ProjectAssignment
from app.models.enums import ProjectRole
from app.resolvers import projects as resolve
from app.schema.node import Node, register_node

if TYPE_CHECKING:
    from app.schema.members import MemberType

MemberT = Annotated["MemberType", strawberry.lazy("app.schema.members")]


@strawberry.type(name="Project")
class ProjectType(Node):
    id: strawberry.ID
    name: str
    slug: str
    is_default: bool
    created_at: datetime
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

    @strawberry.field
    async def assignments(self, info: strawberry.Info) -> list[ProjectAssignmentType]:
        return await resolve.project_assignments(info, self)


@strawberry.type(name="ProjectAssignment")
class ProjectAssignmentType(Node):
    id: strawberry.ID
    role: ProjectRole
    created_at: datetime
    pk: Private[int]
    project_id: Private[int]
    member_id: Private[int]
    organization_id: Private[int]

    @classmethod
    def from_model(
        cls, assignment: ProjectAssignment, organization_id: int
    ) -> ProjectAssignmentType:
        return cls(
            id=strawberry.ID(to_global_id("ProjectAssignment", assignment.pk)),
            role=ProjectRole(assignment.role),
            created_at=assignment.created_at,
            pk=assignment.pk,
            project_id=assignment.project_id,
            member_id=assignment.member_id,
            organization_id=organization_id,
        )

    @strawberry.field
    async def project(self, info: strawberry.Info) -> ProjectType:
        return await resolve.assignment_project(info, self)

    @strawberry.field
    async def member(self, info: strawberry.Info) -> MemberT:
        return await resolve.assignment_member(info, self)


@strawberry.type(name="InvitationProjectAssignment")
class InvitationProjectAssignmentType:
    role: ProjectRole
    project_id: Private[int]

    @strawberry.field
    async def project(self, info: strawberry.Info) -> ProjectType:
        return await resolve.project_by_pk(info, self.project_id)


register_node("Project", resolve.project_node)
register_node("ProjectAssignment", resolve.assignment_node)
