"""inviteMember / inviteMembers rules, the invitation mail, listing, preview, pending list."""

from __future__ import annotations

import asyncio
import html
from datetime import UTC, datetime, timedelta

import pytest

from app.services import rate_limits
from tests.support.api import (
    add_member,
    add_member_by_invitation,
    create_org,
    gql,
    mutate,
    ok,
    sign_up,
    sign_up_by_api,
    top_codes,
    unique_email,
)
from tests.support.invitations import (
    INVITATIONS,
    INVITE,
    INVITE_MANY,
    PREVIEW,
    REVOKE,
    expire,
    invitation,
    invite,
    invite_refused,
    org_state,
    parse_time,
    set_org,
    token_for,
)

ME_PENDING = """
{ me { email emailVerified pendingInvitations { id email status organization { name } } } }"""
VERIFY = """
mutation($token: String!) { verifyEmail(input: {token: $token}) { errors { code } user { id } } }"""
UPDATE_MEMBER = """
mutation($id: ID!, $username: String) {
  updateMember(input: {memberId: $id, username: $username}) { errors { code } member { id } }
}"""


def close_to(value: str, expected: datetime, slack: timedelta = timedelta(minutes=1)) -> bool:
    return abs(parse_time(value) - expected) < slack


async def assert_nothing_written(client, org, before) -> None:
    assert await org_state(client, org) == before


# --- the happy path and the mail -------------------------------------------------------------


async def test_invite_member_creates_a_pending_invitation_and_mails_it(client, mailbox):
    org = await create_org(client, name="Acme <Labs>")
    email = unique_email("invitee")
    before = await org_state(client, org)
    created = await invite(
        client, org, email, role="VIEWER", message="Welcome <b>aboard</b> & enjoy", username="vic"
    )
    assert created["email"] == email
    assert created["role"] == "VIEWER"
    assert created["status"] == "PENDING"
    assert created["username"] == "vic"
    assert created["message"] == "Welcome <b>aboard</b> & enjoy"
    assert created["sendCount"] == 1
    assert created["acceptedAt"] is None
    assert created["invitedBy"]["name"] == "Olive Owner"
    assert created["organization"]["id"] == org.id
    assert close_to(created["expiresAt"], datetime.now(UTC) + timedelta(days=7))

    (mail,) = await mailbox.wait_for(email)
    assert "Acme <Labs>" in mail.subject and "Olive Owner" in mail.subject
    url, token = mail.link()
    assert url == "http://roster.test/invitations/accept"
    assert len(token) >= 43
    text = mail.text
    assert "Acme <Labs>" in text and "Olive Owner" in text and "VIEWER" in text
    assert "Welcome <b>aboard</b> & enjoy" in text
    expires = parse_time(created["expiresAt"]).strftime("%Y-%m-%d")
    assert expires in text
    page = mail.html
    assert html.escape("Welcome <b>aboard</b> & enjoy") in page
    assert "<b>aboard</b>" not in page
    assert html.escape("Acme <Labs>") in page and expires in page

    # Delivery is read from the outbox: SENT with sentAt once the worker delivered it.
    for _ in range(100):
        current = await invitation(client, org, created["id"])
        if current["deliveryStatus"] == "SENT":
            break
        await asyncio.sleep(0.05)
    assert current["deliveryStatus"] == "SENT"
    assert current["sentAt"] is not None

    after = await org_state(client, org)
    assert after["invitations"] == before["invitations"] + 1
    assert after["audit"] == before["audit"] + 1


async def test_invitation_without_message_mails_no_message_and_no_placeholder(client, mailbox):
    org = await create_org(client)
    email = unique_email()
    created = await invite(client, org, email)
    assert created["message"] is None
    (mail,) = await mailbox.wait_for(email)
    assert "$" not in mail.text and "None" not in mail.text
    assert "USER" in mail.text


async def test_blank_message_is_stored_as_none(client):
    org = await create_org(client)
    created = await invite(client, org, unique_email(), message="   ")
    assert created["message"] is None


async def test_too_long_message_is_invalid_input_and_nothing_written(client):
    org = await create_org(client)
    before = await org_state(client, org)
    codes = await invite_refused(client, org, unique_email(), message="x" * 2001)
    assert codes == ["INVALID_INPUT"]
    await assert_nothing_written(client, org, before)


# --- lifetime ---------------------------------------------------------------------------------


async def test_default_lifetime_is_the_organizations_ttl(client):
    org = await create_org(client)
    await set_org(client, org, invitationTtlDays=3)
    created = await invite(client, org, unique_email())
    assert close_to(created["expiresAt"], datetime.now(UTC) + timedelta(days=3))


