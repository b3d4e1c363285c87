"""Join request rules, called on the services: who may ask, who is suggested what, who
decides with which role, expiry by the clock, and that refusals write nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.auth.viewer import OrgAccess, Viewer
from app.errors import DomainError, ErrorCode
from app.models import ApiKey, AuditEvent, Domain, JoinRequest, Member, OutboxMail, User
from app.models.enums import DomainJoinPolicy, JoinRequestStatus, MemberStatus, OrganizationRole
from app.services import domains, join_requests
from app.services.audit import Actor
from tests.support import factories
from tests.support.services import Crew, refuses

DOMAIN = "rules-corp.com"


async def policy_domain(
    crew: Crew, policy: DomainJoinPolicy, role: str = "USER", domain: str = DOMAIN
) -> Domain:
    row = Domain(
        organization_id=crew.organization.id,
        domain=domain,
        verification_email=f"it@{domain}",
        verified_at=datetime.now(UTC),
        auto_join_role=role,
    )
    row.set_join_policy(policy)
    await row.save()
    return row


_count = iter(range(1, 10_000))


async def person(domain: str = DOMAIN, *, verified: bool = True) -> User:
    return await factories.make_user(f"p{next(_count)}@{domain}", "Pat Person", verified=verified)


async def ask(crew: Crew, user: User) -> JoinRequest:
    return await join_requests.request_to_join(user, crew.organization.id, None, None)


# --- the join policy ---------------------------------------------------------------------------


def test_add_domain_policy_follows_auto_join():
    assert domains.join_policy_of(False, None) == DomainJoinPolicy.OFF
    assert domains.join_policy_of(True, None) == DomainJoinPolicy.AUTO_JOIN
    assert domains.join_policy_of(False, DomainJoinPolicy.REQUEST) == DomainJoinPolicy.REQUEST
    assert domains.join_policy_of(True, DomainJoinPolicy.AUTO_JOIN) == DomainJoinPolicy.AUTO_JOIN
    with pytest.raises(DomainError) as caught:
        domains.join_policy_of(True, DomainJoinPolicy.REQUEST)
    assert caught.value.code == ErrorCode.INVALID_INPUT


async def test_auto_join_flag_is_kept_in_step_with_the_policy(crew):
    row = await policy_domain(crew, DomainJoinPolicy.OFF)
    for policy, flag in (
        (DomainJoinPolicy.AUTO_JOIN, True),
        (DomainJoinPolicy.REQUEST, False),
        (DomainJoinPolicy.AUTO_JOIN, True),
        (DomainJoinPolicy.OFF, False),
    ):
        await domains.update_domain(await crew.actor("ADMIN"), row.id, policy, None)
        stored = await Domain.get(id=row.id)
        assert (stored.join_policy, stored.auto_join) == (policy, flag)


async def test_update_domain_refusals_write_nothing(crew):
    row = await policy_domain(crew, DomainJoinPolicy.OFF)
    await refuses(
        domains.update_domain(await crew.actor("OWNER"), row.id, None, OrganizationRole.OWNER),
        ErrorCode.ROLE_NOT_ALLOWED,
    )
    await refuses(
        domains.update_domain(await crew.actor("USER"), row.id, DomainJoinPolicy.REQUEST, None),
        ErrorCode.FORBIDDEN_ROLE,
    )
    # Nothing to change: nothing written, not even an event.
    count = await AuditEvent.all().count()
    await domains.update_domain(await crew.actor("OWNER"), row.id, DomainJoinPolicy.OFF, None)
    assert await AuditEvent.all().count() == count


# --- who may ask, who is suggested --------------------------------------------------------------


@pytest.mark.parametrize("policy", [DomainJoinPolicy.OFF, DomainJoinPolicy.AUTO_JOIN])
async def test_only_request_domains_take_requests(crew, policy):
    await policy_domain(crew, policy)
    user = await person()
    assert await join_requests.suggested_organizations(user) == []
    await refuses(ask(crew, user), ErrorCode.JOIN_NOT_ALLOWED)


async def test_request_domain_suggests_and_takes_a_request(crew):
    await policy_domain(crew, DomainJoinPolicy.REQUEST)
    user = await person()
    assert [o.id for o in await join_requests.suggested_organizations(user)] == [
        crew.organization.id
    ]
    request = await ask(crew, user)
    assert request.status == JoinRequestStatus.PENDING
    assert request.expires_at - request.created_at == timedelta(days=30)
    assert await join_requests.suggested_organizations(user) == []  # asked already
    await refuses(ask(crew, user), ErrorCode.ALREADY_REQUESTED)


async def test_nobody_else_is_suggested_or_may_ask(crew):
    row = await policy_domain(crew, DomainJoinPolicy.REQUEST)
    cases = {
        "unverified email": await person(verified=False),
        "another domain": await person("elsewhere.com"),
    }
    removed = await person()
    await factories.make_member(crew.organization, removed, status=MemberStatus.REMOVED)
    blocked = await person()
    await factories.make_member(crew.organization, blocked, status=MemberStatus.BLOCKED)
    cases |= {"removed": removed, "blocked": blocked}
    for user in cases.values():
        assert await join_requests.suggested_organizations(user) == []
        await refuses(ask(crew, user), ErrorCode.JOIN_NOT_ALLOWED)
    member = await person()
    await factories.make_member(crew.organization, member)
    assert await join_requests.suggested_organizations(member) == []
    await refuses(ask(crew, member), ErrorCode.ALREADY_MEMBER)
    # An unverified domain suggests nothing either.
    await Domain.filter(id=row.id).update(verified_at=None)
    assert await join_requests.suggested_organizations(await person()) == []


async def test_a_message_is_bounded(crew):
    await policy_domain(crew, DomainJoinPolicy.REQUEST)
    user = await person()
    await refuses(
        join_requests.request_to_join(user, crew.organization.id, "x" * 2001, None),
        ErrorCode.INVALID_INPUT,
    )


# --- decisions -----------------------------------------------------------------------------------


async def test_approval_takes_the_domain_role_or_the_given_one_within_invitation_limits(crew):
    await policy_domain(crew, DomainJoinPolicy.REQUEST, role="VIEWER")
    first = await ask(crew, await person())
    member = await join_requests.approve(await crew.actor("ADMIN"), first.id, None)
    assert member.role == OrganizationRole.VIEWER and member.status == MemberStatus.ACTIVE
    stored = await JoinRequest.get(id=first.id)
    assert stored.role == OrganizationRole.VIEWER
    assert stored.decided_by_id == crew["ADMIN"].id

    second = await ask(crew, await person())
    await refuses(
        join_requests.approve(await crew.actor("OWNER"), second.id, OrganizationRole.OWNER),
        ErrorCode.ROLE_NOT_ALLOWED,
    )
    await refuses(
        join_requests.approve(await crew.actor("ADMIN"), second.id, OrganizationRole.ADMIN),
        ErrorCode.FORBIDDEN_ROLE,
    )
    await refuses(
        join_requests.approve(await crew.actor("USER"), second.id, None),
        ErrorCode.FORBIDDEN_ROLE,
    )
    member = await join_requests.approve(
        await crew.actor("OWNER"), second.id, OrganizationRole.ADMIN
    )
    assert member.role == OrganizationRole.ADMIN


async def test_approval_after_the_domain_is_gone_grants_user(crew):
    row = await policy_domain(crew, DomainJoinPolicy.REQUEST, role="VIEWER")
    request = await ask(crew, await person())
    await Domain.filter(id=row.id).delete()
    member = await join_requests.approve(await crew.actor("OWNER"), request.id, None)
    assert member.role == OrganizationRole.USER


async def test_an_api_key_may_decide(crew):
    await policy_domain(crew, DomainJoinPolicy.REQUEST)
    request = await ask(crew, await person())
    key = await ApiKey.create(
        organization_id=crew.organization.id,
        name="ci",
        role=OrganizationRole.ADMIN,
        prefix="rk_test",
        secret_hash="h" * 64,
    )
    actor = Actor(
        viewer=Viewer(api_key=key),
        access=OrgAccess(crew.organization.id, OrganizationRole.ADMIN),
    )
    denied = await join_requests.deny(actor, request.id)
    assert denied.status == JoinRequestStatus.DENIED and denied.decided_by_id is None


async def test_approval_at_the_seat_limit_is_refused(crew):
    await policy_domain(crew, DomainJoinPolicy.REQUEST)
    request = await ask(crew, await person())
    crew.organization.seat_limit = await Member.filter(organization_id=crew.organization.id).count()
    await crew.organization.save(update_fields=["seat_limit"])
    await refuses(
        join_requests.approve(await crew.actor("OWNER"), request.id, None),
        ErrorCode.SEAT_LIMIT_REACHED,
    )


async def test_decided_requests_cannot_change(crew):
    await policy_domain(crew, DomainJoinPolicy.REQUEST)
    user = await person()
    request = await ask(crew, user)
    await join_requests.deny(await crew.actor("ADMIN"), request.id)
    for call in (
        join_requests.approve(await crew.actor("ADMIN"), request.id, None),
        join_requests.deny(await crew.actor("ADMIN"), request.id),
        join_requests.withdraw(user, request.id, None),
    ):
        await refuses(call, ErrorCode.REQUEST_NOT_PENDING)


async def test_withdraw_is_the_requesters_alone(crew):
    await policy_domain(crew, DomainJoinPolicy.REQUEST)
    user = await person()
    request = await ask(crew, user)
    await refuses(join_requests.withdraw(await person(), request.id, None), ErrorCode.NOT_FOUND)
    withdrawn = await join_requests.withdraw(user, request.id, None)
    assert withdrawn.status == JoinRequestStatus.WITHDRAWN
    assert await OutboxMail.all().count() == 0  # no mail for a withdrawal


async def test_approval_mails_and_audits(crew):
    await policy_domain(crew, DomainJoinPolicy.REQUEST)
    user = await person()
    request = await ask(crew, user)
    count = await AuditEvent.all().count()
    member = await join_requests.approve(await crew.actor("OWNER"), request.id, None)
    new = await AuditEvent.all().order_by("id").offset(count)
    assert [e.action for e in new] == ["join_request.approved", "member.joined"]
    assert new[1].data["via"] == "join_request" and new[1].target_id == member.id
    (mail,) = await OutboxMail.filter(to_email=user.email)
    assert mail.kind == "join_request_approved"


async def test_a_removed_member_may_be_approved_back_by_an_admin(crew):
    """Removed people cannot ask; one removed while their request was pending is an
    admin's decision, like inviting them again."""
    await policy_domain(crew, DomainJoinPolicy.REQUEST)
    user = await person()
    request = await ask(crew, user)
    await factories.make_member(crew.organization, user, status=MemberStatus.REMOVED)
    member = await join_requests.approve(await crew.actor("OWNER"), request.id, None)
    assert member.status == MemberStatus.ACTIVE
    assert await Member.filter(organization_id=crew.organization.id, user_id=user.id).count() == 1


