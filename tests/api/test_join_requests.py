"""Join requests by verified domain, over HTTP: the join policy, suggestions, requesting,
approving, denying, withdrawing, expiry, seats, concurrency, mails and the audit trail."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.ids import pk_of, to_global_id
from app.models import AuditEvent, Domain, JoinRequest, Member, OutboxMail, User
from app.models.enums import DomainJoinPolicy, JoinRequestStatus, MemberStatus
from app.services import rate_limits
from tests.support.api import (
    Org,
    Person,
    add_member,
    create_org,
    gql,
    mutate,
    ok,
    refused,
    sign_up,
    sign_up_by_api,
    top_codes,
)

DOMAIN = "joinreq-corp.com"

ADD = """
mutation($input: AddDomainInput!) {
  addDomain(input: $input) {
    errors { code field } domain { id domain autoJoin autoJoinRole joinPolicy }
  }
}"""
UPDATE = """
mutation($input: UpdateDomainInput!) {
  updateDomain(input: $input) {
    errors { code field } domain { id autoJoin autoJoinRole joinPolicy }
  }
}"""
REQUEST = """
mutation($org: ID!, $message: String) {
  requestToJoin(input: {organizationId: $org, message: $message}) {
    errors { code field message }
    joinRequest { id status message createdAt expiresAt decidedAt
      organization { id name } user { id email } }
  }
}"""
APPROVE = """
mutation($id: ID!, $role: OrganizationRole) {
  approveJoinRequest(input: {joinRequestId: $id, role: $role}) {
    errors { code field message } member { id role status email }
  }
}"""
DENY = """
mutation($id: ID!) {
  denyJoinRequest(input: {joinRequestId: $id}) {
    errors { code field } joinRequest { id status decidedAt decidedBy { id } }
  }
}"""
WITHDRAW = """
mutation($id: ID!) {
  withdrawJoinRequest(input: {joinRequestId: $id}) {
    errors { code field } joinRequest { id status decidedAt }
  }
}"""
ME = """
{ me { suggestedOrganizations { id name slug } joinRequests { id status organization { id } } } }"""
QUEUE = """
query($id: ID!, $statuses: [JoinRequestStatus!], $first: Int, $after: String) {
  organization(id: $id) {
    joinRequests(statuses: $statuses, first: $first, after: $after) {
      totalCount pageInfo { hasNextPage endCursor }
      nodes { id status message user { id email name } }
    }
  }
}"""
QUEUE_DEFAULT = """
query($id: ID!) { organization(id: $id) { joinRequests { totalCount nodes { id status } } } }"""
NODE = """
query($id: ID!) { node(id: $id) { ... on JoinRequest { id status user { email } } } }"""


# --- helpers ---------------------------------------------------------------------------------


async def policy_domain(
    org: Org, policy: str = "REQUEST", role: str = "USER", domain: str = DOMAIN
) -> Domain:
    """A verified domain of `org` with `policy`, written directly (addDomain and its mail
    are tested on their own)."""
    row = Domain(
        organization_id=pk_of(org.id, "Organization"),
        domain=domain,
        verification_email=f"it@{domain}",
        verified_at=datetime.now(UTC),
        auto_join_role=role,
    )
    row.set_join_policy(DomainJoinPolicy(policy))
    await row.save()
    return row


_people = iter(range(1, 10_000))


async def person_at(client, domain: str = DOMAIN, name: str = "Rita Requester") -> Person:
    """A verified account with an address at `domain`."""
    return await sign_up(client, email=f"person{next(_people)}@{domain}", name=name)


async def ask(client, org: Org, person: Person, message: str | None = None) -> dict:
    payload = await mutate(client, REQUEST, {"org": org.id, "message": message}, person.token)
    return payload["joinRequest"]


async def snapshot() -> dict[str, list[dict[str, Any]]]:
    """The rows a join request change could write: equal before and after = nothing written."""
    return {
        "join_requests": await JoinRequest.all().order_by("id").values(),
        "members": await Member.all().order_by("id").values(),
        "audit_events": await AuditEvent.all().order_by("id").values("id", "action"),
        "outbox": await OutboxMail.all().order_by("id").values("id", "kind"),
        "domains": await Domain.all().order_by("id").values(),
    }


async def refused_quietly(client, query: str, variables: dict, token: str) -> list[str]:
    before = await snapshot()
    codes = await refused(client, query, variables, token)
    assert await snapshot() == before
    return codes


async def actions(org: Org) -> list[str]:
    return list(
        await AuditEvent.filter(organization_id=pk_of(org.id, "Organization"))
        .order_by("id")
        .values_list("action", flat=True)
    )


async def set_seat_limit(org: Org, limit: int) -> None:
    from app.models import Organization

    await Organization.filter(id=pk_of(org.id, "Organization")).update(seat_limit=limit)


# --- the join policy -------------------------------------------------------------------------


async def test_add_domain_takes_a_join_policy_and_auto_join_means_auto_join(client, mailbox):
    org = await create_org(client)
    variables = {"organizationId": org.id, "verificationEmail": f"it@{DOMAIN}"}
    plain = await mutate(client, ADD, {"input": {**variables, "domain": DOMAIN}}, org.owner.token)
    assert plain["domain"]["joinPolicy"] == "OFF" and plain["domain"]["autoJoin"] is False
    other = "request-corp.com"
    asked = await mutate(
        client,
        ADD,
        {
            "input": {
                "organizationId": org.id,
                "domain": other,
                "verificationEmail": f"it@{other}",
                "joinPolicy": "REQUEST",
            }
        },
        org.owner.token,
    )
    assert asked["domain"]["joinPolicy"] == "REQUEST" and asked["domain"]["autoJoin"] is False
    third = "auto-corp.com"
    auto = await mutate(
        client,
        ADD,
        {
            "input": {
                "organizationId": org.id,
                "domain": third,
                "verificationEmail": f"it@{third}",
                "autoJoin": True,
            }
        },
        org.owner.token,
    )
    assert auto["domain"]["joinPolicy"] == "AUTO_JOIN" and auto["domain"]["autoJoin"] is True
    # autoJoin true with another policy contradicts itself.
    fourth = "odd-corp.com"
    codes = await refused_quietly(
        client,
        ADD,
        {
            "input": {
                "organizationId": org.id,
                "domain": fourth,
                "verificationEmail": f"it@{fourth}",
                "autoJoin": True,
                "joinPolicy": "REQUEST",
            }
        },
        org.owner.token,
    )
    assert codes == ["INVALID_INPUT"]
    added = (
        await AuditEvent.filter(action="domain.added").order_by("id").values_list("data", flat=True)
    )
    assert [d["joinPolicy"] for d in added] == ["OFF", "REQUEST", "AUTO_JOIN"]


async def test_update_domain_changes_policy_and_role_and_is_audited(client, mailbox):
    org = await create_org(client)
    domain = await policy_domain(org, "OFF")
    domain_id = to_global_id("Domain", domain.id)
    payload = await mutate(
        client,
        UPDATE,
        {"input": {"domainId": domain_id, "joinPolicy": "AUTO_JOIN", "autoJoinRole": "VIEWER"}},
        org.owner.token,
    )
    assert payload["domain"] == {
        "id": domain_id,
        "autoJoin": True,
        "autoJoinRole": "VIEWER",
        "joinPolicy": "AUTO_JOIN",
    }
    payload = await mutate(
        client, UPDATE, {"input": {"domainId": domain_id, "joinPolicy": "REQUEST"}}, org.owner.token
    )
    assert payload["domain"]["autoJoin"] is False and payload["domain"]["autoJoinRole"] == "VIEWER"
    stored = await Domain.get(id=domain.id)
    assert stored.join_policy == DomainJoinPolicy.REQUEST and stored.auto_join is False
    events = (
        await AuditEvent.filter(action="domain.updated")
        .order_by("id")
        .values_list("data", flat=True)
    )
    assert events[0]["before"] == {"joinPolicy": "OFF", "autoJoinRole": "USER"}
    assert events[0]["after"] == {"joinPolicy": "AUTO_JOIN", "autoJoinRole": "VIEWER"}
    assert events[1]["after"] == {"joinPolicy": "REQUEST"}
    # Refusals write nothing: a role people may not join with, a USER member, a stranger.
    assert await refused_quietly(
        client, UPDATE, {"input": {"domainId": domain_id, "autoJoinRole": "ADMIN"}}, org.owner.token
    ) == ["ROLE_NOT_ALLOWED"]
    user, _ = await add_member(client, mailbox, org)
    body = await gql(
        client, UPDATE, {"input": {"domainId": domain_id, "joinPolicy": "OFF"}}, user.token
    )
    assert top_codes(body) == ["FORBIDDEN"]
    stranger = await sign_up(client)
    assert await refused_quietly(
        client, UPDATE, {"input": {"domainId": domain_id, "joinPolicy": "OFF"}}, stranger.token
    ) == ["NOT_FOUND"]


async def test_off_and_auto_join_domains_take_no_requests(client, mailbox):
    org = await create_org(client)
    await policy_domain(org, "OFF")
    other = await create_org(client, name="Auto Co")
    await policy_domain(other, "AUTO_JOIN", domain="auto-join-corp.com")
    person = await person_at(client)
    assert await refused_quietly(client, REQUEST, {"org": org.id}, person.token) == [
        "JOIN_NOT_ALLOWED"
    ]
    auto_person = await person_at(client, "auto-join-corp.com")
    assert await refused_quietly(client, REQUEST, {"org": other.id}, auto_person.token) == [
        "JOIN_NOT_ALLOWED"
    ]
    data = await ok(client, ME, token=person.token)
    assert data["me"]["suggestedOrganizations"] == []


async def test_auto_join_policy_joins_as_today(client, mailbox):
    """AUTO_JOIN is today's autoJoin: the address joins when it gets verified."""
    org = await create_org(client)
    await policy_domain(org, "AUTO_JOIN", role="VIEWER")
    email = f"newcomer@{DOMAIN}"
    person = await sign_up_by_api(client, email=email)
    (mail,) = await mailbox.wait_for(email)
    await mutate(
        client,
        "mutation($t: String!) { verifyEmail(input: {token: $t}) { errors { code } user { id } } }",
        {"t": mail.token},
    )
    data = await ok(
        client, "{ me { memberships { role organization { id } } } }", token=person.token
    )
    assert data["me"]["memberships"] == [{"role": "VIEWER", "organization": {"id": org.id}}]


