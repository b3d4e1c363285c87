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
from app.schema.errors import INPUT, UserError, errors_field, object_field, ok_field
from app.schema.execution import PRELOADED
from app.schema.invitations import ProjectAssignmentInput
from app.schema.node import Node, register_node
from app.schema.permissions import HasOrgPermission, guard, org_of_input

if TYPE_CHECKING:
    from app.schema.members import MemberType

MemberT = Annotated["MemberType", strawberry.lazy("app.schema.members")]


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

    @strawberry.field(description="Who has which role on the project.")
    async def assignments(self, info: strawberry.Info) -> list[ProjectAssignmentType]:
        return await resolve.project_assignments(info, self)


@strawberry.type(name="ProjectAssignment", description="A member's role on a project.")
class ProjectAssignmentType(Node):
    id: strawberry.ID = strawberry.field(
        description="Opaque global id (for a dry run's new pair: provisional, resolving to "
        "nothing)."
    )
    role: ProjectRole = strawberry.field(description="The member's role on the project.")
    created_at: datetime = strawberry.field(description="When the member got the project.")
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

    @strawberry.field(description="The project.", metadata={PRELOADED: "preloaded_project"})
    async def project(self, info: strawberry.Info) -> ProjectType:
        return await resolve.assignment_project(info, self)

    @strawberry.field(description="The member.")
    async def member(self, info: strawberry.Info) -> MemberT:
        return await resolve.assignment_member(info, self)


@strawberry.type(
    name="InvitationProjectAssignment",
    description="A project role an invitation grants when accepted.",
)
class InvitationProjectAssignmentType:
    role: ProjectRole = strawberry.field(description="The role on the project.")
    project_id: Private[int]

    @strawberry.field(description="The project.")
    async def project(self, info: strawberry.Info) -> ProjectType:
        return await resolve.project_by_pk(info, self.project_id)


register_node("Project", resolve.project_node)
register_node("ProjectAssignment", resolve.assignment_node)


def _planned_id(assignment: ProjectAssignment) -> strawberry.ID:
    """A dry run's not-yet-saved pair: an id that resolves to nothing."""
    raw = f"PlannedProjectAssignment:{assignment.project_id}-{assignment.member_id}"
    return strawberry.ID(base64.urlsafe_b64encode(raw.encode()).decode().rstrip("="))


@strawberry.input(description="A new project.")
class CreateProjectInput:
    organization_id: strawberry.ID = strawberry.field(description="The organization.")
    name: str = strawberry.field(description="1 to 200 characters after trimming.")
    slug: str | None = strawberry.field(
        default=None,
        description="Unique in the organization (SLUG_TAKEN); made from the name when absent.",
    )
    is_default: bool = strawberry.field(
        default=False, description="Default projects are offered to new members on invitation."
    )


@strawberry.input(description="Changes to a project; omitted fields stay as they are.")
class UpdateProjectInput:
    project_id: strawberry.ID = strawberry.field(description="The project.")
    name: str | None = strawberry.field(
        default=strawberry.UNSET, description="1 to 200 characters after trimming."
    )
    slug: str | None = strawberry.field(
        default=strawberry.UNSET, description="Unique in the organization (SLUG_TAKEN)."
    )
    is_default: bool | None = strawberry.field(
        default=strawberry.UNSET, description="true or false (null: INVALID_INPUT)."
    )


@strawberry.input(description="The project to delete.")
class DeleteProjectInput:
    project_id: strawberry.ID = strawberry.field(description="The project.")


@strawberry.input(description="Project roles for several members at once.")
class AssignProjectsInput:
    organization_id: strawberry.ID = strawberry.field(description="The organization.")
    member_ids: list[strawberry.ID] = strawberry.field(
        description="ACTIVE members of the organization (NOT_FOUND, MEMBER_INACTIVE, "
        "MEMBER_REMOVED); at most 100, and at most 1000 member-project pairs."
    )
    assignments: list[ProjectAssignmentInput] = strawberry.field(
        description="Each project at most once, with the role every listed member gets on it."
    )
    dry_run: bool = strawberry.field(
        default=False, description="Run every check and return what would be set; write nothing."
    )


@strawberry.input(description="A new role for one assignment.")
class UpdateProjectAssignmentInput:
    assignment_id: strawberry.ID = strawberry.field(description="The assignment.")
    role: ProjectRole = strawberry.field(description="The new role on the project.")


@strawberry.input(description="The assignment to remove.")
class RemoveProjectAssignmentInput:
    assignment_id: strawberry.ID = strawberry.field(description="The assignment.")


@strawberry.type(description="The result of a change to a project.")
class ProjectPayload:
    errors: list[UserError] = errors_field()
    project: ProjectType | None = object_field("The project as it is now.")


