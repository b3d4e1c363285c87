"""Teams on the service (app/services/teams.py) and the effective project role
(app/services/project_access.py): who manages teams, each change's refusals (the code
and nothing written), the effective role from each source with the highest winning,
team roles in project permission checks, blocked and removed members, and SCIM_MANAGED."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.clock import now
from app.errors import ErrorCode
from app.models import AuditEvent, Member, Team, TeamMember, TeamProjectRole, User
from app.models.enums import ManagedBy, MemberStatus, OrganizationRole, ProjectRole
from app.services import invitations, members, ownership, projects, teams
from app.services.project_access import AccessSourceKind, Holder, effective_roles
from app.services.teams import TeamRoleSpec
from tests.support import factories
from tests.support.services import Crew, actions_since, make_crew, refuses

DIRECT, TEAM, ORG = (
    AccessSourceKind.DIRECT,
    AccessSourceKind.TEAM,
    AccessSourceKind.ORGANIZATION_ROLE,
)


async def effective(member: Member) -> dict[int, tuple[ProjectRole, list[tuple]]]:
    """Project id → (role, [(kind, role, team id)]) for one member, as stored now."""
    fresh = await Member.get(id=member.id)
    (found,) = await effective_roles([Holder.of_member(fresh)])
    return {
        pid: (e.role, [(s.kind, s.role, s.team_id) for s in e.sources]) for pid, e in found.items()
    }


# Managing teams ----------------------------------------------------------------------


@pytest.mark.parametrize("role", ["OWNER", "ADMIN"])
async def test_owner_and_admin_create_teams_with_a_slug_from_the_name(crew: Crew, role):
    before = await AuditEvent.all().count()
    team = await teams.create_team(
        await crew.actor(role), crew.organization.id, "  Platform  Team ", "Keeps the lights on."
    )
    assert (team.name, team.slug, team.description) == (
        "Platform Team",
        "platform-team",
        "Keeps the lights on.",
    )
    assert team.managed_by == ManagedBy.ROSTER
    assert await actions_since(before) == ["team.created"]
    again = await teams.create_team(await crew.actor(role), crew.organization.id, "Platform team")
    assert again.slug != team.slug and again.slug.startswith("platform-team-")


@pytest.mark.parametrize("role", ["USER", "VIEWER"])
async def test_users_and_viewers_manage_no_teams(crew: Crew, role):
    actor = await crew.actor(role)
    await refuses(teams.create_team(actor, crew.organization.id, "X"), ErrorCode.FORBIDDEN_ROLE)
    team = await factories.make_team(crew.organization, members=[crew["USER2"]])
    await refuses(teams.update_team(actor, team.id, {"name": "Y"}), ErrorCode.FORBIDDEN_ROLE)
    await refuses(teams.delete_team(actor, team.id), ErrorCode.FORBIDDEN_ROLE)
    await refuses(
        teams.add_team_members(actor, team.id, [crew["USER"].id]), ErrorCode.FORBIDDEN_ROLE
    )
    await refuses(
        teams.remove_team_members(actor, team.id, [crew["USER2"].id]), ErrorCode.FORBIDDEN_ROLE
    )
    project = await factories.make_project(crew.organization)
    await refuses(
        teams.set_team_project_roles(actor, team.id, [TeamRoleSpec(project.id, ProjectRole.USE)]),
        ErrorCode.FORBIDDEN_ROLE,
    )


@pytest.mark.parametrize(
    ("name", "description"),
    [("", None), ("   ", None), ("x" * 201, None), ("ok", "d" * 1001), ("ok", "bell\x07")],
)
async def test_names_and_descriptions_are_bounded(crew: Crew, name, description):
    await refuses(
        teams.create_team(await crew.actor("ADMIN"), crew.organization.id, name, description),
        ErrorCode.INVALID_INPUT,
    )


async def test_teams_of_another_organization_are_not_found(crew: Crew):
    other = await make_crew("Other")
    team = await factories.make_team(other.organization)
    actor = await crew.actor("OWNER")
    await refuses(teams.update_team(actor, team.id, {"name": "Mine"}), ErrorCode.NOT_FOUND)
    await refuses(teams.delete_team(actor, team.id), ErrorCode.NOT_FOUND)
    await refuses(teams.add_team_members(actor, team.id, [crew["USER"].id]), ErrorCode.NOT_FOUND)


async def test_update_renames_with_a_new_slug_and_a_no_op_writes_nothing(crew: Crew):
    actor = await crew.actor("ADMIN")
    team = await teams.create_team(actor, crew.organization.id, "Core")
    before = await AuditEvent.all().count()
    updated = await teams.update_team(actor, team.id, {"name": "Core Two", "description": "d"})
    assert (updated.name, updated.slug, updated.description) == ("Core Two", "core-two", "d")
    assert await actions_since(before) == ["team.updated"]
    event = await AuditEvent.filter(action="team.updated").get()
    assert event.data["before"] == {"name": "Core", "slug": "core", "description": None}
    before = await AuditEvent.all().count()
    await teams.update_team(actor, team.id, {"name": "Core Two", "description": "d"})
    assert await actions_since(before) == []
    await refuses(teams.update_team(actor, team.id, {"name": ""}), ErrorCode.INVALID_INPUT)


async def test_delete_takes_its_memberships_and_roles(crew: Crew):
    project = await factories.make_project(crew.organization)
    team = await factories.make_team(
        crew.organization, members=[crew["USER"]], roles={project: ProjectRole.ADMIN}
    )
    before = await AuditEvent.all().count()
    await teams.delete_team(await crew.actor("ADMIN"), team.id)
    assert not await Team.exists(id=team.id)
    assert not await TeamMember.exists(team_id=team.id)
    assert not await TeamProjectRole.exists(team_id=team.id)
    assert await actions_since(before) == ["team.deleted"]
    assert (await AuditEvent.filter(action="team.deleted").get()).data["membersDropped"] == 1
    assert await effective(crew["USER"]) == {}


# Members of a team -------------------------------------------------------------------


async def test_adding_and_removing_members_is_idempotent(crew: Crew):
    actor = await crew.actor("ADMIN")
    team = await factories.make_team(crew.organization)
    ids = [crew["USER"].id, crew["VIEWER"].id, crew["USER"].id]
    before = await AuditEvent.all().count()
    await teams.add_team_members(actor, team.id, ids)
    await teams.add_team_members(actor, team.id, ids)
    assert await actions_since(before) == ["team.members_added"]
    assert set(await TeamMember.filter(team_id=team.id).values_list("member_id", flat=True)) == {
        crew["USER"].id,
        crew["VIEWER"].id,
    }
    await teams.add_team_members(actor, team.id, [crew["USER"].id, crew["USER2"].id])
    event = await AuditEvent.filter(action="team.members_added").order_by("-id").first()
    assert event is not None and len(event.data["memberIds"]) == 1  # only the new one
    before = await AuditEvent.all().count()
    await teams.remove_team_members(actor, team.id, [crew["USER"].id, crew["ADMIN2"].id])
    await teams.remove_team_members(actor, team.id, [crew["USER"].id])
    assert await actions_since(before) == ["team.members_removed"]
    assert await TeamMember.filter(team_id=team.id).count() == 2


async def test_member_lists_are_checked(crew: Crew):
    actor = await crew.actor("ADMIN")
    team = await factories.make_team(crew.organization)
    other = await make_crew("Other")
    removed = await factories.make_member(crew.organization, status=MemberStatus.REMOVED)
    blocked = await factories.make_member(crew.organization, status=MemberStatus.BLOCKED)
    error = await refuses(
        teams.add_team_members(actor, team.id, [crew["USER"].id, other["USER"].id]),
        ErrorCode.NOT_FOUND,
    )
    assert error.field == ["memberIds", "1"]
    await refuses(teams.add_team_members(actor, team.id, [None]), ErrorCode.NOT_FOUND)
    error = await refuses(
        teams.add_team_members(actor, team.id, [crew["USER"].id, removed.id]),
        ErrorCode.MEMBER_REMOVED,
    )
    assert error.field == ["memberIds", "1"]
    await refuses(teams.add_team_members(actor, team.id, []), ErrorCode.INVALID_INPUT)
    await refuses(
        teams.add_team_members(actor, team.id, [crew["USER"].id] * 101), ErrorCode.INVALID_INPUT
    )
    await refuses(
        teams.remove_team_members(actor, team.id, [other["USER"].id]), ErrorCode.NOT_FOUND
    )
    await teams.add_team_members(actor, team.id, [blocked.id])  # kept inert, but allowed
    assert await TeamMember.exists(team_id=team.id, member_id=blocked.id)


# Project roles of a team -------------------------------------------------------------


async def test_project_roles_are_replaced_whole(crew: Crew):
    actor = await crew.actor("ADMIN")
    web, api, docs = [await factories.make_project(crew.organization, n) for n in "abc"]
    team = await factories.make_team(crew.organization, roles={web: ProjectRole.USE})
    before = await AuditEvent.all().count()
    specs = [TeamRoleSpec(api.id, ProjectRole.ADMIN), TeamRoleSpec(docs.id, ProjectRole.VIEWER)]
    await teams.set_team_project_roles(actor, team.id, specs)
    rows = await TeamProjectRole.filter(team_id=team.id).values_list("project_id", "role")
    assert sorted(rows) == sorted([(api.id, ProjectRole.ADMIN), (docs.id, ProjectRole.VIEWER)])
    await teams.set_team_project_roles(actor, team.id, list(reversed(specs)))  # the same
    assert await actions_since(before) == ["team.project_roles_set"]
    await teams.set_team_project_roles(actor, team.id, [])
    assert not await TeamProjectRole.exists(team_id=team.id)


async def test_project_role_lists_are_checked(crew: Crew):
    actor = await crew.actor("ADMIN")
    web = await factories.make_project(crew.organization)
    foreign = await factories.make_project((await make_crew("Other")).organization)
    team = await factories.make_team(crew.organization)
    use = ProjectRole.USE
    error = await refuses(
        teams.set_team_project_roles(
            actor, team.id, [TeamRoleSpec(web.id, use), TeamRoleSpec(foreign.id, use)]
        ),
        ErrorCode.NOT_FOUND,
    )
    assert error.field == ["roles", "1", "projectId"]
    await refuses(teams.set_team_project_roles(actor, team.id, [None]), ErrorCode.NOT_FOUND)
    error = await refuses(
        teams.set_team_project_roles(
            actor, team.id, [TeamRoleSpec(web.id, use), TeamRoleSpec(web.id, ProjectRole.ADMIN)]
        ),
        ErrorCode.INVALID_INPUT,
    )
    assert error.field == ["roles", "1", "projectId"]
    await refuses(
        teams.set_team_project_roles(actor, team.id, [TeamRoleSpec(web.id, use)] * 101),
        ErrorCode.INVALID_INPUT,
    )


# The effective role -------------------------------------------------------------------


async def test_effective_role_from_each_source_and_the_highest_wins(crew: Crew):
    web, api, docs = [await factories.make_project(crew.organization, n) for n in "abc"]
    user = crew["USER"]
    await factories.make_assignment(web, user, ProjectRole.VIEWER)
    team_a = await factories.make_team(
        crew.organization, "A", members=[user], roles={web: ProjectRole.ADMIN}
    )
    team_b = await factories.make_team(
        crew.organization, "B", members=[user], roles={web: ProjectRole.USE, api: ProjectRole.USE}
    )
    await factories.make_assignment(api, user, ProjectRole.OWNER)
    assert await effective(user) == {
        web.id: (
            ProjectRole.ADMIN,
            [
                (DIRECT, ProjectRole.VIEWER, None),
                (TEAM, ProjectRole.ADMIN, team_a.id),
                (TEAM, ProjectRole.USE, team_b.id),
            ],
        ),
        api.id: (
            ProjectRole.OWNER,
            [(DIRECT, ProjectRole.OWNER, None), (TEAM, ProjectRole.USE, team_b.id)],
        ),
    }
    assert docs.id not in await effective(user)


@pytest.mark.parametrize("role", ["OWNER", "ADMIN"])
async def test_organization_owner_and_admin_hold_project_admin_everywhere(crew: Crew, role):
    web, api = [await factories.make_project(crew.organization, n) for n in "ab"]
    await factories.make_assignment(web, crew[role], ProjectRole.OWNER)
    found = await effective(crew[role])
    assert found[web.id] == (
        ProjectRole.OWNER,
        [(DIRECT, ProjectRole.OWNER, None), (ORG, ProjectRole.ADMIN, None)],
    )
    assert found[api.id] == (ProjectRole.ADMIN, [(ORG, ProjectRole.ADMIN, None)])
    assert await effective(crew["USER"]) == {}


async def test_an_expired_direct_assignment_does_not_count(crew: Crew):
    web, api = [await factories.make_project(crew.organization, n) for n in "ab"]
    user = crew["USER"]
    await factories.make_assignment(
        web, user, ProjectRole.ADMIN, expires_at=now() - timedelta(seconds=1)
    )
    later = now() + timedelta(hours=1)
    await factories.make_assignment(api, user, ProjectRole.USE, expires_at=later)
    found = await effective(user)
    assert list(found) == [api.id]
    (source,) = (await effective_roles([Holder.of_member(user)]))[0][api.id].sources
    assert source.expires_at == later
    # ... nor in the permission checks: the expired ADMIN manages nothing.
    await refuses(
        projects.assign_projects(
            await crew.actor("USER"),
            crew.organization.id,
            [crew["USER2"].id],
            [projects.AssignmentSpec(web.id, ProjectRole.USE)],
        ),
        ErrorCode.FORBIDDEN_ROLE,
    )


async def test_many_members_at_once_in_a_fixed_number_of_queries(crew: Crew):
    web = await factories.make_project(crew.organization)
    team = await factories.make_team(
        crew.organization, members=[crew["USER"], crew["VIEWER"]], roles={web: ProjectRole.USE}
    )
    holders = [Holder.of_member(await crew.reload(k)) for k in ("USER", "VIEWER", "ADMIN")]
    found = await effective_roles([*holders, None])
    assert [list(f) for f in found] == [[web.id], [web.id], [web.id], []]
    assert found[0][web.id].sources[0].team_id == team.id
    named = await effective_roles(holders, [web.id])
    assert [f[web.id].role for f in named] == [ProjectRole.USE, ProjectRole.USE, ProjectRole.ADMIN]
    assert await effective_roles(holders, []) == [{}, {}, {}]


# Team roles in project permission checks ---------------------------------------------


@pytest.mark.parametrize("team_role", list(ProjectRole))
async def test_a_team_role_lets_a_user_manage_assignments_exactly_when_admin_or_owner(
    crew: Crew, team_role
):
    project = await factories.make_project(crew.organization)
    await factories.make_team(crew.organization, members=[crew["USER"]], roles={project: team_role})
    actor = await crew.actor("USER")
    assign = projects.assign_projects(
        actor,
        crew.organization.id,
        [crew["USER2"].id],
        [projects.AssignmentSpec(project.id, ProjectRole.USE)],
    )
    if team_role in (ProjectRole.OWNER, ProjectRole.ADMIN):
        (row,) = await assign
        assert row.role == ProjectRole.USE
        updated = await projects.update_assignment(actor, row.id, ProjectRole.VIEWER)
        assert updated.role == ProjectRole.VIEWER
        await projects.update_project(actor, project.id, {"name": "Renamed"})
        await projects.remove_assignment(actor, row.id)
    else:
        await refuses(assign, ErrorCode.FORBIDDEN_ROLE)
        await refuses(
            projects.update_project(actor, project.id, {"name": "Renamed"}),
            ErrorCode.FORBIDDEN_ROLE,
        )


async def test_a_team_admin_grants_below_owner_only_and_a_team_owner_deletes(crew: Crew):
    project = await factories.make_project(crew.organization)
    await factories.make_team(
        crew.organization, members=[crew["USER"]], roles={project: ProjectRole.ADMIN}
    )
    grant_owner = projects.assign_projects(
        await crew.actor("USER"),
        crew.organization.id,
        [crew["USER2"].id],
        [projects.AssignmentSpec(project.id, ProjectRole.OWNER)],
    )
    await refuses(grant_owner, ErrorCode.FORBIDDEN_ROLE)
    await refuses(
        projects.delete_project(await crew.actor("USER"), project.id), ErrorCode.FORBIDDEN_ROLE
    )
    await factories.make_team(
        crew.organization, "Owners", members=[crew["VIEWER"]], roles={project: ProjectRole.OWNER}
    )
    await projects.delete_project(await crew.actor("VIEWER"), project.id)


# Blocked and removed members ----------------------------------------------------------


async def test_blocked_members_keep_their_teams_inert(crew: Crew):
    project = await factories.make_project(crew.organization)
    team = await factories.make_team(
        crew.organization, members=[crew["USER"]], roles={project: ProjectRole.ADMIN}
    )
    admin = await crew.actor("ADMIN")
    actor = await crew.actor("USER")  # the request was authenticated before the block
    await members.block(admin, crew["USER"].id)
    assert await TeamMember.exists(team_id=team.id, member_id=crew["USER"].id)
    assert await effective(crew["USER"]) == {}
    await refuses(
        projects.assign_projects(
            actor,
            crew.organization.id,
            [crew["USER2"].id],
            [projects.AssignmentSpec(project.id, ProjectRole.USE)],
        ),
        ErrorCode.NOT_FOUND,  # a blocked member has no access at all any more
    )
    await members.unblock(admin, crew["USER"].id)
    assert (await effective(crew["USER"]))[project.id][0] == ProjectRole.ADMIN


async def test_removed_and_leaving_members_leave_every_team(crew: Crew):
    team = await factories.make_team(crew.organization, members=[crew["USER"], crew["VIEWER"]])
    other = await factories.make_team(crew.organization, "Other", members=[crew["USER"]])
    await members.remove(await crew.actor("ADMIN"), crew["USER"].id)
    assert not await TeamMember.exists(member_id=crew["USER"].id)
    viewer = await Member.get(id=crew["VIEWER"].id).prefetch_related("user")
    await members.leave(await crew.actor("VIEWER"), crew.organization.id, viewer.user)
    assert await TeamMember.filter(team_id__in=[team.id, other.id]).count() == 0


# SCIM-managed members and teams ------------------------------------------------------


async def scim_member(crew: Crew, role: OrganizationRole = OrganizationRole.USER) -> Member:
    return await factories.make_member(crew.organization, role=role, managed_by=ManagedBy.SCIM)


async def test_a_scim_members_role_changes_only_through_scim(crew: Crew):
    member = await scim_member(crew)
    owner = await crew.actor("OWNER")
    await refuses(
        members.update_role(owner, member.id, OrganizationRole.VIEWER), ErrorCode.SCIM_MANAGED
    )
    await refuses(ownership.request_transfer(owner, member.id), ErrorCode.SCIM_MANAGED)
    changed = await members.update_role(owner, member.id, OrganizationRole.VIEWER, via_scim=True)
    assert changed.role == OrganizationRole.VIEWER


async def test_scim_members_can_still_be_blocked_and_removed(crew: Crew):
    member = await scim_member(crew)
    team = await factories.make_team(crew.organization, members=[member], managed_by=ManagedBy.SCIM)
    admin = await crew.actor("ADMIN")
    assert (await members.block(admin, member.id)).status == MemberStatus.BLOCKED
    assert (await members.unblock(admin, member.id)).status == MemberStatus.ACTIVE
    assert (await members.remove(admin, member.id)).status == MemberStatus.REMOVED
    assert not await TeamMember.exists(team_id=team.id)


async def test_team_membership_of_scim_members_and_teams_changes_only_through_scim(crew: Crew):
    admin = await crew.actor("ADMIN")
    member = await scim_member(crew)
    roster_team = await factories.make_team(crew.organization, "Roster", members=[crew["USER2"]])
    scim_team = await factories.make_team(
        crew.organization, "Scim", members=[crew["USER2"]], managed_by=ManagedBy.SCIM
    )
    await factories.make_team(crew.organization, "Has scim", members=[member])
    has_scim = await Team.get(name="Has scim")
    checks = [
        teams.add_team_members(admin, roster_team.id, [crew["USER"].id, member.id]),
        teams.remove_team_members(admin, has_scim.id, [member.id]),
        teams.add_team_members(admin, scim_team.id, [crew["USER"].id]),
        teams.remove_team_members(admin, scim_team.id, [crew["USER2"].id]),
        teams.update_team(admin, scim_team.id, {"name": "Renamed"}),
        teams.delete_team(admin, scim_team.id),
    ]
    for call in checks:
        await refuses(call, ErrorCode.SCIM_MANAGED)
    # SCIM itself passes; and a SCIM team's project roles are Roster's to set.
    await teams.add_team_members(admin, scim_team.id, [member.id], via_scim=True)
    await teams.update_team(admin, scim_team.id, {"name": "Renamed"}, via_scim=True)
    project = await factories.make_project(crew.organization)
    await teams.set_team_project_roles(
        admin, scim_team.id, [TeamRoleSpec(project.id, ProjectRole.USE)]
    )
    assert (await effective(member))[project.id][0] == ProjectRole.USE
    event = await AuditEvent.filter(action="team.updated").get()
    assert event.data["via"] == "scim"


async def test_a_removed_scim_member_who_accepts_an_invitation_is_rosters(crew: Crew):
    member = await scim_member(crew)
    member.external_id = "okta-123"
    await member.save(update_fields=["external_id"])
    await members.remove(await crew.actor("ADMIN"), member.id)
    user = await User.get(id=member.user_id)
    invitation = await factories.make_invitation(crew.organization, user.email)
    rejoined = await invitations.accept(invitation.id, user, None)
    assert rejoined.id == member.id
    assert (rejoined.managed_by, rejoined.external_id) == (ManagedBy.ROSTER, None)
    changed = await members.update_role(
        await crew.actor("OWNER"), member.id, OrganizationRole.VIEWER
    )
    assert changed.role == OrganizationRole.VIEWER
