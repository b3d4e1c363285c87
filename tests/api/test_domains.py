"""Verified domains: adding, verifying, removing, and auto-join when an email gets verified."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from app.ids import pk_of
from app.models import AuditEvent, Domain, Member, User
from app.services.domains import public_email_domains
from tests.support.api import (
    ACCEPT,
    INVITE,
    PASSWORD,
    SIGN_UP,
    Org,
    add_member,
    create_org,
    gql,
    mutate,
    ok,
    refused,
    sign_up_by_api,
    top_codes,
)

ADD = """
mutation($input: AddDomainInput!) {
  addDomain(input: $input) {
    errors { code field message } domain { id domain verified autoJoin autoJoinRole }
  }
}"""
VERIFY = """
mutation($token: String!) {
  verifyDomain(input: {token: $token}) { errors { code field } domain { id domain verified } }
}"""
REMOVE = """
mutation($id: ID!) { removeDomain(input: {domainId: $id}) { errors { code field } ok } }"""
DOMAINS = """
query($id: ID!) { organization(id: $id) { domains { id domain verified autoJoin autoJoinRole } } }"""
EVENTS = """
query($id: ID!, $actions: [String!]) {
  organization(id: $id) {
    auditEvents(first: 100, actions: $actions) {
      totalCount nodes { action targetType targetId data actor { id } }
    }
  }
}"""
VERIFY_EMAIL = """
mutation($token: String!) { verifyEmail(input: {token: $token}) { errors { code } user { id } } }"""
MEMBERSHIPS = "{ me { memberships { role status organization { id } } } }"
SEATS = """
mutation($id: ID!, $limit: Int) {
  updateOrganization(input: {organizationId: $id, seatLimit: $limit}) {
    errors { code } organization { seatLimit }
  }
}"""
DOMAIN = "acme-corp.com"


def add_vars(org: Org, domain: str = DOMAIN, email: str | None = None, **extra) -> dict:
    return {
        "input": {
            "organizationId": org.id,
            "domain": domain,
            "verificationEmail": email or f"it@{domain}",
            **extra,
        }
    }


async def events(client, org: Org, actions: list[str] | None = None) -> list[dict]:
    data = await ok(client, EVENTS, {"id": org.id, "actions": actions}, org.owner.token)
    return data["organization"]["auditEvents"]["nodes"]


async def verified_domain(client, mailbox, org: Org, domain: str = DOMAIN, **extra) -> str:
    """Add and verify `domain` for `org`; returns the domain's id."""
    payload = await mutate(client, ADD, add_vars(org, domain, **extra), org.owner.token)
    mail = (await mailbox.wait_for(f"it@{domain}"))[-1]
    await mutate(client, VERIFY, {"token": mail.token})
    return payload["domain"]["id"]


async def memberships(client, token: str) -> list[dict]:
    return (await ok(client, MEMBERSHIPS, token=token))["me"]["memberships"]


async def sign_up_and_verify(client, mailbox, email: str, name: str = "Dee Domain") -> str:
    """A new account whose email gets verified by the mailed link; returns its token."""
    person = await sign_up_by_api(client, email=email, name=name)
    (mail,) = await mailbox.wait_for(email)
    await mutate(client, VERIFY_EMAIL, {"token": mail.token})
    return person.token


async def test_add_mails_a_link_that_verifies_the_domain(client, mailbox):
    org = await create_org(client)
    payload = await mutate(
        client,
        ADD,
        add_vars(org, "Acme-Corp.COM", "IT@acme-corp.com", autoJoin=True, autoJoinRole="VIEWER"),
        org.owner.token,
    )
    assert payload["domain"] == {
        "id": payload["domain"]["id"],
        "domain": DOMAIN,
        "verified": False,
        "autoJoin": True,
        "autoJoinRole": "VIEWER",
    }
    (mail,) = await mailbox.wait_for("it@acme-corp.com")
    url, token = mail.link()
    assert url == "http://roster.test/domains/verify"
    assert DOMAIN in mail.subject and "Acme" in mail.text and DOMAIN in mail.html
    assert not await Domain.filter(token_hash=token).exists()  # only its hash is stored

    # Anonymous: the token is the proof.
    verified = await mutate(client, VERIFY, {"token": token})
    assert verified["domain"] == {"id": payload["domain"]["id"], "domain": DOMAIN, "verified": True}
    listed = (await ok(client, DOMAINS, {"id": org.id}, org.owner.token))["organization"]
    assert listed["domains"] == [{**payload["domain"], "verified": True}]
    assert await refused(client, VERIFY, {"token": token}) == ["INVALID_TOKEN"]

    trail = await events(client, org, ["domain.added", "domain.verified"])
    assert [e["action"] for e in trail] == ["domain.verified", "domain.added"]
    assert trail[1]["data"] == {
        "domain": DOMAIN,
        "verificationEmail": "it@acme-corp.com",
        "autoJoin": True,
        "autoJoinRole": "VIEWER",
        "joinPolicy": "AUTO_JOIN",
    }
    assert trail[1]["actor"]["id"] == org.owner.user_id
    assert trail[0]["actor"] is None and trail[0]["targetId"] == payload["domain"]["id"]