@pytest.mark.parametrize("days", [1, 30])
async def test_expires_in_days_bounds_are_accepted(client, days):
    org = await create_org(client)
    created = await invite(client, org, unique_email(), expiresInDays=days)
    assert close_to(created["expiresAt"], datetime.now(UTC) + timedelta(days=days))


@pytest.mark.parametrize("days", [0, 31, -1, 10_000])
async def test_expires_in_days_out_of_range_is_invalid_input(client, mailbox, days):
    org = await create_org(client)
    email = unique_email()
    before = await org_state(client, org)
    body = await ok(
        client,
        INVITE,
        {"input": {"organizationId": org.id, "email": email, "expiresInDays": days}},
        org.owner.token,
    )
    payload = body["inviteMember"]
    assert [e["code"] for e in payload["errors"]] == ["INVALID_INPUT"]
    assert payload["errors"][0]["field"] == ["expiresInDays"]
    assert payload["invitation"] is None
    await assert_nothing_written(client, org, before)
    assert mailbox.to(email) == []


# --- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "email",
    ["not-an-email", "", "   ", "a@", "@example.com", "a b@example.com", "x" * 250 + "@e.co"],
)
async def test_invalid_email_is_refused(client, email):
    org = await create_org(client)
    before = await org_state(client, org)
    assert await invite_refused(client, org, email) == ["INVALID_EMAIL"]
    await assert_nothing_written(client, org, before)


async def test_emails_are_trimmed_and_compared_case_insensitively(client):
    org = await create_org(client)
    created = await invite(client, org, "  Mixed.Case@Example.COM ")
    assert created["email"] == "mixed.case@example.com"
    before = await org_state(client, org)
    assert await invite_refused(client, org, "MIXED.case@example.com") == ["ALREADY_INVITED"]
    await assert_nothing_written(client, org, before)


async def test_active_member_and_owner_are_already_members(client, mailbox):
    org = await create_org(client)
    person, _ = await add_member(client, mailbox, org)
    before = await org_state(client, org)
    assert await invite_refused(client, org, person.email) == ["ALREADY_MEMBER"]
    assert await invite_refused(client, org, org.owner.email.upper()) == ["ALREADY_MEMBER"]
    await assert_nothing_written(client, org, before)


async def test_blocked_member_is_already_member_but_removed_one_can_be_invited(client, mailbox):
    from tests.support.invitations import BLOCK, REMOVE

    org = await create_org(client)
    blocked, blocked_id = await add_member(client, mailbox, org, name="Bo Blocked")
    removed, removed_id = await add_member(client, mailbox, org, name="Rae Removed")
    await mutate(client, BLOCK, {"id": blocked_id}, org.owner.token)
    await mutate(client, REMOVE, {"id": removed_id}, org.owner.token)
    before = await org_state(client, org)
    assert await invite_refused(client, org, blocked.email) == ["ALREADY_MEMBER"]
    await assert_nothing_written(client, org, before)
    again = await invite(client, org, removed.email)
    assert again["status"] == "PENDING"


async def test_second_pending_invitation_is_already_invited(client, mailbox):
    org = await create_org(client)
    email = unique_email()
    await invite(client, org, email)
    await mailbox.wait_for(email)
    before = await org_state(client, org)
    assert await invite_refused(client, org, email, role="VIEWER") == ["ALREADY_INVITED"]
    await assert_nothing_written(client, org, before)
    await asyncio.sleep(0.4)  # the outbox worker polls every 0.2 s
    assert len(mailbox.to(email)) == 1


async def test_revoked_or_expired_invitation_does_not_block_a_new_one(client):
    org = await create_org(client)
    email = unique_email()
    first = await invite(client, org, email)
    await mutate(client, REVOKE, {"id": first["id"]}, org.owner.token)
    second = await invite(client, org, email)
    await expire(second["id"])
    third = await invite(client, org, email)
    assert third["status"] == "PENDING"
    assert (await invitation(client, org, second["id"]))["status"] == "EXPIRED"


async def test_username_taken_by_pending_invitation_or_member(client, mailbox):
    org = await create_org(client)
    _, member_id = await add_member(client, mailbox, org)
    await mutate(client, UPDATE_MEMBER, {"id": member_id, "username": "mia"}, org.owner.token)
    await invite(client, org, unique_email(), username="vic")
    before = await org_state(client, org)
    assert await invite_refused(client, org, unique_email(), username="VIC") == ["USERNAME_TAKEN"]
    assert await invite_refused(client, org, unique_email(), username="Mia") == ["USERNAME_TAKEN"]
    await assert_nothing_written(client, org, before)
    assert (await invite(client, org, unique_email(), username="other"))["username"] == "other"


