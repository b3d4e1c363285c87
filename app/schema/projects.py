"""Projects and per-project roles."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import Private

from app.auth.roles import Permission
from app.ids import to_global_id
from app.models import Project, ProjectAssignment
from app.models.enums import ProjectRole
from app.resolvers import projects as resolve
from app.schema.errors import UserError
from app.schema.execution import PRELOADED
from app.schema.invitations import ProjectAssignmentInput
from app.schema.node import Node, register_node
from app.schema.permissions import HasOrgPermission, guard, org_of_input

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
    pk: Private[int | None]
    project_id: Private[int]
    member_id: Private[int]
    organization_id: Private[int]
    # Set by list resolvers that joined the project in: resolves synchronously.
    preloaded_project: Private[ProjectType | None] = None

    @classmethod
    def from_model(
        cls, assignment: ProjectAssignment, organization_id: int
    ) -> ProjectAssignmentType:
        return cls(
            id=(
                strawberry.ID(to_global_id("ProjectAssignment", assignment.pk))
                if assignment.pk is not None
                else _planned_id(assignment)
            ),
            role=ProjectRole(assignment.role),
            created_at=assignment.created_at,
            pk=assignment.pk,
            project_id=assignment.project_id,
            member_id=assignment.member_id,
            organization_id=organization_id,
        )

    @classmethod
    def from_row(cls, row: dict, organization_id: int) -> ProjectAssignmentType:
        """From a `values()` row of the assignment joined with its project (`project__*`)."""
        return cls(
            id=strawberry.ID(to_global_id("ProjectAssignment", row["id"])),
            role=ProjectRole(row["role"]),
            created_at=row["created_at"],
            pk=row["id"],
            project_id=row["project_id"],
            member_id=row["member_id"],
            organization_id=organization_id,
            preloaded_project=ProjectType(
                id=strawberry.ID(to_global_id("Project", row["project_id"])),
                name=row["project__name"],
                slug=row["project__slug"],
                is_default=row["project__is_default"],
                created_at=row["project__created_at"],
                pk=row["project_id"],
                organization_id=organization_id,
            ),
        )

    @strawberry.field(metadata={PRELOADED: "preloaded_project"})
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


def _planned_id(assignment: ProjectAssignment) -> strawberry.ID:
    """A dry run's not-yet-saved pair: an id that resolves to nothing."""
    raw = f"PlannedProjectAssignment:{assignment.project_id}-{assignment.member_id}"
    return strawberry.ID(base64.urlsafe_b64encode(raw.encode()).decode().rstrip("="))


@strawberry.input
class CreateProjectInput:
    organization_id: strawberry.ID
    name: str
    slug: str | None = strawberry.field(
        default=None, description="Unique in the organization; made from the name when absent."
    )
    is_default: bool = strawberry.field(
        default=False, description="Default projects are offered to new members on invitation."
    )


@strawberry.input
class UpdateProjectInput:
    project_id: strawberry.ID
    name: str | None = strawberry.UNSET
    slug: str | None = strawberry.UNSET
    is_default: bool | None = strawberry.UNSET


@strawberry.input
class DeleteProjectInput:
    project_id: strawberry.ID


@strawberry.input
class AssignProjectsInput:
    organization_id: strawberry.ID
    member_ids: list[strawberry.ID]
    assignments: list[ProjectAssignmentInput] = strawberry.field(
        description="Each project at most once, with the role every listed member gets on it."
    )
    dry_run: bool = strawberry.field(
        default=False, description="Run every check and return what would be set; write nothing."
    )


@strawberry.input
class UpdateProjectAssignmentInput:
    assignment_id: strawberry.ID
    role: ProjectRole


@strawberry.input
class RemoveProjectAssignmentInput:
    assignment_id: strawberry.ID


@strawberry.type
class ProjectPayload:
    errors: list[UserError]
    project: ProjectType | None = None


@strawberry.type
class DeleteProjectPayload:
    errors: list[UserError]
    ok: bool | None = None


@strawberry.type
class AssignProjectsPayload:
    errors: list[UserError]
    assignments: list[ProjectAssignmentType] | None = strawberry.field(
        default=None,
        description="One per member and project, as set (or, on a dry run, as it would be; "
        "pairs not assigned yet carry a provisional id that resolves to nothing).",
    )


@strawberry.type
class ProjectAssignmentPayload:
    errors: list[UserError]
    assignment: ProjectAssignmentType | None = None


@strawberry.type
class RemoveProjectAssignmentPayload:
    errors: list[UserError]
    ok: bool | None = None


_org_input = org_of_input("Organization", "organization_id")
_project_input = org_of_input("Project", "project_id")
_assignment_input = org_of_input("ProjectAssignment", "assignment_id")
_creator = guard(HasOrgPermission(Permission.CREATE_PROJECTS, _org_input))
# Any active member passes; the service decides with the project role table.
_project_manager = guard(HasOrgPermission(Permission.READ_ORGANIZATION, _project_input))
_assignment_manager = guard(HasOrgPermission(Permission.READ_ORGANIZATION, _assignment_input))


@strawberry.type
class Mutation:
    @strawberry.mutation(extensions=guard(HasOrgPermission(Permission.CREATE_PROJECTS, _org_input)))
    async def create_project(
        self, info: strawberry.Info, input: CreateProjectInput
    ) -> ProjectPayload:
        return await resolve.create_project(info, input)

    @strawberry.mutation(extensions=_project_manager)
    async def update_project(
        self, info: strawberry.Info, input: UpdateProjectInput
    ) -> ProjectPayload:
        return await resolve.update_project(info, input)

    @strawberry.mutation(extensions=_project_manager)
    async def delete_project(
        self, info: strawberry.Info, input: DeleteProjectInput
    ) -> DeleteProjectPayload:
        return await resolve.delete_project(info, input)

    @strawberry.mutation(
        extensions=guard(HasOrgPermission(Permission.READ_ORGANIZATION, _org_input))
    )
    async def assign_projects(
        self, info: strawberry.Info, input: AssignProjectsInput
    ) -> AssignProjectsPayload:
        return await resolve.assign_projects(info, input)

    @strawberry.mutation(extensions=_assignment_manager)
    async def update_project_assignment(
        self, info: strawberry.Info, input: UpdateProjectAssignmentInput
    ) -> ProjectAssignmentPayload:
        return await resolve.update_project_assignment(info, input)

    @strawberry.mutation(extensions=_assignment_manager)
    async def remove_project_assignment(
        self, info: strawberry.Info, input: RemoveProjectAssignmentInput
    ) -> RemoveProjectAssignmentPayload:
        return await resolve.remove_project_assignment(info, input)
