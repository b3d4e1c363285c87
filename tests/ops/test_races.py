"""Races over HTTP: seats and the admin guardrail under concurrent requests.

The requests run concurrently (asyncio.gather) against the real app; on
PostgreSQL they interleave in the database, where only the organization row
lock keeps the invariants. SQLite serializes transactions, and the same
assertions must hold there too.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from app.models import AuditEvent, Invitation, Member
from app.models.enums import InvitationStatus, MemberStatus, OrganizationRole
from tests.support.api import Org, add_member, create_org, gql, mutate, ok, sign_up_by_api
from tests.support.invitations import INVITE, RESEND, expire, invite, set_org
from tests.support.members import LEAVE, REMOVE, UPDATE_ROLE, member_pk, org_pk

DOMAIN = "races-corp.com"
ADD_DOMAIN = """
mutation($input: AddDomainInput!) {
  addDomain(input: $input) { errors { code } domain { id } }
}"""
VERIFY_DOMAIN = """
mutation($token: String!) { verifyDomain(input: {token: $token}) { errors { code } domain { id } } }"""
VERIFY_EMAIL = """
mutation($token: String!) { verifyEmail(input: {token: $token}) { errors { code } user { id } } }"""
SEATS = "query($id: ID!) { organization(id: $id) { seatsUsed seatLimit } }"
FREE = 9
ADMIN_LIKE = [OrganizationRole.OWNER, OrganizationRole.ADMIN]


async def payload_of(client, query: str, variables: dict, token: str | None) -> dict:
    """The one payload of a mutation; a top-level error (INTERNAL …) fails the test."""
    body = await gql(client, query, variables, token)
    assert "errors" not in body, body
    (payload,) = body["data"].values()
    return payload


def codes(payload: dict) -> tuple[str, ...]:
    return tuple(e["code"] for e in payload["errors"])


async def seats_in_db(org: Org) -> int:
    """Seats counted straight from the tables: ACTIVE + BLOCKED + PENDING unexpired."""
    pk = org_pk(org)
    members = await Member.filter(
        organization_id=pk, status__in=[MemberStatus.ACTIVE, MemberStatus.BLOCKED]
    ).count()
    pending = await Invitation.filter(
        organization_id=pk, status=InvitationStatus.PENDING, expires_at__gt=datetime.now(UTC)
    ).count()
    return members + pending


async def verified_auto_join_domain(client, mailbox, org: Org) -> None:
    variables = {
        "input": {
            "organizationId": org.id,
            "domain": DOMAIN,
            "verificationEmail": f"it@{DOMAIN}",
            "autoJoin": True,
        }
    }
    await mutate(client, ADD_DOMAIN, variables, org.owner.token)
    mail = (await mailbox.wait_for(f"it@{DOMAIN}"))[-1]
    await mutate(client, VERIFY_DOMAIN, {"token": mail.token})


async def test_invitations_resends_and_auto_joins_never_pass_the_seat_limit(client, mailbox):
    """20 contenders (7 invitations, 7 resends of EXPIRED invitations, 6 auto-joins) for 9 seats.

    Every contender would succeed with a seat free, so exactly 9 succeed and
    the organization ends exactly full; an auto-join that lost is audited as
    skipped. (Nine, not fewer: the anonymous verifyEmail calls tend to reach
    the lock first, and the invitations must race too.)
    """
    org = await create_org(client)
    await verified_auto_join_domain(client, mailbox, org)
    expired = []
    for i in range(7):
        invitation = await invite(client, org, f"old{i}@example.com")
        await expire(invitation["id"])
        expired.append(invitation["id"])
    joiners = []
    for i in range(6):
        email = f"joiner{i}@{DOMAIN}"
        await sign_up_by_api(client, email=email, name=f"Joiner {i}")
        joiners.append((await mailbox.wait_for(email))[-1].token)
    used = await seats_in_db(org)
    assert used == 1  # the owner; expired invitations hold no seat
    limit = used + FREE
    await set_org(client, org, seatLimit=limit)
    skipped_before = await AuditEvent.filter(action="member.auto_join_skipped").count()

    owner = org.owner.token
    calls = [
        *[
            payload_of(
                client,
                INVITE,
                {"input": {"organizationId": org.id, "email": f"new{i}@example.com"}},
                owner,
            )
            for i in range(7)
        ],
        *[payload_of(client, RESEND, {"id": gid}, owner) for gid in expired],
        *[payload_of(client, VERIFY_EMAIL, {"token": token}, None) for token in joiners],
    ]
    # Interleave the kinds rather than sending them in blocks.
    order = sorted(range(20), key=lambda i: (i % 7, i))
    results = dict(zip(order, await asyncio.gather(*(calls[i] for i in order)), strict=True))

    invited = [codes(results[i]) for i in range(14)]
    for outcome in invited:
        assert outcome in ((), ("SEAT_LIMIT_REACHED",)), invited
    for i in range(14, 20):
        assert codes(results[i]) == ()  # verifying the email succeeds, seat or not
    joined = await Member.filter(
        organization_id=org_pk(org), role=OrganizationRole.USER, status=MemberStatus.ACTIVE
    ).count()
    skipped = await AuditEvent.filter(action="member.auto_join_skipped").count() - skipped_before
    assert joined + skipped == 6
    assert invited.count(()) + joined == FREE

    data = await ok(client, SEATS, {"id": org.id}, owner)
    assert data["organization"] == {"seatsUsed": limit, "seatLimit": limit}
    assert await seats_in_db(org) == limit
    # The losers left nothing behind: still EXPIRED resends are EXPIRED and uncounted.
    reopened = await Invitation.filter(
        organization_id=org_pk(org), email__startswith="old", expires_at__gt=datetime.now(UTC)
    ).count()
    assert reopened == sum(codes(results[i]) == () for i in range(7, 14))


async def _team(client, mailbox, admins: int) -> tuple[Org, list[tuple[str, str]]]:
    """An organization with `admins` ADMINs; returns (member id, session token) of each."""
    org = await create_org(client)
    team = []
    for i in range(admins):
        person, member_id = await add_member(
            client, mailbox, org, role="ADMIN", name=f"Admin {i}", email=f"admin{i}@example.com"
        )
        team.append((member_id, person.token))
    return org, team


async def active_admin_like(org: Org) -> list[Member]:
    return await Member.filter(
        organization_id=org_pk(org), status=MemberStatus.ACTIVE, role__in=ADMIN_LIKE
    )


async def test_concurrent_demotions_and_removals_keep_one_owner_and_lose_no_update(client, mailbox):
    """The owner demotes some admins and removes others while the rest leave, all at once.

    The active OWNER can be neither demoted, removed nor leave, so an admin is
    always left here; what the race checks is that every request gets a clean
    answer, each change is applied exactly once (its audit event included) and
    the owner stays the one OWNER.
    """
    org, team = await _team(client, mailbox, 9)
    owner = org.owner.token
    demoted, removed, leaving = team[0:3], team[3:6], team[6:9]
    calls = []
    for (d_id, _), (r_id, _), (_, l_token) in zip(demoted, removed, leaving, strict=True):
        calls.append(payload_of(client, UPDATE_ROLE, {"id": d_id, "role": "USER"}, owner))
        calls.append(payload_of(client, REMOVE, {"id": r_id}, owner))
        calls.append(payload_of(client, LEAVE, {"id": org.id}, l_token))
    # The same admins demoted and removed twice over: the second of each pair is a no-op
    # (demotion) or MEMBER_REMOVED (removal), never a second change.
    calls.append(payload_of(client, UPDATE_ROLE, {"id": demoted[0][0], "role": "USER"}, owner))
    calls.append(payload_of(client, REMOVE, {"id": removed[0][0]}, owner))
    events_before = await AuditEvent.filter(organization_id=org_pk(org)).count()
    results = await asyncio.gather(*calls)

    outcomes = sorted(codes(r) for r in results)
    assert outcomes == [()] * 10 + [("MEMBER_REMOVED",)], outcomes
    remaining = await active_admin_like(org)
    assert [m.role for m in remaining] == [OrganizationRole.OWNER]
    for member_id, _ in demoted:
        stored = await Member.get(id=member_pk(member_id))
        assert (stored.role, stored.status) == (OrganizationRole.USER, MemberStatus.ACTIVE)
    for member_id, _ in removed + leaving:
        assert (await Member.get(id=member_pk(member_id))).status == MemberStatus.REMOVED
    events = await AuditEvent.filter(organization_id=org_pk(org)).count()
    assert events - events_before == 9  # one per change; the repeats wrote nothing


async def test_concurrent_demotions_and_removals_by_the_owner_at_every_admin(client, mailbox):
    """Each admin demoted and removed at once by the owner: the owner alone remains admin-like."""
    org, team = await _team(client, mailbox, 5)
    owner = org.owner.token
    calls = []
    for member_id, _ in team:
        calls.append(payload_of(client, UPDATE_ROLE, {"id": member_id, "role": "USER"}, owner))
        calls.append(payload_of(client, REMOVE, {"id": member_id}, owner))
    results = await asyncio.gather(*calls)
    for demotion, removal in zip(results[0::2], results[1::2], strict=True):
        assert codes(removal) == ()
        # Demoted first, or refused because the removal came first.
        assert codes(demotion) in ((), ("MEMBER_REMOVED",))
    assert len(await active_admin_like(org)) == 1
    assert (
        await Member.filter(
            organization_id=org_pk(org), role=OrganizationRole.OWNER, status=MemberStatus.ACTIVE
        ).count()
        == 1
    )


async def test_concurrent_leaves_of_the_last_admins_leave_exactly_one(client, mailbox):
    """With no active owner (inconsistent data, the only way LAST_ADMIN is reachable),
    six admins leave at once: exactly one must stay, refused with LAST_ADMIN."""
    org, team = await _team(client, mailbox, 6)
    await Member.filter(organization_id=org_pk(org), role=OrganizationRole.OWNER).update(
        status=MemberStatus.BLOCKED
    )
    events_before = await AuditEvent.filter(organization_id=org_pk(org)).count()
    results = await asyncio.gather(
        *(payload_of(client, LEAVE, {"id": org.id}, token) for _, token in team)
    )
    outcomes = sorted(codes(r) for r in results)
    assert outcomes == [()] * 5 + [("LAST_ADMIN",)], outcomes
    (last,) = await active_admin_like(org)
    assert last.role == OrganizationRole.ADMIN
    events = await AuditEvent.filter(organization_id=org_pk(org), action="member.left").count()
    assert events == 5
    assert await AuditEvent.filter(organization_id=org_pk(org)).count() == events_before + 5