async def test_username_of_expired_invitation_is_free_again(client):
    org = await create_org(client)
    old = await invite(client, org, unique_email(), username="vic")
    await expire(old["id"])
    assert (await invite(client, org, unique_email(), username="vic"))["username"] == "vic"


async def test_owner_role_is_never_invited(client):
    org = await create_org(client)
    before = await org_state(client, org)
    assert await invite_refused(client, org, unique_email(), role="OWNER") == ["ROLE_NOT_ALLOWED"]
    await assert_nothing_written(client, org, before)


async def test_only_the_owner_invites_admins(client, mailbox):
    org = await create_org(client)
    admin, _ = await add_member(client, mailbox, org, role="ADMIN", name="Ada Admin")
    before = await org_state(client, org)
    codes = await invite_refused(client, org, unique_email(), token=admin.token, role="ADMIN")
    assert codes == ["FORBIDDEN_ROLE"]
    codes = await invite_refused(client, org, unique_email(), token=admin.token, role="OWNER")
    assert codes == ["ROLE_NOT_ALLOWED"]
    await assert_nothing_written(client, org, before)
    by_admin = await invite(client, org, unique_email(), token=admin.token, role="USER")
    assert by_admin["invitedBy"]["name"] == "Ada Admin"
    assert (await invite(client, org, unique_email(), role="ADMIN"))["role"] == "ADMIN"


async def test_allowed_email_domains_restrict_invitations(client):
    org = await create_org(client)
    await set_org(client, org, allowedEmailDomains=["acme.com", "acme.org"])
    before = await org_state(client, org)
    assert await invite_refused(client, org, "eve@evil.com") == ["DOMAIN_NOT_ALLOWED"]
    assert await invite_refused(client, org, "eve@sub.acme.com") == ["DOMAIN_NOT_ALLOWED"]
    await assert_nothing_written(client, org, before)
    assert (await invite(client, org, "Bob@ACME.com"))["email"] == "bob@acme.com"
    await set_org(client, org, allowedEmailDomains=[])
    assert (await invite(client, org, "eve@evil.com"))["status"] == "PENDING"


async def test_invite_needs_admin_role_and_membership(client, mailbox):
    org = await create_org(client)
    user, _ = await add_member(client, mailbox, org, role="USER")
    stranger = await sign_up(client)
    variables = {"input": {"organizationId": org.id, "email": unique_email()}}
    before = await org_state(client, org)
    assert top_codes(await gql(client, INVITE, variables, user.token)) == ["FORBIDDEN"]
    assert top_codes(await gql(client, INVITE, variables)) == ["UNAUTHENTICATED"]
    data = await ok(client, INVITE, variables, stranger.token)
    assert [e["code"] for e in data["inviteMember"]["errors"]] == ["NOT_FOUND"]
    await assert_nothing_written(client, org, before)


async def test_unknown_project_in_assignments_is_not_found(client):
    org = await create_org(client)
    other = await create_org(client, name="Other")
    from app.ids import pk_of, to_global_id
    from app.models import Project

    foreign = await Project.create(
        organization_id=pk_of(other.id, "Organization"), name="Theirs", slug="theirs"
    )
    before = await org_state(client, org)
    codes = await invite_refused(
        client,
        org,
        unique_email(),
        projectAssignments=[{"projectId": to_global_id("Project", foreign.id), "role": "USE"}],
    )
    assert codes == ["NOT_FOUND"]
    await assert_nothing_written(client, org, before)


# --- inviteMembers ----------------------------------------------------------------------------


async def test_invite_members_answers_each_email_on_its_own(client, mailbox):
    org = await create_org(client)
    member, _ = await add_member_by_invitation(client, mailbox, org)
    good1, good2 = unique_email("bulk"), unique_email("bulk")
    emails = [good1, "broken", member.email, good2, good1.upper()]
    payload = await mutate(
        client,
        INVITE_MANY,
        {"input": {"organizationId": org.id, "emails": emails, "role": "VIEWER", "message": "hi"}},
        org.owner.token,
    )
    results = payload["results"]
    assert [r["email"] for r in results] == emails
    codes = [[e["code"] for e in r["errors"]] for r in results]
    assert codes == [[], ["INVALID_EMAIL"], ["ALREADY_MEMBER"], [], ["ALREADY_INVITED"]]
    for result in results:
        assert (result["invitation"] is None) == bool(result["errors"])
    assert results[0]["invitation"]["role"] == "VIEWER"
    assert results[3]["invitation"]["message"] == "hi"
    await mailbox.wait_for(good1)
    await mailbox.wait_for(good2)
    listed = await ok(client, INVITATIONS, {"id": org.id}, org.owner.token)
    # The member's own invitation (accepted) plus the two new ones.
    assert listed["organization"]["invitations"]["totalCount"] == 3


