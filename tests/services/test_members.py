"""Member rules on the service (app/services/members.py): the owner is protected, an active
admin always remains, nobody acts on themself, removed members are final, and who manages
whom. Every refusal has its code and writes nothing; every allowed cell writes its event."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.auth.viewer import OrgAccess, Viewer
from app.errors import ErrorCode
from app.models import ApiKey, AuditEvent, Member, User
from app.models.enums import MemberStatus, OrganizationRole
from app.services import members
from app.services.audit import Actor
from tests.support.services import Crew, actions_since, all_rows, refuses

# Who manages whom (API.md, "Roles"): the contract, written out rather than read from the code.
MANAGES = {
    "OWNER": {"ADMIN", "USER", "VIEWER"},
    "ADMIN": {"USER", "VIEWER"},
    "USER": set(),
    "VIEWER": set(),
}
ROLES = ("OWNER", "ADMIN", "USER", "VIEWER")
TARGETS = ("ADMIN2", "USER2", "VIEWER2")  # never the actor themself


async def set_status(member: Member, status: MemberStatus) -> None:
    now = datetime.now(UTC)
    await Member.filter(id=member.id).update(
        status=status,
        blocked_at=now if status == MemberStatus.BLOCKED else None,
        removed_at=now if status == MemberStatus.REMOVED else None,
    )


async def user_of(member: Member) -> User:
    return await User.get(id=member.user_id)


# Each change of another member: the call, and the audit action it writes when allowed.
CHANGES = {
    "block": (lambda actor, m: members.block(actor, m.id), "member.blocked"),
    "unblock": (lambda actor, m: members.unblock(actor, m.id), "member.unblocked"),
    "remove": (lambda actor, m: members.remove(actor, m.id), "member.removed"),
    "update_profile": (
        lambda actor, m: members.update_profile(actor, m.id, {"title": "Boss"}),
        "member.updated",
    ),
    "send_password_reset": (
        lambda actor, m: members.send_password_reset(actor, m.id),
        "member.password_reset_sent",
    ),
}


# -- the owner ---------------------------------------------------------------------------

OWNER_CHANGES = {
    "promote_to_admin": lambda actor, m: members.update_role(actor, m.id, OrganizationRole.ADMIN),
    "demote_to_user": lambda actor, m: members.update_role(actor, m.id, OrganizationRole.USER),
    "block": lambda actor, m: members.block(actor, m.id),
    "unblock": lambda actor, m: members.unblock(actor, m.id),
    "remove": lambda actor, m: members.remove(actor, m.id),
}


@pytest.mark.parametrize("by", ["OWNER", "ADMIN"])
@pytest.mark.parametrize("change", list(OWNER_CHANGES))
async def test_the_owner_cannot_be_demoted_blocked_or_removed(crew: Crew, by, change):
    actor = await crew.actor(by)
    await refuses(OWNER_CHANGES[change](actor, crew["OWNER"]), ErrorCode.OWNER_PROTECTED)
    owner = await crew.reload("OWNER")
    assert (owner.role, owner.status) == (OrganizationRole.OWNER, MemberStatus.ACTIVE)


async def test_the_owner_cannot_leave(crew: Crew):
    owner = crew["OWNER"]
    call = members.leave(await crew.actor("OWNER"), crew.organization.id, await user_of(owner))
    await refuses(call, ErrorCode.OWNER_PROTECTED)
    assert (await crew.reload("OWNER")).status == MemberStatus.ACTIVE


async def test_nobody_is_made_owner_by_a_role_change(crew: Crew):
    call = members.update_role(await crew.actor("OWNER"), crew["ADMIN2"].id, OrganizationRole.OWNER)
    await refuses(call, ErrorCode.ROLE_NOT_ALLOWED)


# -- the last active admin -----------------------------------------------------------------

LAST_ADMIN_CHANGES = {
    "demote_to_user": lambda owner, admin, _: members.update_role(
        owner, admin.id, OrganizationRole.USER
    ),
    "demote_to_viewer": lambda owner, admin, _: members.update_role(
        owner, admin.id, OrganizationRole.VIEWER
    ),
    "block": lambda owner, admin, _: members.block(owner, admin.id),
    "remove": lambda owner, admin, _: members.remove(owner, admin.id),
    "leave": lambda _, admin, leaver: members.leave(leaver[0], admin.organization_id, leaver[1]),
}


async def lone_admin(crew: Crew, *, second_admin_active: bool) -> tuple:
    """Only inconsistent data gets here: the owner is not ACTIVE. ADMIN is then the last
    active admin, unless ADMIN2 stays active; a blocked ADMIN2 does not count."""
    await set_status(crew["OWNER"], MemberStatus.BLOCKED)
    if not second_admin_active:
        await set_status(crew["ADMIN2"], MemberStatus.BLOCKED)
    admin = await crew.reload("ADMIN")
    leaver = (await crew.actor("ADMIN"), await user_of(admin))
    # A blocked owner has no access (the services re-read it under the lock): the owner's
    # authority acts through an OWNER-role key, written directly (keys are never OWNER).
    key = await ApiKey.create(
        organization_id=crew.organization.id,
        name="owner's authority",
        role=OrganizationRole.OWNER,
        prefix="rk_owner",
        secret_hash="0" * 64,
    )
    owner = Actor(
        viewer=Viewer(api_key=key),
        access=OrgAccess(crew.organization.id, OrganizationRole.OWNER),
    )
    return owner, admin, leaver


@pytest.mark.parametrize("change", list(LAST_ADMIN_CHANGES))
async def test_the_last_active_admin_stays(crew: Crew, change):
    owner, admin, leaver = await lone_admin(crew, second_admin_active=False)
    await refuses(LAST_ADMIN_CHANGES[change](owner, admin, leaver), ErrorCode.LAST_ADMIN)
    stored = await crew.reload("ADMIN")
    assert (stored.role, stored.status) == (OrganizationRole.ADMIN, MemberStatus.ACTIVE)


@pytest.mark.parametrize("change", list(LAST_ADMIN_CHANGES))
async def test_with_another_active_admin_the_admin_may_go(crew: Crew, change):
    owner, admin, leaver = await lone_admin(crew, second_admin_active=True)
    before = await AuditEvent.all().count()
    await LAST_ADMIN_CHANGES[change](owner, admin, leaver)
    stored = await crew.reload("ADMIN")
    assert (stored.role, stored.status) != (OrganizationRole.ADMIN, MemberStatus.ACTIVE)
    assert len(await actions_since(before)) == 1


# -- oneself -------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["ADMIN", "USER", "VIEWER"])
@pytest.mark.parametrize("change", ["block", "unblock", "remove"])
async def test_nobody_blocks_unblocks_or_removes_themself(crew: Crew, who, change):
    call, _ = CHANGES[change]
    await refuses(call(await crew.actor(who), crew[who]), ErrorCode.SELF_ACTION)
    assert (await crew.reload(who)).status == MemberStatus.ACTIVE


@pytest.mark.parametrize("who", ["ADMIN", "USER", "VIEWER"])
async def test_anyone_edits_their_own_profile(crew: Crew, who):
    before = await AuditEvent.all().count()
    await members.update_profile(await crew.actor(who), crew[who].id, {"title": "Me"})
    assert (await crew.reload(who)).title == "Me"
    assert await actions_since(before) == ["member.updated"]


# -- removed members -----------------------------------------------------------------------

REMOVED_CHANGES = {
    **{name: call for name, (call, _) in CHANGES.items()},
    "update_role": lambda actor, m: members.update_role(actor, m.id, OrganizationRole.VIEWER),
}


@pytest.mark.parametrize("change", list(REMOVED_CHANGES))
async def test_removed_members_cannot_be_changed(crew: Crew, change):
    await set_status(crew["USER2"], MemberStatus.REMOVED)
    call = REMOVED_CHANGES[change](await crew.actor("OWNER"), crew["USER2"])
    await refuses(call, ErrorCode.MEMBER_REMOVED)


# -- who manages whom ----------------------------------------------------------------------


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("actor_role", ROLES)
@pytest.mark.parametrize("change", list(CHANGES))
async def test_who_changes_whom(crew: Crew, change, actor_role, target):
    call, action = CHANGES[change]
    if change == "unblock":  # unblocking an active member writes nothing either way
        await set_status(crew[target], MemberStatus.BLOCKED)
    actor = await crew.actor(actor_role)
    if crew[target].role in MANAGES[actor_role]:
        before = await AuditEvent.all().count()
        await call(actor, crew[target])
        assert await actions_since(before) == [action]
    else:
        await refuses(call(actor, crew[target]), ErrorCode.FORBIDDEN_ROLE)


@pytest.mark.parametrize("actor_role", ["ADMIN", "USER", "VIEWER"])
@pytest.mark.parametrize("change", ["update_profile", "send_password_reset"])
async def test_only_the_owner_reaches_the_owner_profile(crew: Crew, change, actor_role):
    call, _ = CHANGES[change]
    await refuses(call(await crew.actor(actor_role), crew["OWNER"]), ErrorCode.FORBIDDEN_ROLE)


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("to", ["ADMIN", "USER", "VIEWER"])
@pytest.mark.parametrize("actor_role", ROLES)
async def test_who_grants_which_role(crew: Crew, actor_role, to, target):
    """Both the member's present role and the new one must be the actor's to manage."""
    member = crew[target]
    actor = await crew.actor(actor_role)
    call = members.update_role(actor, member.id, OrganizationRole(to))
    allowed = member.role in MANAGES[actor_role] and to in MANAGES[actor_role]
    if not allowed:
        await refuses(call, ErrorCode.FORBIDDEN_ROLE)
        assert (await crew.reload(target)).role == member.role
    elif to == member.role:  # the same role again: nothing to write
        before = await all_rows()
        await call
        assert await all_rows() == before
    else:
        before = await AuditEvent.all().count()
        await call
        assert (await crew.reload(target)).role == to
        assert await actions_since(before) == ["member.role_changed"]
