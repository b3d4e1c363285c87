"""Invitations without mail (`inviteMember(sendEmail: false)`) and the membership expiry an
invitation grants (`membershipExpiresAt`), over HTTP."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from app.ids import pk_of
from app.models import AuditEvent, Invitation, Member, OutboxMail
from tests.support.api import create_org, mutate, ok, refused, sign_up, unique_email
from tests.support.invitations import ACCEPT, PREVIEW, RESEND, SIGN_UP_INVITED
from tests.support.mailbox import LINK_RE

INVITE = """
mutation($input: InviteMemberInput!) {
  inviteMember(input: $input) {
    errors { code field message }
    invitationUrl
    invitation { id email role status sendCount sendEmail deliveryStatus membershipExpiresAt }
  }
}"""
PREVIEW_EXPIRY = """
query($token: String!) { invitationByToken(token: $token) { email status membershipExpiresAt } }"""


def token_of(url: str) -> str:
    match = LINK_RE.search(url)
    assert match and match.group(1) == "http://roster.test/invitations/accept", url
    return match.group(2)


async def invite(client, org, email: str, **extra) -> dict:
    return await mutate(
        client,
        INVITE,
        {"input": {"organizationId": org.id, "email": email, **extra}},
        org.owner.token,
    )


async def test_send_email_false_queues_no_mail_and_returns_the_link_once(client, mailbox):
    org = await create_org(client)
    email = unique_email()
    payload = await invite(client, org, email, sendEmail=False)
    url = payload["invitationUrl"]
    token = token_of(url)
    invitation = payload["invitation"]
    assert invitation["status"] == "PENDING" and invitation["sendEmail"] is False
    assert invitation["sendCount"] == 0
    assert await OutboxMail.filter(to_email=email).count() == 0
    # Only the hash is stored: the link cannot be read back.
    stored = await Invitation.get(id=pk_of(invitation["id"], "Invitation"))
    assert stored.token_hash and stored.token_hash != token
    event = await AuditEvent.get(action="invitation.created")
    assert event.data["sendEmail"] is False
    # A mailed invitation's payload has no URL.
    mailed = await invite(client, org, unique_email())
    assert mailed["invitationUrl"] is None and mailed["invitation"]["sendEmail"] is True
    # The link works like a mailed one: its preview, its page, and acceptance by API.
    preview = await ok(client, PREVIEW, {"token": token})
    assert preview["invitationByToken"]["status"] == "PENDING"
    page = await client.get("/invitations/accept", params={"token": token})
    assert page.status == 200
    person = await sign_up(client, email=email)
    accepted = await mutate(client, ACCEPT, {"token": token}, person.token)
    assert accepted["member"]["status"] == "ACTIVE"
    await asyncio.sleep(0.3)  # the worker would have sent anything queued by now
    assert mailbox.to(email) == []


async def test_sign_up_with_the_returned_token_joins(client, mailbox):
    org = await create_org(client)
    email = unique_email()
    payload = await invite(client, org, email, sendEmail=False, role="VIEWER")
    token = token_of(payload["invitationUrl"])
    signed = await mutate(
        client,
        SIGN_UP_INVITED,
        {
            "input": {
                "email": email,
                "password": "correct horse battery staple",
                "name": "Lin Link",
                "invitationToken": token,
            }
        },
    )
    assert signed["member"]["role"] == "VIEWER"
    assert signed["user"]["emailVerified"] is True


async def test_resend_mails_a_mail_less_invitation_and_turns_mail_on(client, mailbox):
    org = await create_org(client)
    email = unique_email()
    payload = await invite(client, org, email, sendEmail=False)
    old_token = token_of(payload["invitationUrl"])
    resent = await mutate(client, RESEND, {"id": payload["invitation"]["id"]}, org.owner.token)
    assert resent["invitation"]["sendCount"] == 1
    stored = await Invitation.get(id=pk_of(payload["invitation"]["id"], "Invitation"))
    assert stored.send_email is True
    (mail,) = await mailbox.wait_for(email)
    # The mailed token replaces the one handed out.
    assert mail.token != old_token
    person = await sign_up(client, email=email)
    assert await refused(client, ACCEPT, {"token": old_token}, person.token) == ["INVALID_TOKEN"]
    await mutate(client, ACCEPT, {"token": mail.token}, person.token)


async def test_refusals_are_as_for_mailed_invitations(client, mailbox):
    org = await create_org(client)
    email = unique_email()
    await invite(client, org, email, sendEmail=False)
    before = await Invitation.all().count()
    codes = await refused(
        client,
        INVITE,
        {"input": {"organizationId": org.id, "email": email, "sendEmail": False}},
        org.owner.token,
    )
    assert codes == ["ALREADY_INVITED"]
    codes = await refused(
        client,
        INVITE,
        {
            "input": {
                "organizationId": org.id,
                "email": unique_email(),
                "sendEmail": False,
                "role": "OWNER",
            }
        },
        org.owner.token,
    )
    assert codes == ["ROLE_NOT_ALLOWED"]
    assert await Invitation.all().count() == before


async def test_membership_expiry_is_copied_to_the_member(client, mailbox):
    org = await create_org(client)
    email = unique_email()
    ends = (datetime.now(UTC) + timedelta(days=90)).replace(microsecond=0)
    payload = await invite(
        client, org, email, sendEmail=False, membershipExpiresAt=ends.isoformat()
    )
    assert datetime.fromisoformat(payload["invitation"]["membershipExpiresAt"]) == ends
    token = token_of(payload["invitationUrl"])
    preview = await ok(client, PREVIEW_EXPIRY, {"token": token})
    assert datetime.fromisoformat(preview["invitationByToken"]["membershipExpiresAt"]) == ends
    page = await client.get("/invitations/accept", params={"token": token})
    assert "Membership ends" in await page.text()
    event = await AuditEvent.get(action="invitation.created")
    assert datetime.fromisoformat(event.data["membershipExpiresAt"]) == ends
    person = await sign_up(client, email=email)
    accepted = await mutate(client, ACCEPT, {"token": token}, person.token)
    member = await Member.get(id=pk_of(accepted["member"]["id"], "Member"))
    assert member.expires_at == ends
    # Without it, the member does not expire.
    other = unique_email()
    plain = await invite(client, org, other, sendEmail=False)
    person2 = await sign_up(client, email=other)
    joined = await mutate(
        client, ACCEPT, {"token": token_of(plain["invitationUrl"])}, person2.token
    )
    assert (await Member.get(id=pk_of(joined["member"]["id"], "Member"))).expires_at is None


async def test_membership_expiry_must_be_ahead_and_bounded(client, mailbox):
    org = await create_org(client)
    now = datetime.now(UTC)
    for moment in (now - timedelta(minutes=1), now + timedelta(days=5 * 365 + 2)):
        codes = await refused(
            client,
            INVITE,
            {
                "input": {
                    "organizationId": org.id,
                    "email": unique_email(),
                    "membershipExpiresAt": moment.isoformat(),
                }
            },
            org.owner.token,
        )
        assert codes == ["INVALID_INPUT"]
    assert await Invitation.all().count() == 0
    assert await OutboxMail.all().count() == 0


async def test_an_invitation_whose_membership_already_ended_cannot_be_accepted(client, mailbox):
    org = await create_org(client)
    email = unique_email()
    ends = datetime.now(UTC) + timedelta(days=1)
    payload = await invite(
        client, org, email, sendEmail=False, membershipExpiresAt=ends.isoformat()
    )
    pk = pk_of(payload["invitation"]["id"], "Invitation")
    await Invitation.filter(id=pk).update(
        membership_expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    person = await sign_up(client, email=email)
    token = token_of(payload["invitationUrl"])
    assert await refused(client, ACCEPT, {"token": token}, person.token) == ["INVITATION_EXPIRED"]
    assert not await Member.exists(
        user_id=pk_of(person.user_id, "User"), organization_id=pk_of(org.id, "Organization")
    )