# --- suggestions and requests ----------------------------------------------------------------


async def test_request_domain_suggests_and_takes_one_pending_request(client, mailbox):
    org = await create_org(client, name="Request Co")
    await policy_domain(org, "REQUEST")
    person = await person_at(client)
    data = await ok(client, ME, token=person.token)
    (suggestion,) = data["me"]["suggestedOrganizations"]
    assert suggestion["name"] == "Request Co" and suggestion["id"] != org.id
    # The suggestion's id is what requestToJoin takes.
    payload = await mutate(
        client, REQUEST, {"org": suggestion["id"], "message": "  Hi, I'm in sales.  "}, person.token
    )
    request = payload["joinRequest"]
    assert request["status"] == "PENDING" and request["message"] == "Hi, I'm in sales."
    assert request["organization"] == {"id": org.id, "name": "Request Co"}
    assert request["user"] == {"id": person.user_id, "email": person.email}
    created = datetime.fromisoformat(request["createdAt"])
    assert datetime.fromisoformat(request["expiresAt"]) - created == timedelta(days=30)
    # Once asked, no more suggestion; the request is on `me`.
    data = await ok(client, ME, token=person.token)
    assert data["me"]["suggestedOrganizations"] == []
    assert data["me"]["joinRequests"] == [
        {"id": request["id"], "status": "PENDING", "organization": {"id": org.id}}
    ]
    # One pending request per person and organization.
    assert await refused_quietly(client, REQUEST, {"org": org.id}, person.token) == [
        "ALREADY_REQUESTED"
    ]
    assert await actions(org) == ["organization.created", "join_request.created"]
    event = await AuditEvent.get(action="join_request.created")
    assert event.target_type == "JoinRequest" and event.data["userId"] == person.user_id
    # ADMIN+ see the queue (with the requester's email); the requester sees the node.
    queue = (await ok(client, QUEUE_DEFAULT, {"id": org.id}, org.owner.token))["organization"]
    assert queue["joinRequests"] == {
        "totalCount": 1,
        "nodes": [{"id": request["id"], "status": "PENDING"}],
    }
    seen = await ok(client, NODE, {"id": request["id"]}, person.token)
    assert seen["node"]["user"]["email"] == person.email
    stranger = await sign_up(client)
    assert (await ok(client, NODE, {"id": request["id"]}, stranger.token))["node"] is None


