from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import strawberry

from app.auth.roles import Permission, has_permission
from app.errors import not_found
from app.ids import pk_of
from app.models import InvitationProjectAssignment, Member, Project, ProjectAssignment
from app.models.enums import MemberStatus
from app.schema.errors import mutate
from app.schema.loaders import load_many, load_one
from app.schema.pagination import Order, connection, paginate
from app.services import projects as service
from app.services.projects import AssignmentSpec

if TYPE_CHECKING:
    from app.schema.invitations import InvitationType
    from app.schema.members import MemberType
    from app.schema.organizations import OrganizationType
    from app.schema.projects import ProjectAssignmentType, ProjectType


async def organization_projects(
    info: strawberry.Info,
    org: OrganizationType,
    first: int | None,
    after: str | None,
    search: str | None,
) -> Any:
    from app.schema.projects import ProjectType

    queryset = Project.filter(organization_id=org.pk)
    from app.resolvers.organizations import _search_term

    term = _search_term(search)
    if term:
        queryset = queryset.filter(name__icontains=term)
    page = await paginate(queryset, Order(("name",)), first=first, after=after)
    return connection(page, ProjectType.from_model, queryset.count)


async def project_by_pk(info: strawberry.Info, pk: int) -> Any:
    from app.schema.projects import ProjectType

    return ProjectType.from_model(await load_one(info, Project, pk))


async def member_assignments(info: strawberry.Info, member: MemberType) -> list[Any]:
    from app.schema.projects import ProjectAssignmentType

    rows = await load_many(info, ProjectAssignment, "member_id", member.pk)
    return [ProjectAssignmentType.from_model(row, member.organization_id) for row in rows]


async def project_assignments(info: strawberry.Info, project: ProjectType) -> list[Any]:
    """USER and VIEWER see the assignments of ACTIVE members only (as in the members list)."""
    from app.schema.projects import ProjectAssignmentType

    rows = await load_many(info, ProjectAssignment, "project_id", project.pk)
    access = await info.context.access(project.organization_id)
    if not (access and has_permission(access.role, Permission.READ_PRIVATE)):
        members = await asyncio.gather(*(load_one(info, Member, r.member_id) for r in rows))
        rows = [
            row
            for row, member in zip(rows, members, strict=True)
            if member is not None and member.status == MemberStatus.ACTIVE
        ]
    return [ProjectAssignmentType.from_model(row, project.organization_id) for row in rows]


async def invitation_assignments(info: strawberry.Info, invitation: InvitationType) -> list[Any]:
    from app.schema.projects import InvitationProjectAssignmentType

    rows = await load_many(info, InvitationProjectAssignment, "invitation_id", invitation.pk)
    return [InvitationProjectAssignmentType(role=r.role, project_id=r.project_id) for r in rows]


async def assignment_project(info: strawberry.Info, assignment: ProjectAssignmentType) -> Any:
    return await project_by_pk(info, assignment.project_id)


async def assignment_member(info: strawberry.Info, assignment: ProjectAssignmentType) -> Any:
    from app.schema.members import MemberType

    return MemberType.from_model(await load_one(info, Member, assignment.member_id))


async def project_node(info: strawberry.Info, pk: int) -> Any:
    from app.schema.projects import ProjectType

    project = await load_one(info, Project, pk)
    if project is None or await info.context.access(project.organization_id) is None:
        return None
    return ProjectType.from_model(project)


async def assignment_node(info: strawberry.Info, pk: int) -> Any:
    from app.schema.projects import ProjectAssignmentType

    assignment = await load_one(info, ProjectAssignment, pk)
    if assignment is None:
        return None
    project = await load_one(info, Project, assignment.project_id)
    if await info.context.access(project.organization_id) is None:
        return None
    return ProjectAssignmentType.from_model(assignment, project.organization_id)


# Mutations --------------------------------------------------------------------


async def _org_actor(info: strawberry.Info, organization_id: int | None, field: str, what: str):
    """The viewer as actor in this organization, or NOT_FOUND when they are not in it."""
    access = await info.context.access(organization_id)
    if access is None:
        raise not_found(what, field)
    return info.context.actor(access)


