"""Invitation status rules on the service (app/services/invitations.py): which lifecycle
change each status allows, who may manage an invitation of which role, and what accepting
needs. A refusal has its code and writes nothing; an allowed change writes its event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.errors import ErrorCode
from app.models import AuditEvent, Invitation, Member, User
from app.models.enums import InvitationStatus, MemberStatus, OrganizationRole
from app.services import invitations
from tests.support import factories
from tests.support.services import Crew, actions_since, refuses

EXPIRED = timedelta(minutes=-1)

# The states an invitation can be in, as rows: a stored PENDING past its expiry reads
# EXPIRED, as does a row already stored EXPIRED.
STATES = {
    "pending": {"status": InvitationStatus.PENDING},
    "expired": {"status": InvitationStatus.PENDING, "expires_in": EXPIRED},
    "stored expired": {"status": InvitationStatus.EXPIRED, "expires_in": EXPIRED},
    "accepted": {"status": InvitationStatus.ACCEPTED},
    "revoked": {"status": InvitationStatus.REVOKED},
    "declined": {"status": InvitationStatus.DECLINED},
}

# Each lifecycle change: the call, the states it is allowed in, its code when refused,
# and the action it records.
CHANGES = {
    "resend": (
        lambda actor, i: invitations.resend(actor, i.id),
        {"pending", "expired", "stored expired"},
        ErrorCode.INVITATION_NOT_PENDING,
        "invitation.resent",
    ),
    "revoke": (
        lambda actor, i: invitations.revoke(actor, i.id),
        {"pending", "expired", "stored expired"},
        ErrorCode.INVITATION_NOT_PENDING,
        "invitation.revoked",
    ),
    "extend": (
        lambda actor, i: invitations.extend(actor, i.id, 3),
        {"pending", "expired", "stored expired"},
        ErrorCode.INVITATION_NOT_PENDING,
        "invitation.extended",
    ),
    "update": (
        lambda actor, i: invitations.update(actor, i.id, OrganizationRole.VIEWER, None),
        {"pending"},
        ErrorCode.INVITATION_NOT_PENDING,
        "invitation.updated",
    ),
    "delete": (
        lambda actor, i: invitations.delete(actor, i.id),
        {"expired", "stored expired", "revoked", "declined"},
        ErrorCode.INVITATION_NOT_DELETABLE,
        "invitation.deleted",
    ),
}


def test_a_pending_invitation_past_its_expiry_reads_expired():
    now = datetime.now(UTC)
    row = Invitation(status=InvitationStatus.PENDING, expires_at=now + timedelta(minutes=1))
    assert invitations.effective_status(row) == InvitationStatus.PENDING
    row.expires_at = now - timedelta(seconds=1)
    assert invitations.effective_status(row) == InvitationStatus.EXPIRED
    for status in (InvitationStatus.ACCEPTED, InvitationStatus.REVOKED, InvitationStatus.DECLINED):
        assert invitations.effective_status(Invitation(status=status, expires_at=now)) == status


@pytest.mark.parametrize("state", list(STATES))
@pytest.mark.parametrize("change", list(CHANGES))
async def test_which_change_each_status_allows(crew: Crew, change, state):
    call, allowed, code, action = CHANGES[change]
    invitation = await factories.make_invitation(crew.organization, **STATES[state])
    actor = await crew.actor("OWNER")
    if state in allowed:
        before = await AuditEvent.all().count()
        await call(actor, invitation)
        assert await actions_since(before) == [action]
    else:
        await refuses(call(actor, invitation), code)
        stored = await Invitation.get(id=invitation.id)
        assert stored.status == invitation.status


@pytest.mark.parametrize("change", list(CHANGES))
async def test_admins_do_not_manage_admin_invitations(crew: Crew, change):
    call, _, _, action = CHANGES[change]
    state = "pending" if change != "delete" else "revoked"
    invitation = await factories.make_invitation(
        crew.organization, role=OrganizationRole.ADMIN, **STATES[state]
    )
    await refuses(call(await crew.actor("ADMIN"), invitation), ErrorCode.FORBIDDEN_ROLE)
    # The owner does.
    before = await AuditEvent.all().count()
    await call(await crew.actor("OWNER"), invitation)
    assert await actions_since(before) == [action]


@pytest.mark.parametrize(
    ("actor_role", "role", "code"),
    [
        ("OWNER", OrganizationRole.OWNER, ErrorCode.ROLE_NOT_ALLOWED),
        ("ADMIN", OrganizationRole.OWNER, ErrorCode.ROLE_NOT_ALLOWED),
        ("ADMIN", OrganizationRole.ADMIN, ErrorCode.FORBIDDEN_ROLE),
        ("USER", OrganizationRole.USER, ErrorCode.FORBIDDEN_ROLE),
        ("VIEWER", OrganizationRole.VIEWER, ErrorCode.FORBIDDEN_ROLE),
    ],
)
async def test_who_invites_with_which_role(crew: Crew, actor_role, role, code):
    request = invitations.InviteRequest(email="new@example.com", role=role)
    actor = await crew.actor(actor_role)
    await refuses(invitations.invite(actor, crew.organization.id, request), code)


@pytest.mark.parametrize(
    ("actor_role", "role"),
    [("OWNER", OrganizationRole.ADMIN), ("ADMIN", OrganizationRole.USER)],
)
async def test_an_invitation_is_created_pending_with_its_event(crew: Crew, actor_role, role):
    request = invitations.InviteRequest(email="New@Example.com", role=role)
    before = await AuditEvent.all().count()
    created = await invitations.invite(await crew.actor(actor_role), crew.organization.id, request)
    assert (created.email, created.role, created.status) == (
        "new@example.com",
        role,
        InvitationStatus.PENDING,
    )
    assert created.invited_by_id == crew[actor_role].id
    assert await actions_since(before) == ["invitation.created"]


async def test_an_admin_cannot_raise_an_invitation_to_admin(crew: Crew):
    invitation = await factories.make_invitation(crew.organization)
    call = invitations.update(
        await crew.actor("ADMIN"), invitation.id, OrganizationRole.ADMIN, None
    )
    await refuses(call, ErrorCode.FORBIDDEN_ROLE)


@pytest.mark.parametrize(
    ("existing", "code"),
    [
        (MemberStatus.ACTIVE, ErrorCode.ALREADY_MEMBER),
        (MemberStatus.BLOCKED, ErrorCode.ALREADY_MEMBER),
        ("pending", ErrorCode.ALREADY_INVITED),
    ],
)
async def test_members_and_the_invited_are_not_invited_again(crew: Crew, existing, code):
    person = await factories.make_user(name="Pat")
    if existing == "pending":
        await factories.make_invitation(crew.organization, person.email)
    else:
        await factories.make_member(crew.organization, person, status=existing)
    request = invitations.InviteRequest(email=person.email)
    await refuses(
        invitations.invite(await crew.actor("OWNER"), crew.organization.id, request), code
    )


async def test_removed_members_and_the_expired_may_be_invited_again(crew: Crew):
    removed = await factories.make_user(name="Rae")
    await factories.make_member(crew.organization, removed, status=MemberStatus.REMOVED)
    lapsed = await factories.make_invitation(crew.organization, expires_in=EXPIRED)
    actor = await crew.actor("OWNER")
    for email in (removed.email, lapsed.email):
        request = invitations.InviteRequest(email=email)
        created = await invitations.invite(actor, crew.organization.id, request)
        assert created.status == InvitationStatus.PENDING
    # One PENDING row per address (a unique index): the lapsed one is now stored EXPIRED.
    assert (await Invitation.get(id=lapsed.id)).status == InvitationStatus.EXPIRED


# -- accepting -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "code"),
    [
        ("expired", ErrorCode.INVITATION_EXPIRED),
        ("accepted", ErrorCode.INVALID_TOKEN),
        ("revoked", ErrorCode.INVALID_TOKEN),
        ("declined", ErrorCode.INVALID_TOKEN),
        ("stored expired", ErrorCode.INVALID_TOKEN),
    ],
)
async def test_only_a_pending_invitation_is_accepted(crew: Crew, state, code):
    invitee = await factories.make_user(name="Ivy")
    invitation = await factories.make_invitation(crew.organization, invitee.email, **STATES[state])
    await refuses(invitations.accept(invitation.id, invitee, None), code)
    assert not await Member.exists(organization_id=crew.organization.id, user_id=invitee.id)


async def test_accepting_takes_the_invitations_address(crew: Crew):
    invitation = await factories.make_invitation(crew.organization, "ivy@example.com")
    someone_else = await factories.make_user("other@example.com")
    await refuses(
        invitations.accept(invitation.id, someone_else, None), ErrorCode.INVITATION_EMAIL_MISMATCH
    )


async def test_accepting_twice_is_already_member(crew: Crew):
    """A second pending invitation to a present member (made through the models)."""
    member = crew["USER"]
    invitation = await factories.make_invitation(crew.organization, member.email)
    user = await User.get(id=member.user_id)
    await refuses(invitations.accept(invitation.id, user, None), ErrorCode.ALREADY_MEMBER)


async def test_accepting_joins_with_the_invitations_role_and_username(crew: Crew):
    invitee = await factories.make_user(name="Ivy")
    invitation = await factories.make_invitation(
        crew.organization, invitee.email, role=OrganizationRole.VIEWER, username="ivy"
    )
    before = await AuditEvent.all().count()
    member = await invitations.accept(invitation.id, invitee, None)
    assert (member.role, member.status, member.username) == (
        OrganizationRole.VIEWER,
        MemberStatus.ACTIVE,
        "ivy",
    )
    assert member.invited_by_id == crew["OWNER"].id
    stored = await Invitation.get(id=invitation.id)
    assert (stored.status, stored.token_hash) == (InvitationStatus.ACCEPTED, None)
    assert await actions_since(before) == ["invitation.accepted", "member.joined"]


async def test_a_removed_member_rejoins_by_invitation(crew: Crew):
    removed = crew["USER2"]
    await Member.filter(id=removed.id).update(status=MemberStatus.REMOVED)
    invitation = await factories.make_invitation(crew.organization, removed.email)
    user = await User.get(id=removed.user_id)
    member = await invitations.accept(invitation.id, user, None)
    assert member.id == removed.id
    assert (await Member.get(id=removed.id)).status == MemberStatus.ACTIVE