async def test_nobody_else_may_request(client, mailbox):
    org = await create_org(client)
    await policy_domain(org, "REQUEST")
    # Another domain; an unverified address at the domain; an unknown organization.
    elsewhere = await sign_up(client)
    assert await refused_quietly(client, REQUEST, {"org": org.id}, elsewhere.token) == [
        "JOIN_NOT_ALLOWED"
    ]
    unverified = await sign_up_by_api(client, email=f"fresh@{DOMAIN}")
    assert await refused_quietly(client, REQUEST, {"org": org.id}, unverified.token) == [
        "JOIN_NOT_ALLOWED"
    ]
    assert (await ok(client, ME, token=unverified.token))["me"]["suggestedOrganizations"] == []
    person = await person_at(client)
    unknown = to_global_id("Organization", 999_999)
    assert await refused_quietly(client, REQUEST, {"org": unknown}, person.token) == ["NOT_FOUND"]
    # A domain verified by nobody does not count.
    other = await create_org(client, name="Unverified Co")
    row = await policy_domain(other, "REQUEST", domain="unverified-corp.com")
    await Domain.filter(id=row.id).update(verified_at=None)
    late = await person_at(client, "unverified-corp.com")
    assert await refused_quietly(client, REQUEST, {"org": other.id}, late.token) == [
        "JOIN_NOT_ALLOWED"
    ]
    # Anonymous callers and API keys: not a person.
    body = await gql(client, REQUEST, {"org": org.id})
    assert top_codes(body) == ["UNAUTHENTICATED"]


