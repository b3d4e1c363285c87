"""Project changes: create, update, delete; project roles: assign, change, remove."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from app.auth.roles import Permission
from app.models.enums import ProjectRole
from app.resolvers import projects as resolve
from app.schema.context import Info
from app.schema.errors import INPUT, UserError, errors_field, mutation, object_field, ok_field
from app.schema.permissions import OrgInput
from app.schema.projects.types import (
    ProjectAssignmentInput,
    ProjectAssignmentType,
    ProjectType,
)
from app.services.expiry import UNSET


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
    expires_at: datetime | None = strawberry.field(
        default=None,
        description="When every pair set here ends (in the future, within 5 years: "
        "INVALID_INPUT); null: they do not end (an end date a pair had is cleared).",
    )


@strawberry.input(description="A new role, and optionally a new end date, for one assignment.")
class UpdateProjectAssignmentInput:
    assignment_id: strawberry.ID = strawberry.field(description="The assignment.")
    role: ProjectRole = strawberry.field(description="The new role on the project.")
    expires_at: datetime | None = strawberry.field(
        default=strawberry.UNSET,
        description="When the assignment ends (in the future, within 5 years: INVALID_INPUT); "
        "null: it does not end; omitted: unchanged.",
    )


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


# Any active member passes these; the service decides with the project role table.
def _in_organization() -> OrgInput:
    return OrgInput(Permission.READ_ORGANIZATION, "Organization", "organization_id")


def _project_manager() -> OrgInput:
    return OrgInput(Permission.READ_ORGANIZATION, "Project", "project_id")


def _assignment_manager() -> OrgInput:
    return OrgInput(Permission.READ_ORGANIZATION, "ProjectAssignment", "assignment_id")


@strawberry.type
class Mutation:
    @mutation(
        "Create a project; a signed-in creator becomes its project OWNER. OWNER, ADMIN and "
        "USER (FORBIDDEN for VIEWER). Codes: NOT_FOUND, INVALID_INPUT, SLUG_TAKEN.",
        OrgInput(Permission.CREATE_PROJECTS, "Organization", "organization_id"),
    )
    async def create_project(
        self, info: Info, input: Annotated[CreateProjectInput, INPUT]
    ) -> ProjectPayload:
        project = await resolve.create_project(
            info.context, input.name, input.slug, input.is_default
        )
        return ProjectPayload(project=ProjectType.from_model(project))

    @mutation(
        "Rename a project or change its slug or default flag. The project's OWNER or ADMIN, "
        "or an organization OWNER or ADMIN. Codes: NOT_FOUND, INVALID_INPUT, SLUG_TAKEN, "
        "FORBIDDEN_ROLE.",
        _project_manager(),
    )
    async def update_project(
        self, info: Info, input: Annotated[UpdateProjectInput, INPUT]
    ) -> ProjectPayload:
        changes: dict[str, str | bool | None] = {
            key: value
            for key, value in (
                ("name", input.name),
                ("slug", input.slug),
                ("is_default", input.is_default),
            )
            if value is not strawberry.UNSET
        }
        project = await resolve.update_project(info.context, changes)
        return ProjectPayload(project=ProjectType.from_model(project))

    @mutation(
        "Delete a project with its assignments. The project's OWNER, or an organization OWNER "
        "or ADMIN. Codes: NOT_FOUND, FORBIDDEN_ROLE.",
        _project_manager(),
    )
    async def delete_project(
        self, info: Info, input: Annotated[DeleteProjectInput, INPUT]
    ) -> DeleteProjectPayload:
        await resolve.delete_project(info.context)
        return DeleteProjectPayload(ok=True)

    @mutation(
        "Give every listed member the listed role on each listed project, all or nothing; "
        "`dryRun` only reports what would be set. Each project's OWNER or ADMIN, or an "
        "organization OWNER or ADMIN; a project ADMIN cannot grant or change OWNER. Codes: "
        "NOT_FOUND, INVALID_INPUT, FORBIDDEN_ROLE, MEMBER_INACTIVE, MEMBER_REMOVED.",
        _in_organization(),
    )
    async def assign_projects(
        self, info: Info, input: Annotated[AssignProjectsInput, INPUT]
    ) -> AssignProjectsPayload:
        found = await resolve.assign_projects(
            info.context,
            list(input.member_ids),
            [(item.project_id, item.role) for item in input.assignments],
            input.dry_run,
            input.expires_at,
        )
        return AssignProjectsPayload(
            assignments=[ProjectAssignmentType.from_org_assignment(f) for f in found]
        )

    @mutation(
        "Change one member's role on a project, and optionally when it ends. As for "
        "`assignProjects`. Codes: NOT_FOUND, FORBIDDEN_ROLE, MEMBER_INACTIVE, MEMBER_REMOVED, "
        "INVALID_INPUT.",
        _assignment_manager(),
    )
    async def update_project_assignment(
        self, info: Info, input: Annotated[UpdateProjectAssignmentInput, INPUT]
    ) -> ProjectAssignmentPayload:
        expires_at = UNSET if input.expires_at is strawberry.UNSET else input.expires_at
        found = await resolve.update_project_assignment(info.context, input.role, expires_at)
        return ProjectAssignmentPayload(assignment=ProjectAssignmentType.from_org_assignment(found))

    @mutation(
        "Take a member off a project (BLOCKED members' too). As for `assignProjects`. Codes: "
        "NOT_FOUND, FORBIDDEN_ROLE.",
        _assignment_manager(),
    )
    async def remove_project_assignment(
        self, info: Info, input: Annotated[RemoveProjectAssignmentInput, INPUT]
    ) -> RemoveProjectAssignmentPayload:
        await resolve.remove_project_assignment(info.context)
        return RemoveProjectAssignmentPayload(ok=True)