@pytest.mark.parametrize(
    ("domain", "email", "extra", "code", "field"),
    [
        ("gmail.com", "someone@gmail.com", {}, "DOMAIN_NOT_ALLOWED", "domain"),
        ("Proton.me", "x@proton.me", {}, "DOMAIN_NOT_ALLOWED", "domain"),
        (DOMAIN, "it@other.com", {}, "INVALID_INPUT", "verificationEmail"),
        (DOMAIN, "it@mail.acme-corp.com", {}, "INVALID_INPUT", "verificationEmail"),
        (DOMAIN, "not-an-address", {}, "INVALID_EMAIL", "verificationEmail"),
        ("not a domain", "it@acme-corp.com", {}, "INVALID_INPUT", "domain"),
        ("x" * 300 + ".com", "it@acme-corp.com", {}, "INVALID_INPUT", "domain"),
        (DOMAIN, "it@acme-corp.com", {"autoJoinRole": "OWNER"}, "ROLE_NOT_ALLOWED", "autoJoinRole"),
        (DOMAIN, "it@acme-corp.com", {"autoJoinRole": "ADMIN"}, "ROLE_NOT_ALLOWED", "autoJoinRole"),
    ],
)
async def test_add_refusals_write_nothing(client, mailbox, domain, email, extra, code, field):
    org = await create_org(client)
    body = await ok(client, ADD, add_vars(org, domain, email, **extra), org.owner.token)
    assert [(e["code"], e["field"]) for e in body["addDomain"]["errors"]] == [(code, [field])]
    assert body["addDomain"]["domain"] is None
    assert await Domain.all().count() == 0
    assert await events(client, org, ["domain.added"]) == []
    await asyncio.sleep(0.3)
    assert mailbox.to(email) == []


def test_public_providers_come_from_the_data_file():
    providers = public_email_domains()
    assert {"gmail.com", "outlook.com", "yahoo.com", "hotmail.com", "icloud.com"} <= providers
    assert "proton.me" in providers and "acme-corp.com" not in providers


async def test_who_may_add_and_remove_domains(client, mailbox):
    org = await create_org(client)
    admin, _ = await add_member(client, mailbox, org, role="ADMIN", name="Ann Admin")
    user, _ = await add_member(client, mailbox, org, role="USER", name="Uma User")
    outsider = await create_org(client, name="Other")

    body = await gql(client, ADD, add_vars(org), user.token)
    assert top_codes(body) == ["FORBIDDEN"] and body["data"] is None
    body = await gql(client, ADD, add_vars(org))
    assert top_codes(body) == ["UNAUTHENTICATED"]
    assert await refused(client, ADD, add_vars(org), outsider.owner.token) == ["NOT_FOUND"]
    assert await Domain.all().count() == 0

    payload = await mutate(client, ADD, add_vars(org), admin.token)
    domain_id = payload["domain"]["id"]
    assert top_codes(await gql(client, REMOVE, {"id": domain_id}, user.token)) == ["FORBIDDEN"]
    assert await refused(client, REMOVE, {"id": domain_id}, outsider.owner.token) == ["NOT_FOUND"]
    assert await refused(client, REMOVE, {"id": "garbage"}, admin.token) == ["NOT_FOUND"]
    assert await Domain.all().count() == 1
    # USER and VIEWER cannot read the domains either.
    body = await gql(client, DOMAINS, {"id": org.id}, user.token)
    assert top_codes(body) == ["FORBIDDEN"]