async def test_members_removed_and_blocked_people_get_no_suggestion_and_cannot_request(
    client, mailbox
):
    org = await create_org(client)
    await policy_domain(org, "REQUEST")
    member, _ = await add_member(client, mailbox, org, email=f"member@{DOMAIN}")
    removed, removed_id = await add_member(client, mailbox, org, email=f"removed@{DOMAIN}")
    blocked, blocked_id = await add_member(client, mailbox, org, email=f"blocked@{DOMAIN}")
    await Member.filter(id=pk_of(removed_id, "Member")).update(status=MemberStatus.REMOVED)
    await Member.filter(id=pk_of(blocked_id, "Member")).update(status=MemberStatus.BLOCKED)
    for person in (member, removed, blocked):
        assert (await ok(client, ME, token=person.token))["me"]["suggestedOrganizations"] == []
    assert await refused_quietly(client, REQUEST, {"org": org.id}, member.token) == [
        "ALREADY_MEMBER"
    ]
    for person in (removed, blocked):
        assert await refused_quietly(client, REQUEST, {"org": org.id}, person.token) == [
            "JOIN_NOT_ALLOWED"
        ]


# --- decisions -------------------------------------------------------------------------------


async def test_approve_joins_with_the_domain_role_and_mails_the_decision(client, mailbox):
    org = await create_org(client, name="Approve Co")
    await policy_domain(org, "REQUEST", role="VIEWER")
    person = await person_at(client)
    request = await ask(client, org, person, "please")
    payload = await mutate(client, APPROVE, {"id": request["id"]}, org.owner.token)
    assert payload["member"]["role"] == "VIEWER" and payload["member"]["status"] == "ACTIVE"
    assert payload["member"]["email"] == person.email
    data = await ok(
        client, "{ me { memberships { role organization { id } } } }", token=person.token
    )
    assert data["me"]["memberships"] == [{"role": "VIEWER", "organization": {"id": org.id}}]
    stored = await JoinRequest.get(id=pk_of(request["id"], "JoinRequest"))
    assert stored.status == JoinRequestStatus.APPROVED and stored.decided_at is not None
    owner_member = await Member.get(organization_id=pk_of(org.id, "Organization"), role="OWNER")
    assert stored.decided_by_id == owner_member.id
    assert await actions(org) == [
        "organization.created",
        "join_request.created",
        "join_request.approved",
        "member.joined",
    ]
    joined = await AuditEvent.get(action="member.joined")
    assert joined.data["via"] == "join_request"
    assert joined.data["joinRequestId"] == request["id"]
    # The mail reaches the SMTP sink with the decision's link, which opens its page.
    (mail,) = await mailbox.wait_for(person.email)
    assert "Approve Co" in mail.subject
    url, token = mail.link()
    assert url == "http://roster.test/join-requests/decision"
    page = await client.get("/join-requests/decision", params={"token": token})
    assert page.status == 200
    html = await page.text()
    assert "Approve Co" in html and "approved" in html and "VIEWER" in html
    bad = await client.get("/join-requests/decision", params={"token": "nope"})
    assert bad.status == 404
    # Decided: it cannot change any more.
    for query, variables, token_ in (
        (APPROVE, {"id": request["id"]}, org.owner.token),
        (DENY, {"id": request["id"]}, org.owner.token),
        (WITHDRAW, {"id": request["id"]}, person.token),
    ):
        assert await refused_quietly(client, query, variables, token_) == ["REQUEST_NOT_PENDING"]


