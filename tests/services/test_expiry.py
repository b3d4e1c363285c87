"""Temporary access rules on the services (app/services/expiry.py, expiry_sweep.py): the
test clock, the predicates (Python and query agree), the rules at grant, the sweep and its
revert guardrail. Every refusal has its code and writes nothing."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from itertools import combinations
from typing import TypeVar

from tortoise.expressions import Q

from app import clock, db
from app.errors import ErrorCode
from app.models import AuditEvent, Member, OutboxMail, ProjectAssignment, TeamMember, User
from app.models.enums import MemberStatus, OrganizationRole, ProjectRole
from app.services import expiry, expiry_sweep, invitations, members, ownership, projects
from app.services.tx import current_access
from tests.support import factories
from tests.support.clock import move_to
from tests.support.services import Crew, refuses

T = TypeVar("T")


def soon(minutes: float = 10) -> datetime:
    return clock.now() + timedelta(minutes=minutes)


async def set_columns(member: Member, **values) -> Member:
    await Member.filter(id=member.id).update(**values)
    return await Member.get(id=member.id)


# The clock ----------------------------------------------------------------------------------


def test_fake_clock_file_is_honoured_only_when_testing(tmp_path, monkeypatch):
    path = tmp_path / "now"
    path.write_text("3600")
    monkeypatch.setenv(clock.FAKE_NOW_ENV, str(path))
    monkeypatch.delenv(clock.TESTING_ENV, raising=False)
    assert clock.read_environment() is None
    assert abs((clock.now() - datetime.now(UTC)).total_seconds()) < 5  # production: ignored
    monkeypatch.setenv(clock.TESTING_ENV, "1")
    assert clock.read_environment() == str(path)
    assert 3590 < (clock.now() - datetime.now(UTC)).total_seconds() < 3610
    # Rewritten: read again (a different size, or a later mtime).
    path.write_text("2030-01-01T00:00:00+00:00")
    os.utime(path, ns=(1, 10**18))
    assert clock.now() == datetime(2030, 1, 1, tzinfo=UTC)
    path.write_text("-7200.5")
    os.utime(path, ns=(1, 2 * 10**18))
    assert -7210 < (clock.now() - datetime.now(UTC)).total_seconds() < -7190
    path.write_text("not a time")
    os.utime(path, ns=(1, 3 * 10**18))
    assert abs((clock.now() - datetime.now(UTC)).total_seconds()) < 5
    path.unlink()
    assert abs((clock.now() - datetime.now(UTC)).total_seconds()) < 5
    monkeypatch.setenv(clock.TESTING_ENV, "0")
    assert clock.read_environment() is None


def test_in_process_offset():
    clock.set_offset(120)
    assert 110 < (clock.now() - datetime.now(UTC)).total_seconds() < 130
    clock.travel(60)
    assert 170 < (clock.now() - datetime.now(UTC)).total_seconds() < 190
    clock.set_offset(None)
    assert abs((clock.now() - datetime.now(UTC)).total_seconds()) < 5


# The predicates: Python and query agree -------------------------------------------------------


def _subsets(values: Iterable[T]) -> list[set[T]]:
    items = list(values)
    return [set(c) for size in range(len(items) + 1) for c in combinations(items, size)]


async def test_status_and_role_predicates_agree_with_their_queries(crew: Crew):
    past, future = clock.now() - timedelta(seconds=1), clock.now() + timedelta(hours=1)
    expired = await set_columns(crew["USER"], expires_at=past)
    later = await set_columns(crew["USER2"], expires_at=future)
    blocked_expired = await set_columns(
        crew["VIEWER"], status=MemberStatus.BLOCKED, expires_at=past
    )
    reverted = await set_columns(
        crew["ADMIN2"], role_expires_at=past, role_reverts_to=OrganizationRole.VIEWER
    )
    temporary = await set_columns(
        crew["VIEWER2"],
        role=OrganizationRole.ADMIN,
        role_rank=1,
        role_expires_at=future,
        role_reverts_to=OrganizationRole.VIEWER,
    )
    # The OWNER never expires, even with a date written by hand.
    owner = await set_columns(crew["OWNER"], expires_at=past)
    everyone = await Member.filter(organization_id=crew.organization.id)
    assert expiry.status_now(expired) == MemberStatus.REMOVED
    assert expiry.status_now(blocked_expired) == MemberStatus.REMOVED
    assert expiry.status_now(later) == MemberStatus.ACTIVE
    assert expiry.status_now(owner) == MemberStatus.ACTIVE
    assert expiry.role_now(reverted) == OrganizationRole.VIEWER
    assert expiry.role_now(temporary) == OrganizationRole.ADMIN
    # Every set of statuses and of roles, the empty and the full set (which take a
    # shortcut: no condition but one every row meets) included.
    for statuses in _subsets(MemberStatus):
        by_query = {
            m.id
            for m in await Member.filter(
                expiry.status_q(statuses), organization_id=crew.organization.id
            )
        }
        assert by_query == {m.id for m in everyone if expiry.status_now(m) in statuses}, statuses
    for roles in _subsets(OrganizationRole):
        by_query = {
            m.id
            for m in await Member.filter(expiry.role_q(roles), organization_id=crew.organization.id)
        }
        assert by_query == {m.id for m in everyone if expiry.role_now(m) in roles}, roles
    # The full set's condition still means "every member" inside an OR.
    every = expiry.status_q(MemberStatus) | Q(name="nobody by this name")
    assert {m.id for m in await Member.filter(every, organization_id=crew.organization.id)} == {
        m.id for m in everyone
    }
    active = {
        m.id for m in await Member.filter(expiry.active_q(), organization_id=crew.organization.id)
    }
    assert expired.id not in active and owner.id in active and later.id in active
    # The SQL form read by every request's access statement selects the same members.
    sql = db.placeholders(f'SELECT m."id" FROM "members" m WHERE {expiry.active_sql("m")}')
    _, rows = await db.connection().execute_query(sql, [clock.now()])
    assert {row[0] for row in rows} & {m.id for m in everyone} == active
    # The column-level forms (list pages read rows, not models) are the same rules.
    for m in everyone:
        columns = (m.status, m.role, m.expires_at)
        assert expiry.status_from(*columns) == expiry.status_now(m)
        assert expiry.removed_at_from(*columns, m.removed_at) == expiry.removed_at_now(m)
        assert expiry.temporary_role_pending_from(
            m.role_expires_at, m.role_reverts_to
        ) == expiry.temporary_role_pending(m)
    # The access checks under the lock read the same.
    assert await current_access(await crew.actor("USER"), crew.organization.id) is None
    access = await current_access(await crew.actor("ADMIN2"), crew.organization.id)
    assert access is not None and access.role == OrganizationRole.VIEWER
    assert await invitations.seats_used(crew.organization.id) == len(everyone) - 2


# Rules at grant ----------------------------------------------------------------------------


async def test_owner_never_expires(crew: Crew):
    for key in ("OWNER", "ADMIN"):
        await refuses(
            members.set_expiry(await crew.actor(key), crew["OWNER"].id, soon()),
            ErrorCode.OWNER_PROTECTED,
        )
    # A member who becomes the owner sheds their end date and temporary role.
    target = await set_columns(
        crew["ADMIN"],
        expires_at=soon(),
        role_expires_at=soon(5),
        role_reverts_to=OrganizationRole.USER,
    )
    owner_actor = await crew.actor("OWNER")
    await ownership.request_transfer(owner_actor, target.id)
    mail = await OutboxMail.get(kind="ownership_confirm")
    token = re.search(r"token=([\w-]+)", mail.text_body)
    assert token is not None
    await ownership.confirm_transfer(owner_actor, token.group(1))
    new_owner = await Member.get(id=target.id)
    assert new_owner.role == OrganizationRole.OWNER
    assert new_owner.expires_at is None and new_owner.role_expires_at is None


async def test_set_expiry_rules(crew: Crew):
    admin = await crew.actor("ADMIN")
    await refuses(members.set_expiry(admin, crew["ADMIN2"].id, soon()), ErrorCode.FORBIDDEN_ROLE)
    await refuses(members.set_expiry(admin, crew["ADMIN"].id, soon()), ErrorCode.SELF_ACTION)
    past = clock.now() - timedelta(seconds=1)
    await refuses(members.set_expiry(admin, crew["USER"].id, past), ErrorCode.INVALID_INPUT)
    too_far = clock.now() + expiry.MAX_AHEAD + timedelta(minutes=1)
    await refuses(members.set_expiry(admin, crew["USER"].id, too_far), ErrorCode.INVALID_INPUT)
    await set_columns(crew["USER2"], status=MemberStatus.REMOVED)
    await refuses(members.set_expiry(admin, crew["USER2"].id, soon()), ErrorCode.MEMBER_REMOVED)
    # A naive instant is UTC.
    naive = (clock.now() + timedelta(hours=1)).replace(tzinfo=None, microsecond=0)
    member = await members.set_expiry(admin, crew["USER"].id, naive)
    assert member.expires_at == naive.replace(tzinfo=UTC)


async def test_temporary_role_keeps_the_lasting_role_underneath(crew: Crew):
    owner = await crew.actor("OWNER")
    until = soon()
    member = await members.update_role(owner, crew["VIEWER"].id, OrganizationRole.ADMIN, until)
    assert member.role_reverts_to == OrganizationRole.VIEWER and member.role_expires_at == until
    member = await members.update_role(owner, crew["VIEWER"].id, OrganizationRole.USER, soon(20))
    assert member.role_reverts_to == OrganizationRole.VIEWER
    await refuses(
        members.update_role(owner, crew["VIEWER"].id, OrganizationRole.VIEWER, soon()),
        ErrorCode.INVALID_INPUT,
    )
    member = await members.update_role(owner, crew["VIEWER"].id, OrganizationRole.VIEWER)
    assert member.role == OrganizationRole.VIEWER and member.role_reverts_to is None


async def test_assignment_expiry_at_grant(crew: Crew):
    owner = await crew.actor("OWNER")
    project = await factories.make_project(crew.organization)
    spec = projects.AssignmentSpec(project.id, ProjectRole.USE)
    past = clock.now() - timedelta(seconds=5)
    await refuses(
        projects.assign_projects(
            owner, crew.organization.id, [crew["USER"].id], [spec], expires_at=past
        ),
        ErrorCode.INVALID_INPUT,
    )
    at = soon()
    (row,) = await projects.assign_projects(
        owner, crew.organization.id, [crew["USER"].id], [spec], expires_at=at
    )
    assert row.expires_at == at
    # Past its end, assigning again replaces it: the expiry is written first.
    move_to(at, 1)
    (again,) = await projects.assign_projects(
        owner, crew.organization.id, [crew["USER"].id], [spec]
    )
    assert again.id != row.id and again.expires_at is None
    assert await AuditEvent.filter(action="project.assignment_expired").count() == 1
    assert await expiry_sweep.sweep_once() == 0


# The sweep ----------------------------------------------------------------------------------


async def test_revert_refused_by_the_guardrail_is_audited_and_not_retried(crew: Crew):
    """The OWNER is normally always there; with no ACTIVE OWNER-or-ADMIN besides the
    temporary ADMIN (contrived by hand: the owner's row blocked), the revert is refused."""
    organization_id = crew.organization.id
    await Member.filter(organization_id=organization_id, role=OrganizationRole.ADMIN).update(
        role=OrganizationRole.USER, role_rank=2
    )
    await Member.filter(id=crew["OWNER"].id).update(status=MemberStatus.BLOCKED)
    until = soon()
    temporary = await set_columns(
        crew["USER"],
        role=OrganizationRole.ADMIN,
        role_rank=1,
        role_expires_at=until,
        role_reverts_to=OrganizationRole.USER,
    )
    move_to(until, 1)
    assert await expiry_sweep.sweep_once() == 1
    row = await Member.get(id=temporary.id)
    assert row.role == OrganizationRole.ADMIN
    assert row.role_expires_at is None and row.role_reverts_to is None
    (event,) = await AuditEvent.filter(action="member.role_revert_refused")
    assert event.data == {
        "role": "ADMIN",
        "revertsTo": "USER",
        "until": until.isoformat(),
        "reason": "LAST_ADMIN",
    }
    assert not await AuditEvent.filter(action="member.role_reverted").exists()
    assert await expiry_sweep.sweep_once() == 0  # not retried
    assert await AuditEvent.filter(action="member.role_revert_refused").count() == 1


async def test_the_sweep_writes_each_change_once(crew: Crew):
    project = await factories.make_project(crew.organization)
    leaving = crew["USER"]
    kept = crew["USER2"]
    await factories.make_assignment(project, leaving)
    assignment = await factories.make_assignment(project, kept)
    at = soon()
    await set_columns(leaving, expires_at=at)
    await ProjectAssignment.filter(id=assignment.id).update(expires_at=at)
    await set_columns(
        crew["VIEWER"],
        role=OrganizationRole.ADMIN,
        role_rank=1,
        role_expires_at=at,
        role_reverts_to=OrganizationRole.VIEWER,
    )
    assert await expiry_sweep.sweep_once() == 0
    move_to(at, 1)
    assert await expiry_sweep.sweep_once() == 3
    assert await expiry_sweep.sweep_once() == 0
    kinds = sorted(
        await AuditEvent.filter(
            action__in=["member.expired", "member.role_reverted", "project.assignment_expired"]
        ).values_list("action", flat=True)
    )
    assert kinds == ["member.expired", "member.role_reverted", "project.assignment_expired"]
    assert (await Member.get(id=leaving.id)).status == MemberStatus.REMOVED
    assert (await Member.get(id=crew["VIEWER"].id)).role == OrganizationRole.VIEWER
    assert not await ProjectAssignment.filter(project_id=project.id).exists()
    assert await OutboxMail.filter(to_email=leaving.email).count() == 1


async def test_an_expired_member_leaves_every_team_as_a_removed_one_does(crew: Crew):
    """The sweep writes an expiry as a removal (app/services/membership_end.py): team memberships
    go with the assignments; the other members' stay."""
    leaving, staying = crew["USER"], crew["USER2"]
    await factories.make_team(crew.organization, "Core", members=[leaving, staying])
    await factories.make_team(crew.organization, "Ops", members=[leaving])
    at = soon()
    await set_columns(leaving, expires_at=at)
    move_to(at, 1)
    assert await expiry_sweep.sweep_once() == 1
    assert not await TeamMember.filter(member_id=leaving.id).exists()
    assert await TeamMember.filter(member_id=staying.id).count() == 1
    removed = await Member.get(id=leaving.id)
    assert removed.status == MemberStatus.REMOVED and removed.removed_at == at


async def test_accepting_an_invitation_after_expiry_rejoins(crew: Crew):
    """An expired member not swept yet may be invited again; accepting writes the expiry
    first, then the new membership (without the old end date)."""
    member = crew["USER"]
    user = await User.get(id=member.user_id)
    at = soon()
    await set_columns(member, expires_at=at)
    move_to(at, 1)
    invitation = await factories.make_invitation(crew.organization, user.email)
    rejoined = await invitations.accept(invitation.id, user, None)
    assert rejoined.id == member.id and rejoined.status == MemberStatus.ACTIVE
    assert rejoined.expires_at is None
    assert await AuditEvent.filter(action="member.expired").count() == 1
    assert await expiry_sweep.sweep_once() == 0


async def test_a_change_to_a_member_writes_their_due_revert_first(crew: Crew):
    owner = await crew.actor("OWNER")
    until = soon()
    await members.update_role(owner, crew["VIEWER"].id, OrganizationRole.ADMIN, until)
    move_to(until, 1)
    # Refused: the revert is rolled back with the rest.
    await refuses(
        members.update_role(owner, crew["VIEWER"].id, OrganizationRole.OWNER),
        ErrorCode.ROLE_NOT_ALLOWED,
    )
    member = await members.update_profile(owner, crew["VIEWER"].id, {"title": "Auditor"})
    assert member.role == OrganizationRole.VIEWER and member.role_expires_at is None
    kinds = list(await AuditEvent.all().order_by("id").values_list("action", flat=True))
    assert kinds[-2:] == ["member.role_reverted", "member.updated"]
    assert await expiry_sweep.sweep_once() == 0