async def test_invite_members_checks_every_email_for_role_and_lifetime(client):
    org = await create_org(client)
    before = await org_state(client, org)
    payload = await mutate(
        client,
        INVITE_MANY,
        {"input": {"organizationId": org.id, "emails": [unique_email()], "expiresInDays": 31}},
        org.owner.token,
    )
    assert [e["code"] for e in payload["results"][0]["errors"]] == ["INVALID_INPUT"]
    payload = await mutate(
        client,
        INVITE_MANY,
        {"input": {"organizationId": org.id, "emails": [unique_email()], "role": "OWNER"}},
        org.owner.token,
    )
    assert [e["code"] for e in payload["results"][0]["errors"]] == ["ROLE_NOT_ALLOWED"]
    await assert_nothing_written(client, org, before)


async def test_invite_members_refuses_more_than_100_emails(client):
    org = await create_org(client)
    before = await org_state(client, org)
    emails = [f"many{i}@example.com" for i in range(101)]
    body = await ok(
        client,
        INVITE_MANY,
        {"input": {"organizationId": org.id, "emails": emails}},
        org.owner.token,
    )
    payload = body["inviteMembers"]
    assert [e["code"] for e in payload["errors"]] == ["INVALID_INPUT"]
    assert payload["results"] is None
    await assert_nothing_written(client, org, before)


async def test_invite_members_needs_admin(client, mailbox):
    org = await create_org(client)
    user, _ = await add_member(client, mailbox, org, role="USER")
    variables = {"input": {"organizationId": org.id, "emails": [unique_email()]}}
    assert top_codes(await gql(client, INVITE_MANY, variables, user.token)) == ["FORBIDDEN"]


# --- Organization.invitations -----------------------------------------------------------------


async def test_invitations_filter_by_status_including_expired(client):
    org = await create_org(client)
    pending = await invite(client, org, "p@example.com")
    expired = await invite(client, org, "e@example.com")
    revoked = await invite(client, org, "r@example.com")
    await expire(expired["id"])
    await mutate(client, REVOKE, {"id": revoked["id"]}, org.owner.token)

    async def emails(statuses):
        data = await ok(client, INVITATIONS, {"id": org.id, "statuses": statuses}, org.owner.token)
        return sorted(n["email"] for n in data["organization"]["invitations"]["nodes"])

    assert await emails(["PENDING"]) == ["p@example.com"]
    assert await emails(["EXPIRED"]) == ["e@example.com"]
    assert await emails(["REVOKED"]) == ["r@example.com"]
    assert await emails(["PENDING", "REVOKED"]) == ["p@example.com", "r@example.com"]
    assert await emails(["ACCEPTED"]) == []
    assert await emails(None) == ["e@example.com", "p@example.com", "r@example.com"]
    data = await ok(client, INVITATIONS, {"id": org.id, "statuses": ["EXPIRED"]}, org.owner.token)
    assert data["organization"]["invitations"]["nodes"][0]["status"] == "EXPIRED"
    assert pending["status"] == "PENDING"


async def test_invitations_search_email(client):
    org = await create_org(client)
    await invite(client, org, "alice@wonder.land")
    await invite(client, org, "bob@builder.org")
    data = await ok(client, INVITATIONS, {"id": org.id, "search": "WONDER"}, org.owner.token)
    nodes = data["organization"]["invitations"]["nodes"]
    assert [n["email"] for n in nodes] == ["alice@wonder.land"]
    assert data["organization"]["invitations"]["totalCount"] == 1