async def test_approve_role_follows_the_invitation_rules(client, mailbox):
    org = await create_org(client)
    await policy_domain(org, "REQUEST")
    admin, _ = await add_member(client, mailbox, org, role="ADMIN")
    user, _ = await add_member(client, mailbox, org, role="USER")
    person = await person_at(client)
    request = await ask(client, org, person)
    assert await refused_quietly(
        client, APPROVE, {"id": request["id"], "role": "OWNER"}, org.owner.token
    ) == ["ROLE_NOT_ALLOWED"]
    assert await refused_quietly(
        client, APPROVE, {"id": request["id"], "role": "ADMIN"}, admin.token
    ) == ["FORBIDDEN_ROLE"]
    body = await gql(client, APPROVE, {"id": request["id"]}, user.token)
    assert top_codes(body) == ["FORBIDDEN"]
    stranger = await sign_up(client)
    assert await refused_quietly(client, APPROVE, {"id": request["id"]}, stranger.token) == [
        "NOT_FOUND"
    ]
    # USER and VIEWER members do not see the queue.
    body = await gql(client, QUEUE_DEFAULT, {"id": org.id}, user.token)
    assert top_codes(body) == ["FORBIDDEN"] and body["data"]["organization"]["joinRequests"] is None
    # The owner may grant ADMIN.
    payload = await mutate(client, APPROVE, {"id": request["id"], "role": "ADMIN"}, org.owner.token)
    assert payload["member"]["role"] == "ADMIN"


async def test_deny_mails_the_decision_and_a_new_request_may_follow(client, mailbox):
    org = await create_org(client, name="Deny Co")
    await policy_domain(org, "REQUEST")
    admin, admin_id = await add_member(client, mailbox, org, role="ADMIN")
    person = await person_at(client)
    request = await ask(client, org, person)
    payload = await mutate(client, DENY, {"id": request["id"]}, admin.token)
    assert payload["joinRequest"]["status"] == "DENIED"
    assert payload["joinRequest"]["decidedBy"] == {"id": admin_id}
    (mail,) = await mailbox.wait_for(person.email)
    assert "Deny Co" in mail.subject and "declined" in mail.text
    page = await client.get("/join-requests/decision", params={"token": mail.token})
    assert page.status == 200 and "declined" in await page.text()
    assert not await Member.exists(
        user_id=pk_of(person.user_id, "User"), organization_id=pk_of(org.id, "Organization")
    )
    assert await refused_quietly(client, APPROVE, {"id": request["id"]}, admin.token) == [
        "REQUEST_NOT_PENDING"
    ]
    assert "join_request.denied" in await actions(org)
    # A denied person may ask again (the admins decide again).
    again = await ask(client, org, person)
    assert again["status"] == "PENDING"


async def test_withdraw_is_the_requesters_alone(client, mailbox):
    org = await create_org(client)
    await policy_domain(org, "REQUEST")
    person = await person_at(client)
    other = await person_at(client)
    request = await ask(client, org, person)
    assert await refused_quietly(client, WITHDRAW, {"id": request["id"]}, other.token) == [
        "NOT_FOUND"
    ]
    assert await refused_quietly(client, WITHDRAW, {"id": request["id"]}, org.owner.token) == [
        "FORBIDDEN_ROLE"
    ]
    payload = await mutate(client, WITHDRAW, {"id": request["id"]}, person.token)
    assert payload["joinRequest"]["status"] == "WITHDRAWN"
    assert payload["joinRequest"]["decidedAt"] is not None
    assert await refused_quietly(client, APPROVE, {"id": request["id"]}, org.owner.token) == [
        "REQUEST_NOT_PENDING"
    ]
    assert (await actions(org))[-1] == "join_request.withdrawn"
    assert mailbox.to(person.email) == []  # nobody is mailed a withdrawal