async def _visible_project(info: strawberry.Info, global_id: str) -> tuple[Project, Any]:
    project = await load_one(info, Project, pk_of(global_id, "Project"))
    actor = await _org_actor(
        info, project.organization_id if project else None, "projectId", "Project"
    )
    return project, actor


async def create_project(info: strawberry.Info, input: Any) -> Any:
    from app.schema.projects import ProjectPayload, ProjectType

    async def change() -> dict[str, Any]:
        pk = pk_of(input.organization_id, "Organization")
        actor = await _org_actor(info, pk, "organizationId", "Organization")
        project = await service.create_project(
            actor, pk, input.name, slug=input.slug, is_default=input.is_default
        )
        return {"project": ProjectType.from_model(project)}

    return await mutate(info, ProjectPayload, change)


async def update_project(info: strawberry.Info, input: Any) -> Any:
    from app.schema.projects import ProjectPayload, ProjectType

    async def change() -> dict[str, Any]:
        project, actor = await _visible_project(info, input.project_id)
        changes = {
            key: getattr(input, key)
            for key in ("name", "slug", "is_default")
            if getattr(input, key) is not strawberry.UNSET
        }
        updated = await service.update_project(actor, project.id, changes)
        return {"project": ProjectType.from_model(updated)}

    return await mutate(info, ProjectPayload, change)


async def delete_project(info: strawberry.Info, input: Any) -> Any:
    from app.schema.projects import DeleteProjectPayload

    async def change() -> dict[str, Any]:
        project, actor = await _visible_project(info, input.project_id)
        await service.delete_project(actor, project.id)
        return {"ok": True}

    return await mutate(info, DeleteProjectPayload, change)


async def assign_projects(info: strawberry.Info, input: Any) -> Any:
    """Unknown ids go to the service as None, which refuses them with their index."""
    from app.schema.projects import AssignProjectsPayload, ProjectAssignmentType

    async def change() -> dict[str, Any]:
        pk = pk_of(input.organization_id, "Organization")
        actor = await _org_actor(info, pk, "organizationId", "Organization")
        member_ids = [pk_of(m, "Member") for m in input.member_ids]
        specs = []
        for item in input.assignments:
            project_pk = pk_of(item.project_id, "Project")
            specs.append(AssignmentSpec(project_pk, item.role) if project_pk else None)
        rows = await service.assign_projects(actor, pk, member_ids, specs, dry_run=input.dry_run)
        return {"assignments": [ProjectAssignmentType.from_model(r, pk) for r in rows]}

    return await mutate(info, AssignProjectsPayload, change)


async def _visible_assignment(info: strawberry.Info, global_id: str) -> tuple[int, Any]:
    from app.schema.loaders import organization_id_of

    pk = pk_of(global_id, "ProjectAssignment")
    organization_id = await organization_id_of(info, "ProjectAssignment", pk) if pk else None
    actor = await _org_actor(info, organization_id, "assignmentId", "Project assignment")
    return pk, actor


async def update_project_assignment(info: strawberry.Info, input: Any) -> Any:
    from app.schema.projects import ProjectAssignmentPayload, ProjectAssignmentType

    async def change() -> dict[str, Any]:
        pk, actor = await _visible_assignment(info, input.assignment_id)
        row = await service.update_assignment(actor, pk, input.role)
        return {"assignment": ProjectAssignmentType.from_model(row, actor.access.organization_id)}

    return await mutate(info, ProjectAssignmentPayload, change)


async def remove_project_assignment(info: strawberry.Info, input: Any) -> Any:
    from app.schema.projects import RemoveProjectAssignmentPayload

    async def change() -> dict[str, Any]:
        pk, actor = await _visible_assignment(info, input.assignment_id)
        await service.remove_assignment(actor, pk)
        return {"ok": True}

    return await mutate(info, RemoveProjectAssignmentPayload, change)