async def test_a_person_blocked_meanwhile_is_not_approved(crew):
    await policy_domain(crew, DomainJoinPolicy.REQUEST)
    user = await person()
    request = await ask(crew, user)
    await factories.make_member(crew.organization, user, status=MemberStatus.BLOCKED)
    await refuses(
        join_requests.approve(await crew.actor("OWNER"), request.id, None),
        ErrorCode.JOIN_NOT_ALLOWED,
    )


# --- expiry by the clock ---------------------------------------------------------------------


async def test_a_request_expires_at_the_instant_30_days_on(crew, monkeypatch):
    await policy_domain(crew, DomainJoinPolicy.REQUEST)
    user = await person()
    request = await ask(crew, user)
    just_before = request.expires_at - timedelta(seconds=1)
    monkeypatch.setattr(join_requests, "now", lambda: just_before)
    assert join_requests.effective_status(request) == JoinRequestStatus.PENDING
    monkeypatch.setattr(join_requests, "now", lambda: request.expires_at)
    assert join_requests.effective_status(request) == JoinRequestStatus.EXPIRED
    await refuses(
        join_requests.approve(await crew.actor("OWNER"), request.id, None),
        ErrorCode.REQUEST_NOT_PENDING,
    )
    await refuses(join_requests.withdraw(user, request.id, None), ErrorCode.REQUEST_NOT_PENDING)
    # Expired, it is suggested again, and a new request replaces it.
    assert [o.id for o in await join_requests.suggested_organizations(user)] == [
        crew.organization.id
    ]
    fresh = await ask(crew, user)
    assert fresh.status == JoinRequestStatus.PENDING
    assert (await JoinRequest.get(id=request.id)).status == JoinRequestStatus.EXPIRED


async def test_a_membership_that_comes_back_carries_no_old_end_or_temporary_role(crew):
    await policy_domain(crew, DomainJoinPolicy.REQUEST)
    user = await person()
    request = await ask(crew, user)
    old = await factories.make_member(crew.organization, user, status=MemberStatus.REMOVED)
    old.expires_at = datetime.now(UTC) - timedelta(days=1)
    old.role_expires_at = datetime.now(UTC) - timedelta(days=2)
    old.role_reverts_to = OrganizationRole.VIEWER
    await old.save()
    member = await join_requests.approve(await crew.actor("OWNER"), request.id, None)
    stored = await Member.get(id=member.id)
    assert (stored.expires_at, stored.role_expires_at, stored.role_reverts_to) == (None, None, None)