async def test_a_request_expires_after_30_days(client, mailbox):
    org = await create_org(client)
    await policy_domain(org, "REQUEST")
    person = await person_at(client)
    request = await ask(client, org, person)
    pk = pk_of(request["id"], "JoinRequest")
    long_ago = datetime.now(UTC) - timedelta(days=31)
    await JoinRequest.filter(id=pk).update(
        created_at=long_ago, expires_at=long_ago + timedelta(days=30)
    )
    seen = await ok(client, NODE, {"id": request["id"]}, person.token)
    assert seen["node"]["status"] == "EXPIRED"
    for query, token in (
        (APPROVE, org.owner.token),
        (DENY, org.owner.token),
        (WITHDRAW, person.token),
    ):
        assert await refused_quietly(client, query, {"id": request["id"]}, token) == [
            "REQUEST_NOT_PENDING"
        ]
    queue = await ok(client, QUEUE, {"id": org.id, "statuses": ["EXPIRED"]}, org.owner.token)
    assert [n["id"] for n in queue["organization"]["joinRequests"]["nodes"]] == [request["id"]]
    pending = await ok(client, QUEUE_DEFAULT, {"id": org.id}, org.owner.token)
    assert pending["organization"]["joinRequests"]["totalCount"] == 0
    # Expired, the person is suggested the organization again and may ask anew.
    assert len((await ok(client, ME, token=person.token))["me"]["suggestedOrganizations"]) == 1
    fresh = await ask(client, org, person)
    assert fresh["status"] == "PENDING"
    assert (await JoinRequest.get(id=pk)).status == JoinRequestStatus.EXPIRED


