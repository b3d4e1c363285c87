from __future__ import annotations

from typing import TYPE_CHECKING, Any

import strawberry

from app.models import InvitationProjectAssignment, Member, Project, ProjectAssignment
from app.schema.loaders import load_many, load_one
from app.schema.pagination import Order, connection, paginate

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
    if search and search.strip():
        queryset = queryset.filter(name__icontains=search.strip()[:200])
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
    from app.schema.projects import ProjectAssignmentType

    rows = await load_many(info, ProjectAssignment, "project_id", project.pk)
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