async def test_remove_domain(client, mailbox):
    org = await create_org(client)
    domain_id = await verified_domain(client, mailbox, org, autoJoin=True)
    assert (await mutate(client, REMOVE, {"id": domain_id}, org.owner.token))["ok"] is True
    listed = await ok(client, DOMAINS, {"id": org.id}, org.owner.token)
    assert listed["organization"]["domains"] == []
    (event,) = await events(client, org, ["domain.removed"])
    assert event["data"] == {"domain": DOMAIN, "verified": True}
    assert await refused(client, REMOVE, {"id": domain_id}, org.owner.token) == ["NOT_FOUND"]
    # Nobody joins by a removed domain.
    token = await sign_up_and_verify(client, mailbox, "new@acme-corp.com")
    assert await memberships(client, token) == []


async def test_a_domain_verified_elsewhere_is_taken(client, mailbox):
    first = await create_org(client, name="First")
    second = await create_org(client, name="Second")
    # Both claim it; the first to verify wins, the other's link then fails.
    await mutate(client, ADD, add_vars(first, email="a@acme-corp.com"), first.owner.token)
    await mutate(client, ADD, add_vars(second, email="b@acme-corp.com"), second.owner.token)
    (first_mail,) = await mailbox.wait_for("a@acme-corp.com")
    (second_mail,) = await mailbox.wait_for("b@acme-corp.com")
    await mutate(client, VERIFY, {"token": first_mail.token})
    assert await refused(client, VERIFY, {"token": second_mail.token}) == ["DOMAIN_TAKEN"]
    assert not (await Domain.get(organization_id=pk_of(second.id, "Organization"))).verified
    assert await events(client, second, ["domain.verified"]) == []

    third = await create_org(client, name="Third")
    assert await refused(client, ADD, add_vars(third), third.owner.token) == ["DOMAIN_TAKEN"]
    assert await Domain.filter(organization_id=pk_of(third.id, "Organization")).count() == 0
    # Twice in one organization: also taken.
    assert await refused(client, ADD, add_vars(first), first.owner.token) == ["DOMAIN_TAKEN"]
    assert await Domain.all().count() == 2


async def test_bad_and_expired_tokens(client, mailbox):
    org = await create_org(client)
    await mutate(client, ADD, add_vars(org), org.owner.token)
    (mail,) = await mailbox.wait_for(f"it@{DOMAIN}")
    assert await refused(client, VERIFY, {"token": "x" * 43}) == ["INVALID_TOKEN"]
    assert await refused(client, VERIFY, {"token": "not a token!"}) == ["INVALID_TOKEN"]
    await Domain.all().update(token_expires_at=datetime.now(UTC) - timedelta(seconds=1))
    assert await refused(client, VERIFY, {"token": mail.token}) == ["INVALID_TOKEN"]
    assert not (await Domain.get()).verified


async def test_verified_email_auto_joins_as_the_domain_role(client, mailbox):
    org = await create_org(client)
    await verified_domain(client, mailbox, org, autoJoin=True, autoJoinRole="VIEWER")
    token = await sign_up_and_verify(client, mailbox, "Dee@Acme-Corp.com")
    assert await memberships(client, token) == [
        {"role": "VIEWER", "status": "ACTIVE", "organization": {"id": org.id}}
    ]
    (joined,) = await events(client, org, ["member.joined"])
    assert joined["data"] == {"role": "VIEWER", "via": "domain", "domain": DOMAIN}
    assert joined["targetType"] == "Member"
    # Someone at another domain does not join.
    other = await sign_up_and_verify(client, mailbox, "dee@elsewhere.com")
    assert await memberships(client, other) == []


async def test_sign_up_with_an_invitation_also_auto_joins(client, mailbox):
    domain_org = await create_org(client, name="Domain Org")
    await verified_domain(client, mailbox, domain_org, autoJoin=True)
    inviting = await create_org(client, name="Inviting Org")
    email = "newbie@acme-corp.com"
    await mutate(
        client,
        INVITE,
        {"input": {"organizationId": inviting.id, "email": email}},
        inviting.owner.token,
    )
    (mail,) = await mailbox.wait_for(email)
    payload = await mutate(
        client,
        SIGN_UP,
        {
            "input": {
                "email": email,
                "password": PASSWORD,
                "name": "New Bie",
                "invitationToken": mail.token,
            }
        },
    )
    joined = {
        m["organization"]["id"]: m["role"] for m in await memberships(client, payload["token"])
    }
    assert joined == {domain_org.id: "USER", inviting.id: "USER"}