async def test_the_queue_pages_oldest_first(client, mailbox):
    org = await create_org(client)
    await policy_domain(org, "REQUEST")
    ids = [(await ask(client, org, await person_at(client)))["id"] for _ in range(5)]
    seen: list[str] = []
    after = None
    while True:
        data = await ok(client, QUEUE, {"id": org.id, "first": 2, "after": after}, org.owner.token)
        page = data["organization"]["joinRequests"]
        assert page["totalCount"] == 5
        seen += [n["id"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == ids


# --- seats and concurrency -------------------------------------------------------------------


async def test_approval_is_refused_at_the_seat_limit(client, mailbox):
    org = await create_org(client)
    await policy_domain(org, "REQUEST")
    person = await person_at(client)
    request = await ask(client, org, person)
    await set_seat_limit(org, 1)  # the owner holds it
    assert await refused_quietly(client, APPROVE, {"id": request["id"]}, org.owner.token) == [
        "SEAT_LIMIT_REACHED"
    ]
    await set_seat_limit(org, 2)
    await mutate(client, APPROVE, {"id": request["id"]}, org.owner.token)


async def payload_of(client, query: str, variables: dict, token: str) -> dict:
    body = await gql(client, query, variables, token)
    assert "errors" not in body, body
    (payload,) = body["data"].values()
    return payload


async def test_concurrent_approvals_take_exactly_the_free_seats(client, mailbox):
    org = await create_org(client)
    await policy_domain(org, "REQUEST")
    requests = [await ask(client, org, await person_at(client)) for _ in range(10)]
    free = 4
    await set_seat_limit(org, 1 + free)
    payloads = await asyncio.gather(
        *(payload_of(client, APPROVE, {"id": r["id"]}, org.owner.token) for r in requests)
    )
    codes = sorted(tuple(e["code"] for e in p["errors"]) for p in payloads)
    assert codes == [()] * free + [("SEAT_LIMIT_REACHED",)] * (10 - free)
    org_pk = pk_of(org.id, "Organization")
    assert (
        await Member.filter(organization_id=org_pk, status=MemberStatus.ACTIVE).count() == 1 + free
    )
    assert await JoinRequest.filter(status=JoinRequestStatus.APPROVED).count() == free
    assert await JoinRequest.filter(status=JoinRequestStatus.PENDING).count() == 10 - free
    assert await AuditEvent.filter(action="member.joined").count() == free


async def test_concurrent_requests_by_one_person_make_one_pending(client, mailbox):
    org = await create_org(client)
    await policy_domain(org, "REQUEST")
    person = await person_at(client)
    payloads = await asyncio.gather(
        *(payload_of(client, REQUEST, {"org": org.id}, person.token) for _ in range(10))
    )
    codes = sorted(tuple(e["code"] for e in p["errors"]) for p in payloads)
    assert codes == [()] + [("ALREADY_REQUESTED",)] * 9
    assert await JoinRequest.filter(status=JoinRequestStatus.PENDING).count() == 1
    assert await AuditEvent.filter(action="join_request.created").count() == 1


@pytest.mark.parametrize("settings_overrides", [{"rate_limits": True}])
async def test_request_to_join_is_rate_limited_per_account(client, mailbox, monkeypatch):
    from app.services import join_requests

    monkeypatch.setattr(
        join_requests, "JOIN_REQUESTS", rate_limits.Limit("join_requests", 2, timedelta(hours=1))
    )
    person = await person_at(client)
    orgs = []
    for index in range(3):
        org = await create_org(client, name=f"Org {index}")
        await policy_domain(org, "REQUEST", domain=DOMAIN if index == 0 else f"d{index}.com")
        orgs.append(org)
    # One person's address matches one domain: ask, withdraw, ask again, then the limit.
    first = await ask(client, orgs[0], person)
    await mutate(client, WITHDRAW, {"id": first["id"]}, person.token)
    second = await ask(client, orgs[0], person)
    await mutate(client, WITHDRAW, {"id": second["id"]}, person.token)
    assert await refused_quietly(client, REQUEST, {"org": orgs[0].id}, person.token) == [
        "RATE_LIMITED"
    ]
    assert await User.exists(id=pk_of(person.user_id, "User"))


QUEUE_FULL = """
query($id: ID!, $first: Int!) {
  organization(id: $id) {
    joinRequests(first: $first) {
      totalCount
      nodes { id status message user { id name email } organization { id name } decidedBy { id } }
    }
  }
}"""


async def test_the_queue_costs_the_same_statements_for_3_and_30_requests(client, mailbox):
    from tests.support.sqlcount import count_statements

    org = await create_org(client)
    await policy_domain(org, "REQUEST")
    for _ in range(30):
        await ask(client, org, await person_at(client))
    counts = []
    await gql(client, QUEUE_FULL, {"id": org.id, "first": 1}, org.owner.token)  # warm up
    for first in (3, 30):
        with count_statements() as sql:
            body = await gql(client, QUEUE_FULL, {"id": org.id, "first": first}, org.owner.token)
        assert "errors" not in body, body
        assert len(body["data"]["organization"]["joinRequests"]["nodes"]) == first
        counts.append(sql.count)
    assert counts[0] == counts[1], counts


async def test_decided_by_follows_the_deciders_expiry(client, mailbox):
    """`decidedBy` is a member read like any other: past their `expiresAt` (not yet swept)
    the decider is REMOVED, which a USER does not see (the same rule as `node`)."""
    org = await create_org(client, name="Expiry Co")
    await policy_domain(org, "REQUEST")
    admin, admin_id = await add_member(client, mailbox, org, role="ADMIN")
    person = await person_at(client)
    request = await ask(client, org, person)
    await mutate(client, APPROVE, {"id": request["id"]}, admin.token)  # person: a USER now
    mine = "{ me { joinRequests { id decidedBy { id } } } }"
    body = await gql(client, mine, None, person.token)
    assert body["data"]["me"]["joinRequests"] == [
        {"id": request["id"], "decidedBy": {"id": admin_id}}
    ]
    past = datetime.now(UTC) - timedelta(minutes=1)
    await Member.filter(id=pk_of(admin_id, "Member")).update(expires_at=past)
    body = await gql(client, mine, None, person.token)
    assert body["data"]["me"]["joinRequests"] == [{"id": request["id"], "decidedBy": None}]
    direct = await gql(
        client, "query($id: ID!) { node(id: $id) { id } }", {"id": admin_id}, person.token
    )
    assert direct["data"]["node"] is None  # the same answer as a direct read
