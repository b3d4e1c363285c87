"""Projects: reads (an organization's projects, their assignments, a member's assignments,
the nodes) and the project and project-assignment changes.

Resolvers return models and raise DomainError; the schema wraps what they return.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from app.clock import now
from app.ids import pk_of
from app.models import Member, Project, ProjectAssignment
from app.models.enums import ProjectRole
from app.resolvers.context import Context
from app.resolvers.loaders import load_many, load_one
from app.resolvers.paging import Order, Page, Window, paginate
from app.resolvers.search import search_term
from app.services import projects as service
from app.services.expiry import UNSET, Unset, assignment_live, status_now
from app.services.projects import AssignmentSpec
from app.services.visibility import (
    may_see_member_now,
    reads_organization,
    reads_private,
    visible_statuses,
)


@dataclass(frozen=True)
class OrgAssignment:
    """A project assignment with its organization (the row holds only its project's id)."""

    assignment: ProjectAssignment
    organization_id: int


async def organization_projects(
    ctx: Context,
    organization_id: int,
    *,
    window: Window,
    search: str | None,
) -> Page[Project]:
    queryset = Project.filter(organization_id=organization_id)
    term = search_term(search)
    if term:
        queryset = queryset.filter(name__icontains=term)
    return await paginate(queryset, Order(("name",)), window)


async def project_by_pk(ctx: Context, pk: int) -> Project:
    """A project reached from a row that refers to it (deleted with the project: cascade)."""
    project = await load_one(ctx, Project, pk)
    assert project is not None
    return project


async def member_assignments(ctx: Context, member: Member) -> list[ProjectAssignment]:
    """Empty unless the viewer may see the member in its organization (an invitee may not:
    they are not a member yet)."""
    if not may_see_member_now(await ctx.access(member.organization_id), member):
        return []
    rows = await load_many(ctx, ProjectAssignment, "member_id", member.pk)
    moment = now()
    return [row for row in rows if assignment_live(row, moment)]


async def project_assignments(
    ctx: Context, project_id: int, organization_id: int
) -> list[ProjectAssignment]:
    """USER and VIEWER see the assignments of ACTIVE members only (as in the members list);
    anyone not in the organization (an invitee reaching the project through their
    invitation) sees none."""
    access = await ctx.access(organization_id)
    if not reads_organization(access):
        return []
    moment = now()
    rows = [
        row
        for row in await load_many(ctx, ProjectAssignment, "project_id", project_id)
        if assignment_live(row, moment)
    ]
    if reads_private(access):
        return rows
    statuses = visible_statuses(access, None)
    members = await asyncio.gather(*(load_one(ctx, Member, row.member_id) for row in rows))
    return [
        row
        for row, member in zip(rows, members, strict=True)
        if member is not None and status_now(member, moment) in statuses
    ]


async def assignment_member(ctx: Context, member_id: int) -> Member:
    """The member of an assignment (deleted with the member: cascade)."""
    member = await load_one(ctx, Member, member_id)
    assert member is not None
    return member


async def project_node(ctx: Context, pk: int) -> Project | None:
    """The project, if the viewer is in its organization."""
    project = await load_one(ctx, Project, pk)
    if project is None or await ctx.access(project.organization_id) is None:
        return None
    return project


async def assignment_node(ctx: Context, pk: int) -> OrgAssignment | None:
    """The assignment, if the viewer is in its project's organization (an expired one
    is gone, as once swept)."""
    assignment = await load_one(ctx, ProjectAssignment, pk)
    if assignment is None or not assignment_live(assignment):
        return None
    project = await load_one(ctx, Project, assignment.project_id)
    if project is None or await ctx.access(project.organization_id) is None:
        return None
    return OrgAssignment(assignment, project.organization_id)


# Changes: the permission class found the target's organization and the viewer's access.
# Creating and assigning need an organization role; the rest pass any active member and the
# service decides with the project role table.


async def create_project(ctx: Context, name: str, slug: str | None, is_default: bool) -> Project:
    organization_id, actor = ctx.authz_actor("Organization", "organizationId")
    return await service.create_project(
        actor, organization_id, name, slug=slug, is_default=is_default
    )


async def update_project(ctx: Context, changes: dict[str, str | bool | None]) -> Project:
    """`changes` holds the given keys among name, slug, is_default."""
    project_id, actor = ctx.authz_actor("Project", "projectId")
    return await service.update_project(actor, project_id, changes)


async def delete_project(ctx: Context) -> None:
    project_id, actor = ctx.authz_actor("Project", "projectId")
    await service.delete_project(actor, project_id)


async def assign_projects(
    ctx: Context,
    member_ids: list[str],
    assignments: list[tuple[str, ProjectRole]],
    dry_run: bool,
    expires_at: datetime | None = None,
) -> list[OrgAssignment]:
    """`assignments`: (project global id, role) pairs. Unknown ids go to the service as
    None, which refuses them with their index."""
    organization_id, actor = ctx.authz_actor("Organization", "organizationId")
    members = [pk_of(member_id, "Member") for member_id in member_ids]
    specs: list[AssignmentSpec | None] = []
    for project_id, role in assignments:
        project_pk = pk_of(project_id, "Project")
        specs.append(AssignmentSpec(project_pk, role) if project_pk else None)
    rows = await service.assign_projects(
        actor, organization_id, members, specs, dry_run=dry_run, expires_at=expires_at
    )
    return [OrgAssignment(row, organization_id) for row in rows]


async def update_project_assignment(
    ctx: Context, role: ProjectRole, expires_at: datetime | Unset | None = UNSET
) -> OrgAssignment:
    authz = ctx.require_authz("Project assignment", "assignmentId")
    row = await service.update_assignment(
        ctx.actor(authz.access), authz.target_id, role, expires_at
    )
    return OrgAssignment(row, authz.organization_id)


async def remove_project_assignment(ctx: Context) -> None:
    assignment_id, actor = ctx.authz_actor("Project assignment", "assignmentId")
    await service.remove_assignment(actor, assignment_id)
