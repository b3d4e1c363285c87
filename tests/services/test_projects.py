"""Project-role grants on the service (app/services/projects.py): the organization's OWNER
and ADMINs grant any project role; a project OWNER grants any on that project; a project
ADMIN grants ADMIN and below, never OWNER, and never changes or removes an OWNER; anyone
else grants nothing. Only ACTIVE members get roles. Refusals write nothing."""

from __future__ import annotations

import pytest

from app.errors import ErrorCode
from app.models import AuditEvent, Member, ProjectAssignment
from app.models.enums import MemberStatus, ProjectRole
from app.services import projects
from tests.support import factories
from tests.support.services import Crew, actions_since, all_rows, refuses

# The contract, cell by cell: (organization role, project role) -> project roles it grants.
ALL = set(ProjectRole)
BELOW_OWNER = {ProjectRole.ADMIN, ProjectRole.USE, ProjectRole.VIEWER}
GRANTS = {
    ("OWNER", None): ALL,
    ("ADMIN", None): ALL,
    **{("USER", p): set() for p in (None, ProjectRole.USE, ProjectRole.VIEWER)},
    **{("VIEWER", p): set() for p in (None, ProjectRole.USE, ProjectRole.VIEWER)},
    ("USER", ProjectRole.OWNER): ALL,
    ("VIEWER", ProjectRole.OWNER): ALL,
    ("USER", ProjectRole.ADMIN): BELOW_OWNER,
    ("VIEWER", ProjectRole.ADMIN): BELOW_OWNER,
}
CELLS = [(org, own, role) for (org, own) in GRANTS for role in ProjectRole]


def spec(project, role) -> projects.AssignmentSpec:
    return projects.AssignmentSpec(project.id, ProjectRole(role))


async def standing(crew: Crew, org_role: str, project_role):
    """The actor (their organization role, and `project_role` on a new project) and the
    project."""
    project = await factories.make_project(crew.organization, "Web")
    if project_role is not None:
        await factories.make_assignment(project, crew[org_role], project_role)
    return await crew.actor(org_role), project


@pytest.mark.parametrize(("org_role", "project_role", "role"), CELLS)
async def test_who_grants_which_project_role(crew: Crew, org_role, project_role, role):
    actor, project = await standing(crew, org_role, project_role)
    target = crew["USER2"]
    call = projects.assign_projects(actor, crew.organization.id, [target.id], [spec(project, role)])
    if role in GRANTS[(org_role, project_role)]:
        before = await AuditEvent.all().count()
        (row,) = await call
        assert (row.member_id, row.role) == (target.id, role)
        assert await ProjectAssignment.exists(project_id=project.id, member_id=target.id)
        assert await actions_since(before) == ["project.assignment_set"]
    else:
        await refuses(call, ErrorCode.FORBIDDEN_ROLE)


@pytest.mark.parametrize(("org_role", "project_role", "role"), CELLS)
async def test_changing_or_removing_an_assignment_takes_granting_its_role(
    crew: Crew, org_role, project_role, role
):
    """Both the present role and the new one must be the actor's to grant."""
    actor, project = await standing(crew, org_role, project_role)
    present = ProjectRole.VIEWER if role != ProjectRole.VIEWER else ProjectRole.USE
    row = await factories.make_assignment(project, crew["USER2"], role)
    grants = GRANTS[(org_role, project_role)]

    change = projects.update_assignment(actor, row.id, present)
    if role in grants and present in grants:
        before = await AuditEvent.all().count()
        assert (await change).role == present
        assert await actions_since(before) == ["project.assignment_changed"]
    else:
        await refuses(change, ErrorCode.FORBIDDEN_ROLE)
        assert (await ProjectAssignment.get(id=row.id)).role == role

    removal = projects.remove_assignment(actor, row.id)
    stored = (await ProjectAssignment.get(id=row.id)).role
    if stored in grants:
        before = await AuditEvent.all().count()
        await removal
        assert not await ProjectAssignment.exists(id=row.id)
        assert await actions_since(before) == ["project.assignment_removed"]
    else:
        await refuses(removal, ErrorCode.FORBIDDEN_ROLE)


async def test_a_project_admin_cannot_reassign_the_project_owner(crew: Crew):
    actor, project = await standing(crew, "USER", ProjectRole.ADMIN)
    owner_row = await factories.make_assignment(project, crew["USER2"], ProjectRole.OWNER)
    call = projects.assign_projects(
        actor, crew.organization.id, [crew["USER2"].id], [spec(project, ProjectRole.USE)]
    )
    await refuses(call, ErrorCode.FORBIDDEN_ROLE)
    assert (await ProjectAssignment.get(id=owner_row.id)).role == ProjectRole.OWNER


async def test_a_project_role_counts_on_that_project_only(crew: Crew):
    actor, _ = await standing(crew, "USER", ProjectRole.OWNER)
    other = await factories.make_project(crew.organization, "Other")
    call = projects.assign_projects(
        actor, crew.organization.id, [crew["USER2"].id], [spec(other, ProjectRole.USE)]
    )
    await refuses(call, ErrorCode.FORBIDDEN_ROLE)


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (MemberStatus.BLOCKED, ErrorCode.MEMBER_INACTIVE),
        (MemberStatus.REMOVED, ErrorCode.MEMBER_REMOVED),
    ],
)
async def test_only_active_members_get_project_roles(crew: Crew, status, code):
    project = await factories.make_project(crew.organization, "Web")
    row = await factories.make_assignment(project, crew["USER2"], ProjectRole.USE)
    await Member.filter(id=crew["USER2"].id).update(status=status)
    actor = await crew.actor("OWNER")
    for dry_run in (True, False):
        call = projects.assign_projects(
            actor,
            crew.organization.id,
            [crew["USER"].id, crew["USER2"].id],
            [spec(project, ProjectRole.ADMIN)],
            dry_run=dry_run,
        )
        await refuses(call, code)
    await refuses(projects.update_assignment(actor, row.id, ProjectRole.ADMIN), code)


async def test_a_blocked_members_assignment_can_still_be_removed(crew: Crew):
    project = await factories.make_project(crew.organization, "Web")
    row = await factories.make_assignment(project, crew["USER2"], ProjectRole.USE)
    await Member.filter(id=crew["USER2"].id).update(status=MemberStatus.BLOCKED)
    await projects.remove_assignment(await crew.actor("OWNER"), row.id)
    assert not await ProjectAssignment.exists(id=row.id)


async def test_a_dry_run_answers_like_the_real_call_and_writes_nothing(crew: Crew):
    project = await factories.make_project(crew.organization, "Web")
    existing = await factories.make_assignment(project, crew["USER"], ProjectRole.VIEWER)
    actor = await crew.actor("ADMIN")
    members = [crew["USER"].id, crew["USER2"].id]
    before = await all_rows()
    planned = await projects.assign_projects(
        actor, crew.organization.id, members, [spec(project, ProjectRole.USE)], dry_run=True
    )
    assert await all_rows() == before
    assert [(r.member_id, r.role) for r in planned] == [(m, ProjectRole.USE) for m in members]
    assert (planned[0].id, planned[1].id) == (existing.id, None)
    done = await projects.assign_projects(
        actor, crew.organization.id, members, [spec(project, ProjectRole.USE)]
    )
    assert [(r.member_id, r.role) for r in done] == [(r.member_id, r.role) for r in planned]