@strawberry.type(description="The result of `deleteProject`.")
class DeleteProjectPayload:
    errors: list[UserError] = errors_field()
    ok: bool | None = ok_field()


@strawberry.type(description="The result of `assignProjects`.")
class AssignProjectsPayload:
    errors: list[UserError] = errors_field()
    assignments: list[ProjectAssignmentType] | None = strawberry.field(
        default=None,
        description="One per member and project, as set (or, on a dry run, as it would be; "
        "pairs not assigned yet carry a provisional id that resolves to nothing). Null when "
        "refused.",
    )


@strawberry.type(description="The result of `updateProjectAssignment`.")
class ProjectAssignmentPayload:
    errors: list[UserError] = errors_field()
    assignment: ProjectAssignmentType | None = object_field("The assignment as it is now.")


@strawberry.type(description="The result of `removeProjectAssignment`.")
class RemoveProjectAssignmentPayload:
    errors: list[UserError] = errors_field()
    ok: bool | None = ok_field()


_org_input = org_of_input("Organization", "organization_id")
_project_input = org_of_input("Project", "project_id")
_assignment_input = org_of_input("ProjectAssignment", "assignment_id")
_creator = guard(HasOrgPermission(Permission.CREATE_PROJECTS, _org_input))
# Any active member passes; the service decides with the project role table.
_project_manager = guard(HasOrgPermission(Permission.READ_ORGANIZATION, _project_input))
_assignment_manager = guard(HasOrgPermission(Permission.READ_ORGANIZATION, _assignment_input))


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Create a project; a signed-in creator becomes its project OWNER. OWNER, "
        "ADMIN and USER (FORBIDDEN for VIEWER). Codes: NOT_FOUND, INVALID_INPUT, SLUG_TAKEN.",
        extensions=guard(HasOrgPermission(Permission.CREATE_PROJECTS, _org_input)),
    )
    async def create_project(
        self, info: strawberry.Info, input: Annotated[CreateProjectInput, INPUT]
    ) -> ProjectPayload:
        return await resolve.create_project(info, input)

    @strawberry.mutation(
        description="Rename a project or change its slug or default flag. The project's OWNER "
        "or ADMIN, or an organization OWNER or ADMIN. Codes: NOT_FOUND, INVALID_INPUT, "
        "SLUG_TAKEN, FORBIDDEN_ROLE.",
        extensions=_project_manager,
    )
    async def update_project(
        self, info: strawberry.Info, input: Annotated[UpdateProjectInput, INPUT]
    ) -> ProjectPayload:
        return await resolve.update_project(info, input)

    @strawberry.mutation(
        description="Delete a project with its assignments. The project's OWNER, or an "
        "organization OWNER or ADMIN. Codes: NOT_FOUND, FORBIDDEN_ROLE.",
        extensions=_project_manager,
    )
    async def delete_project(
        self, info: strawberry.Info, input: Annotated[DeleteProjectInput, INPUT]
    ) -> DeleteProjectPayload:
        return await resolve.delete_project(info, input)

    @strawberry.mutation(
        description="Give every listed member the listed role on each listed project, all or "
        "nothing; `dryRun` only reports what would be set. Each project's OWNER or ADMIN, or an "
        "organization OWNER or ADMIN; a project ADMIN cannot grant or change OWNER. Codes: "
        "NOT_FOUND, INVALID_INPUT, FORBIDDEN_ROLE, MEMBER_INACTIVE, MEMBER_REMOVED.",
        extensions=guard(HasOrgPermission(Permission.READ_ORGANIZATION, _org_input)),
    )
    async def assign_projects(
        self, info: strawberry.Info, input: Annotated[AssignProjectsInput, INPUT]
    ) -> AssignProjectsPayload:
        return await resolve.assign_projects(info, input)

    @strawberry.mutation(
        description="Change one member's role on a project. As for `assignProjects`. Codes: "
        "NOT_FOUND, FORBIDDEN_ROLE, MEMBER_INACTIVE, MEMBER_REMOVED.",
        extensions=_assignment_manager,
    )
    async def update_project_assignment(
        self, info: strawberry.Info, input: Annotated[UpdateProjectAssignmentInput, INPUT]
    ) -> ProjectAssignmentPayload:
        return await resolve.update_project_assignment(info, input)

    @strawberry.mutation(
        description="Take a member off a project (BLOCKED members' too). As for "
        "`assignProjects`. Codes: NOT_FOUND, FORBIDDEN_ROLE.",
        extensions=_assignment_manager,
    )
    async def remove_project_assignment(
        self, info: strawberry.Info, input: Annotated[RemoveProjectAssignmentInput, INPUT]
    ) -> RemoveProjectAssignmentPayload:
        return await resolve.remove_project_assignment(info, input)