@pytest.mark.parametrize("direction", ["ASC", "DESC"])
@pytest.mark.parametrize("field", ["EMAIL", "CREATED_AT", "EXPIRES_AT"])
async def test_invitations_order_and_cursor_pagination(client, field, direction):
    org = await create_org(client)
    # Created in this order, with emails and lifetimes that sort differently.
    specs = [("c@example.com", 5), ("a@example.com", 9), ("d@example.com", 2), ("b@example.com", 7)]
    for email, days in specs:
        await invite(client, org, email, expiresInDays=days)
    by_field = {
        "EMAIL": sorted(specs, key=lambda s: s[0]),
        "CREATED_AT": specs,
        "EXPIRES_AT": sorted(specs, key=lambda s: s[1]),
    }[field]
    expected = [s[0] for s in by_field]
    if direction == "DESC":
        expected.reverse()
    seen, after = [], None
    while True:
        data = await ok(
            client,
            INVITATIONS,
            {
                "id": org.id,
                "first": 3,
                "after": after,
                "orderBy": {"field": field, "direction": direction},
            },
            org.owner.token,
        )
        page = data["organization"]["invitations"]
        assert page["totalCount"] == 4
        seen += [n["email"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == expected


async def test_invitations_default_order_is_newest_first(client):
    org = await create_org(client)
    for email in ["one@example.com", "two@example.com", "three@example.com"]:
        await invite(client, org, email)
    data = await ok(client, INVITATIONS, {"id": org.id}, org.owner.token)
    emails = [n["email"] for n in data["organization"]["invitations"]["nodes"]]
    assert emails == ["three@example.com", "two@example.com", "one@example.com"]


async def test_invitations_are_admin_only(client, mailbox):
    org = await create_org(client)
    await invite(client, org, unique_email())
    user, _ = await add_member_by_invitation(client, mailbox, org, role="USER")
    admin, _ = await add_member_by_invitation(client, mailbox, org, role="ADMIN")
    body = await gql(client, INVITATIONS, {"id": org.id}, user.token)
    assert top_codes(body) == ["FORBIDDEN"]
    data = await ok(client, INVITATIONS, {"id": org.id}, admin.token)
    assert data["organization"]["invitations"]["totalCount"] == 3


async def test_invitation_node_is_invisible_to_users_and_strangers(client, mailbox):
    from tests.support.invitations import NODE

    org = await create_org(client)
    created = await invite(client, org, unique_email())
    user, _ = await add_member(client, mailbox, org, role="USER")
    stranger = await sign_up(client)
    assert (await ok(client, NODE, {"id": created["id"]}, user.token))["node"] is None
    assert (await ok(client, NODE, {"id": created["id"]}, stranger.token))["node"] is None


# --- invitationByToken ------------------------------------------------------------------------


async def test_invitation_by_token_is_an_anonymous_preview(client, mailbox):
    org = await create_org(client, name="Preview Co")
    email = unique_email()
    created = await invite(client, org, email, role="VIEWER")
    token = await token_for(mailbox, email)
    data = await ok(client, PREVIEW, {"token": token})
    assert data["invitationByToken"] == {
        "organizationName": "Preview Co",
        "email": email,
        "role": "VIEWER",
        "status": "PENDING",
        "expiresAt": created["expiresAt"],
        "invitedByName": "Olive Owner",
    }
    await expire(created["id"])
    data = await ok(client, PREVIEW, {"token": token})
    assert data["invitationByToken"]["status"] == "EXPIRED"


@pytest.mark.parametrize("token", ["nope", "A" * 43, "", "é" * 50, "x" * 5000])
async def test_invitation_by_token_is_null_for_unknown_tokens(client, token):
    assert (await ok(client, PREVIEW, {"token": token}))["invitationByToken"] is None


# --- me.pendingInvitations --------------------------------------------------------------------


async def test_pending_invitations_appear_once_the_email_is_verified(client, mailbox):
    org = await create_org(client, name="Pending Co")
    person = await sign_up_by_api(client)
    verify_token = await token_for(mailbox, person.email)
    created = await invite(client, org, person.email)
    expired = await invite(client, await create_org(client, name="Old"), person.email)
    await expire(expired["id"])
    me = (await ok(client, ME_PENDING, token=person.token))["me"]
    assert me["emailVerified"] is False
    assert me["pendingInvitations"] == []
    await mutate(client, VERIFY, {"token": verify_token})
    me = (await ok(client, ME_PENDING, token=person.token))["me"]
    assert [
        (i["id"], i["status"], i["organization"]["name"]) for i in me["pendingInvitations"]
    ] == [(created["id"], "PENDING", "Pending Co")]


# --- rate limits ------------------------------------------------------------------------------


@pytest.mark.parametrize("settings_overrides", [{"rate_limits": True}])
async def test_invitation_burst_from_one_org_is_rate_limited(client, monkeypatch):
    monkeypatch.setattr(
        rate_limits, "INVITATIONS", rate_limits.Limit("invitations", 3, timedelta(hours=1))
    )
    org = await create_org(client)
    other = await create_org(client, name="Other")
    for _ in range(3):
        await invite(client, org, unique_email())
    before = await org_state(client, org)
    assert await invite_refused(client, org, unique_email()) == ["RATE_LIMITED"]
    await assert_nothing_written(client, org, before)
    # The limit is per organization.
    assert (await invite(client, other, unique_email()))["status"] == "PENDING"