async def test_accepting_an_invitation_unverified_also_auto_joins(client, mailbox):
    """An existing, unverified account: accepting proves the address, so auto-join runs."""
    domain_org = await create_org(client, name="Domain Org")
    await verified_domain(client, mailbox, domain_org, autoJoin=True)
    inviting = await create_org(client, name="Inviting Org")
    person = await sign_up_by_api(client, email="late@acme-corp.com")
    assert await memberships(client, person.token) == []
    await mutate(
        client,
        INVITE,
        {"input": {"organizationId": inviting.id, "email": person.email}},
        inviting.owner.token,
    )
    mail = (await mailbox.wait_for(person.email, count=2))[-1]
    await mutate(client, ACCEPT, {"token": mail.token}, person.token)
    joined = {m["organization"]["id"]: m["role"] for m in await memberships(client, person.token)}
    assert joined == {domain_org.id: "USER", inviting.id: "USER"}


async def test_unverified_domains_and_auto_join_off_join_nobody(client, mailbox):
    pending = await create_org(client, name="Pending")
    await mutate(client, ADD, add_vars(pending, autoJoin=True), pending.owner.token)
    off = await create_org(client, name="Off")
    await verified_domain(client, mailbox, off, "beta-corp.com", autoJoin=False)

    token = await sign_up_and_verify(client, mailbox, "a@acme-corp.com")
    assert await memberships(client, token) == []
    token = await sign_up_and_verify(client, mailbox, "b@beta-corp.com")
    assert await memberships(client, token) == []
    assert await AuditEvent.filter(action__startswith="member.auto_join").count() == 0
    assert await Member.all().count() == 2  # the two owners


async def test_no_seat_no_join_and_the_skip_is_audited(client, mailbox):
    org = await create_org(client)
    await verified_domain(client, mailbox, org, autoJoin=True)
    await mutate(client, SEATS, {"id": org.id, "limit": 1}, org.owner.token)
    token = await sign_up_and_verify(client, mailbox, "late@acme-corp.com")
    assert await memberships(client, token) == []
    (skipped,) = await events(client, org, ["member.auto_join_skipped"])
    assert skipped["data"]["reason"] == "SEAT_LIMIT_REACHED"
    assert skipped["data"]["email"] == "late@acme-corp.com"
    assert skipped["targetType"] == "User"
    assert await events(client, org, ["member.joined"]) == []

    # With a seat free, the next person joins.
    await mutate(client, SEATS, {"id": org.id, "limit": 2}, org.owner.token)
    token = await sign_up_and_verify(client, mailbox, "early@acme-corp.com")
    assert [m["organization"]["id"] for m in await memberships(client, token)] == [org.id]


@pytest.mark.parametrize("status", ["REMOVED", "BLOCKED"])
async def test_removed_or_blocked_people_are_never_re_added(client, mailbox, status):
    org = await create_org(client)
    await verified_domain(client, mailbox, org, autoJoin=True)
    email = "gone@acme-corp.com"
    person = await sign_up_by_api(client, email=email)
    # Their membership ended before their address got verified (set up through the models:
    # the API verifies an address whenever someone joins).
    user = await User.get(email=email)
    await Member.create(
        organization_id=pk_of(org.id, "Organization"),
        user=user,
        name=user.name,
        email=email,
        role="USER",
        role_rank=2,
        status=status,
    )
    (mail,) = await mailbox.wait_for(email)
    await mutate(client, VERIFY_EMAIL, {"token": mail.token})
    member = await Member.get(user=user)
    assert member.status == status and member.role == "USER"
    assert await memberships(client, person.token) == []
    assert await events(client, org, ["member.joined", "member.auto_join_skipped"]) == []


async def test_a_pending_invitation_decides_instead_of_auto_join(client, mailbox):
    org = await create_org(client)
    await verified_domain(client, mailbox, org, autoJoin=True)
    email = "invited@acme-corp.com"
    person = await sign_up_by_api(client, email=email)
    await mutate(
        client,
        INVITE,
        {"input": {"organizationId": org.id, "email": email, "role": "ADMIN"}},
        org.owner.token,
    )
    mails = await mailbox.wait_for(email, count=2)
    (verify_mail,) = [m for m in mails if m.link()[0].endswith("/email/verify")]
    await mutate(client, VERIFY_EMAIL, {"token": verify_mail.token})
    assert await memberships(client, person.token) == []
    assert await events(client, org, ["member.joined"]) == []
