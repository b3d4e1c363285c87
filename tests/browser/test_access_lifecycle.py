"""End to end in headless Chromium: an invitation handed out without mail, accepted on its
link page, and a join request's decision page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import expect

from app.ids import pk_of
from app.models import Domain, Member, OutboxMail
from app.models.enums import DomainJoinPolicy
from tests.browser.conftest import Live, Opener, screenshot
from tests.pages.flows import NEW_PASSWORD, log_in, me
from tests.support.api import create_org, mutate, sign_up
from tests.support.mailbox import Mailbox

INVITE = """
mutation($input: InviteMemberInput!) {
  inviteMember(input: $input) { errors { code } invitationUrl invitation { id } }
}"""
REQUEST = """
mutation($org: ID!) {
  requestToJoin(input: {organizationId: $org}) { errors { code } joinRequest { id } }
}"""
APPROVE = """
mutation($id: ID!) {
  approveJoinRequest(input: {joinRequestId: $id}) { errors { code } member { id } }
}"""


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
async def test_a_mail_less_invitation_is_accepted_through_its_link_page(
    live: Live, open_page: Opener, mailbox: Mailbox, javascript: bool
):
    client = live.client
    org = await create_org(client, name="Linkless Labs")
    ends = datetime.now(UTC) + timedelta(days=60)
    payload = await mutate(
        client,
        INVITE,
        {
            "input": {
                "organizationId": org.id,
                "email": "mo@example.com",
                "sendEmail": False,
                "membershipExpiresAt": ends.isoformat(),
            }
        },
        org.owner.token,
    )
    url = payload["invitationUrl"]
    assert url.startswith(f"{live.base_url}/invitations/accept?token=")
    assert await OutboxMail.filter(to_email="mo@example.com").count() == 0

    page = await open_page(url, javascript)
    await expect(page.get_by_role("heading", level=1)).to_have_text("Join Linkless Labs on Roster")
    await expect(page.locator("dl.facts")).to_contain_text("Membership ends")
    await expect(page.locator("dl.facts")).to_contain_text(ends.strftime("%d %B %Y"))
    if javascript:
        await screenshot(page, "invitation-accept-without-mail")
    signup = page.locator("form", has=page.get_by_role("heading", name="New to Roster?"))
    await signup.get_by_label("Your name").fill("Mo Linkless")
    await signup.get_by_label("Choose a password").fill(NEW_PASSWORD)
    await signup.get_by_role("button", name="Sign up and join Linkless Labs").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("You joined Linkless Labs")

    session = await log_in(client, "mo@example.com", NEW_PASSWORD)
    assert session is not None
    viewer = await me(client, session)
    assert [m["organization"]["name"] for m in viewer["memberships"]] == ["Linkless Labs"]
    member = await Member.get(email="mo@example.com")
    assert member.expires_at is not None and abs(member.expires_at - ends) < timedelta(seconds=1)
    assert mailbox.to("mo@example.com") == []


async def test_the_join_request_decision_mail_opens_its_page(
    live: Live, open_page: Opener, mailbox: Mailbox
):
    client = live.client
    org = await create_org(client, name="Queue Co")
    domain = Domain(
        organization_id=pk_of(org.id, "Organization"),
        domain="queue-co.example",
        verification_email="it@queue-co.example",
        verified_at=datetime.now(UTC),
    )
    domain.set_join_policy(DomainJoinPolicy.REQUEST)
    await domain.save()
    person = await sign_up(client, email="ria@queue-co.example", name="Ria")
    asked = await mutate(client, REQUEST, {"org": org.id}, person.token)
    await mutate(client, APPROVE, {"id": asked["joinRequest"]["id"]}, org.owner.token)
    (mail,) = await mailbox.wait_for("ria@queue-co.example")
    url, token = mail.link()
    assert url == f"{live.base_url}/join-requests/decision"
    page = await open_page(f"{url}?token={token}")
    await expect(page.get_by_role("heading", level=1)).to_have_text("You joined Queue Co")
    await expect(page.locator("dl.facts")).to_contain_text("approved")
    await expect(page.get_by_role("link", name="Open Roster")).to_have_attribute(
        "href", f"{live.base_url}/"
    )
    await screenshot(page, "join-request-approved")
