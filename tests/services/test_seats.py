"""Seats on the service (app/services/invitations.py, organizations.py): ACTIVE and BLOCKED
members (the owner included) and PENDING unexpired invitations take a seat; nothing new
that takes one passes the limit (SEAT_LIMIT_REACHED, nothing written); what already holds
a seat never needs another."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.errors import ErrorCode
from app.models import AuditEvent, Invitation, Member, Organization
from app.models.enums import InvitationStatus, MemberStatus
from app.services import invitations, members
from tests.support import factories
from tests.support.services import actions_since, refuses

EXPIRED = timedelta(minutes=-1)


@pytest.fixture
async def org(db) -> tuple[Organization, Member]:
    owner = await factories.make_user(name="Olive Owner")
    return await factories.make_organization(owner)


async def limit(organization: Organization, seats: int | None) -> None:
    await Organization.filter(id=organization.id).update(seat_limit=seats)


def invite(actor, organization: Organization, email: str | None = None):
    request = invitations.InviteRequest(email=email or factories.unique_email("new"))
    return invitations.invite(actor, organization.id, request)


# What one more row does to the seats: (taken, make it).
OCCUPANTS = {
    "active member": (True, lambda o: factories.make_member(o)),
    "blocked member": (True, lambda o: factories.make_member(o, status=MemberStatus.BLOCKED)),
    "removed member": (False, lambda o: factories.make_member(o, status=MemberStatus.REMOVED)),
    "pending invitation": (True, lambda o: factories.make_invitation(o)),
    "pending invitation past expiry": (
        False,
        lambda o: factories.make_invitation(o, expires_in=EXPIRED),
    ),
    "expired invitation": (
        False,
        lambda o: factories.make_invitation(o, status=InvitationStatus.EXPIRED, expires_in=EXPIRED),
    ),
    "accepted invitation": (
        False,
        lambda o: factories.make_invitation(o, status=InvitationStatus.ACCEPTED),
    ),
    "revoked invitation": (
        False,
        lambda o: factories.make_invitation(o, status=InvitationStatus.REVOKED),
    ),
    "declined invitation": (
        False,
        lambda o: factories.make_invitation(o, status=InvitationStatus.DECLINED),
    ),
}


@pytest.mark.parametrize("occupant", list(OCCUPANTS))
async def test_what_takes_a_seat(org, occupant):
    """The owner and one occupant under a limit of two: a new invitation fits only when
    the occupant holds no seat."""
    organization, owner = org
    taken, make = OCCUPANTS[occupant]
    await make(organization)
    await limit(organization, 2)
    actor = await factories.actor_for(owner)
    if taken:
        await refuses(invite(actor, organization), ErrorCode.SEAT_LIMIT_REACHED)
    else:
        created = await invite(actor, organization)
        assert created.status == InvitationStatus.PENDING


async def test_no_limit_means_no_refusal(org):
    organization, owner = org
    actor = await factories.actor_for(owner)
    for _ in range(3):
        await factories.make_member(organization)
    await limit(organization, None)
    assert (await invite(actor, organization)).status == InvitationStatus.PENDING


async def test_an_admin_is_refused_at_the_limit_too(org):
    organization, _ = org
    admin = await factories.make_member(organization, role="ADMIN")
    await limit(organization, 2)
    await refuses(
        invite(await factories.actor_for(admin), organization), ErrorCode.SEAT_LIMIT_REACHED
    )


@pytest.mark.parametrize("operation", ["resend", "extend"])
async def test_reopening_an_expired_invitation_needs_a_free_seat(org, operation):
    organization, owner = org
    expired = await factories.make_invitation(organization, expires_in=EXPIRED)
    await factories.make_member(organization)
    await limit(organization, 2)
    actor = await factories.actor_for(owner)
    reopen = {
        "resend": lambda: invitations.resend(actor, expired.id),
        "extend": lambda: invitations.extend(actor, expired.id, 3),
    }[operation]
    await refuses(reopen(), ErrorCode.SEAT_LIMIT_REACHED)
    assert invitations.effective_status(await Invitation.get(id=expired.id)) == (
        InvitationStatus.EXPIRED
    )
    # With the seat free again, it reopens.
    await limit(organization, 3)
    before = await AuditEvent.all().count()
    await reopen()
    assert invitations.effective_status(await Invitation.get(id=expired.id)) == (
        InvitationStatus.PENDING
    )
    assert len(await actions_since(before)) == 1


@pytest.mark.parametrize("operation", ["resend", "extend"])
async def test_a_pending_invitation_holds_its_seat_already(org, operation):
    organization, owner = org
    pending = await factories.make_invitation(organization)
    await limit(organization, 2)
    actor = await factories.actor_for(owner)
    if operation == "resend":
        await invitations.resend(actor, pending.id)
        assert (await Invitation.get(id=pending.id)).send_count == 2
    else:
        await invitations.extend(actor, pending.id, 3)
        stored = await Invitation.get(id=pending.id)
        assert stored.expires_at > pending.expires_at + timedelta(days=2)


async def test_accepting_never_fails_for_seats(org):
    """The invitation holds the seat it turns into, even under a limit lowered below usage."""
    organization, _ = org
    invitee = await factories.make_user(name="Ivy Invitee")
    invitation = await factories.make_invitation(organization, invitee.email)
    await factories.make_member(organization)
    await limit(organization, 1)
    member = await invitations.accept(invitation.id, invitee, None)
    assert member.status == MemberStatus.ACTIVE
    stored = await Invitation.get(id=invitation.id)
    assert stored.status == InvitationStatus.ACCEPTED


async def test_unblocking_takes_no_new_seat_but_waits_while_over_a_lowered_limit(org):
    """A blocked member holds their seat: unblocking at the limit is fine. Past a lowered
    limit nobody comes back until usage drops to it (unblockMember and SCIM alike)."""
    organization, owner = org
    actor = await factories.actor_for(owner)
    blocked = await factories.make_member(organization, status=MemberStatus.BLOCKED)
    await limit(organization, 2)  # the owner and the blocked member: at the limit
    await members.unblock(actor, blocked.id)
    assert (await Member.get(id=blocked.id)).status == MemberStatus.ACTIVE
    await members.block(actor, blocked.id)
    await limit(organization, 1)  # lowered below usage
    await refuses(members.unblock(actor, blocked.id), ErrorCode.SEAT_LIMIT_REACHED)
