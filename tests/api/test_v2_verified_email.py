"""Issue #12, item 7, over HTTP: invitations as a spam channel.

A signed-in account whose email is not verified cannot create an organization, invite
(`inviteMember`, `inviteMembers`) or add a domain: `EMAIL_NOT_VERIFIED`, and nothing is
written (no row, no audit event, no mail). API keys act for their organization and are not
asked. Invitation mails are limited per inviting account across all its organizations, as
well as per organization. The invitation mail puts the real link first; the inviter's
message follows it, quoted and labelled as theirs.

Each test failed before the change and passes since, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import html
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient

from app.ids import to_global_id
from app.models import Organization, RateLimitHit, User
from app.services import rate_limits
from tests.support import factories
from tests.support.api import (
    CREATE_ORG,
    VERIFY_EMAIL,
    Org,
    Person,
    add_member,
    create_org,
    gql,
    mutate,
    refused,
    sign_up,
    sign_up_by_api,
    unique_email,
)
from tests.support.invitations import INVITE, INVITE_MANY, RESEND, invite, invite_refused
from tests.support.mailbox import Mailbox
from tests.support.services import all_rows

ADD_DOMAIN = """
mutation($input: AddDomainInput!) {
  addDomain(input: $input) { errors { code field message } domain { id domain verified } }
}"""
CREATE_KEY = """
mutation($input: CreateApiKeyInput!) {
  createApiKey(input: $input) { errors { code } secret apiKey { id } }
}"""


async def unverified_owner(client: TestClient, mailbox: Mailbox) -> Org:
    """A person signed up over HTTP, never verified, who owns an organization made before
    the rule (written directly): their one mail is the verification."""
    person = await sign_up_by_api(client, name="Uma Unverified")
    await mailbox.wait_for(person.email)
    user = await User.get(email=person.email)
    organization, _ = await factories.make_organization(user, "Legacy Ltd")
    return Org(id=to_global_id("Organization", organization.id), owner=person)


async def written() -> dict:
    """Every row of every table, outbox rows by id only: the mail worker updates those it
    delivers meanwhile (status, attempts), which is no write of the request's."""
    rows = await all_rows()
    rows["outbox_mails"] = [row["id"] for row in rows["outbox_mails"]]
    return rows


async def verify(client: TestClient, mailbox: Mailbox, person: Person) -> None:
    (mail,) = await mailbox.wait_for(person.email)
    await mutate(client, VERIFY_EMAIL, {"token": mail.token})


async def no_mail_beyond(mailbox: Mailbox, count: int) -> None:
    """Give the worker time to send what it would, then insist on nothing new."""
    await asyncio.sleep(0.4)
    assert len(mailbox.mails) == count, [(m.to, m.subject) for m in mailbox.mails]


def invite_vars(org: Org, email: str, **fields) -> dict:
    return {"input": {"organizationId": org.id, "email": email, **fields}}


def invite_many_vars(org: Org, emails: list[str]) -> dict:
    return {"input": {"organizationId": org.id, "emails": emails, "message": "Join us"}}


def domain_vars(org: Org) -> dict:
    return {
        "input": {
            "organizationId": org.id,
            "domain": "acme-corp.com",
            "verificationEmail": "it@acme-corp.com",
            "autoJoin": True,
        }
    }


# --- EMAIL_NOT_VERIFIED --------------------------------------------------------------------------


async def test_an_unverified_account_cannot_create_an_organization(client, mailbox):
    person = await sign_up_by_api(client)
    await mailbox.wait_for(person.email)
    before = await written()
    for name in ("Spam 1", "Spam 2"):
        codes = await refused(client, CREATE_ORG, {"input": {"name": name}}, person.token)
        assert codes == ["EMAIL_NOT_VERIFIED"]
    assert await written() == before
    await no_mail_beyond(mailbox, 1)

    await verify(client, mailbox, person)
    payload = await mutate(client, CREATE_ORG, {"input": {"name": "Real Co"}}, person.token)
    assert payload["organization"]["viewerRole"] == "OWNER"
    assert await Organization.filter(name="Real Co").count() == 1


INVITING = {
    "inviteMember": (INVITE, lambda org: invite_vars(org, "target@example.com", message="Hi")),
    "inviteMembers": (
        INVITE_MANY,
        lambda org: invite_many_vars(org, ["t1@example.com", "t2@example.com"]),
    ),
    "addDomain": (ADD_DOMAIN, domain_vars),
}


@pytest.mark.parametrize("mutation", sorted(INVITING))
async def test_an_unverified_owner_is_refused_and_nothing_is_written(client, mailbox, mutation):
    org = await unverified_owner(client, mailbox)
    document, variables = INVITING[mutation]
    before = await written()
    body = await gql(client, document, variables(org), org.owner.token)
    payload = body["data"][mutation]
    assert [e["code"] for e in payload["errors"]] == ["EMAIL_NOT_VERIFIED"], payload
    assert payload["errors"][0]["field"] is None
    assert all(value is None for key, value in payload.items() if key != "errors"), payload
    assert await written() == before  # no invitation, domain, audit event or outbox row
    await no_mail_beyond(mailbox, 1)  # only the sign-up's verification

    await verify(client, mailbox, org.owner)
    payload = await mutate(client, document, variables(org), org.owner.token)
    if mutation == "inviteMembers":
        assert [r["errors"] for r in payload["results"]] == [[], []]
        await mailbox.wait_for("t2@example.com")
    elif mutation == "inviteMember":
        assert payload["invitation"]["status"] == "PENDING"
        await mailbox.wait_for("target@example.com")
    else:
        assert payload["domain"]["verified"] is False
        await mailbox.wait_for("it@acme-corp.com")


async def test_a_verified_member_of_an_unverified_owners_organization_may_invite(client, mailbox):
    """The rule is about who acts, not who owns the organization."""
    org = await unverified_owner(client, mailbox)
    admin, _ = await add_member(client, mailbox, org, role="ADMIN", name="Adam Admin")
    invited = await invite(client, org, unique_email(), token=admin.token)
    assert invited["status"] == "PENDING"


@pytest.mark.parametrize("mutation", sorted(INVITING))
async def test_an_api_key_is_not_refused(client, mailbox, mutation):
    org = await unverified_owner(client, mailbox)
    # Keys act for the organization: the owner's unverified address is not theirs.
    secret = (
        await mutate(
            client,
            CREATE_KEY,
            {"input": {"organizationId": org.id, "name": "hr sync", "role": "ADMIN"}},
            org.owner.token,
        )
    )["secret"]
    document, variables = INVITING[mutation]
    payload = await mutate(client, document, variables(org), secret)
    assert all(value is not None for value in payload.values()), payload
    if mutation == "inviteMembers":
        assert [r["errors"] for r in payload["results"]] == [[], []]


async def test_sign_up_by_invitation_can_invite_at_once(client, mailbox):
    """Accepting an invitation proves the address: the new member needs no other step."""
    org = await create_org(client)
    email = unique_email("joiner")
    await invite(client, org, email, role="ADMIN")
    (mail,) = await mailbox.wait_for(email)
    signed = await mutate(
        client,
        """mutation($input: SignUpInput!) { signUp(input: $input) { token errors { code } } }""",
        {
            "input": {
                "email": email,
                "password": factories.PASSWORD,
                "name": "Jo Iner",
                "invitationToken": mail.token,
            }
        },
    )
    invited = await invite(client, org, unique_email(), token=signed["token"])
    assert invited["status"] == "PENDING"


# --- invitations per inviting account, across organizations -------------------------------------


class TestInvitationsPerInvitingAccount:
    @pytest.fixture
    def settings_overrides(self):
        return {"rate_limits": True}

    @pytest.fixture(autouse=True)
    def small_limit(self, monkeypatch):
        monkeypatch.setattr(
            rate_limits,
            "INVITATIONS_BY_INVITER",
            rate_limits.Limit("invitations_by_inviter", 3, timedelta(hours=1)),
        )

    async def test_the_limit_counts_across_organizations(self, client, mailbox):
        owner = await sign_up(client, name="Olive Owner")
        alpha = await create_org(client, name="Alpha", owner=owner)
        beta = await create_org(client, name="Beta", owner=owner)
        first = await invite(client, alpha, unique_email())
        await invite(client, alpha, unique_email())
        await invite(client, beta, unique_email())

        before, hits = await written(), await RateLimitHit.all().count()
        assert await invite_refused(client, beta, unique_email()) == ["RATE_LIMITED"]
        assert await invite_refused(client, alpha, unique_email()) == ["RATE_LIMITED"]
        assert await refused(client, RESEND, {"id": first["id"]}, owner.token) == ["RATE_LIMITED"]
        many = await mutate(
            client,
            INVITE_MANY,
            invite_many_vars(beta, ["x@example.com", "y@example.com"]),
            owner.token,
        )
        assert [[e["code"] for e in r["errors"]] for r in many["results"]] == [
            ["RATE_LIMITED"],
            ["RATE_LIMITED"],
        ]
        assert await written() == before
        assert await RateLimitHit.all().count() == hits

        # Per account, not per organization: another admin of Beta still invites there.
        admin, _ = await add_member(client, mailbox, beta, role="ADMIN", name="Adam Admin")
        assert (await invite(client, beta, unique_email(), token=admin.token))[
            "status"
        ] == "PENDING"

    async def test_parallel_invitations_in_two_organizations_stop_at_the_limit(self, client):
        owner = await sign_up(client, name="Olive Owner")
        alpha = await create_org(client, name="Alpha", owner=owner)
        beta = await create_org(client, name="Beta", owner=owner)
        bodies = await asyncio.gather(
            *(
                gql(client, INVITE, invite_vars(org, unique_email()), owner.token)
                for org in (alpha, beta, alpha, beta, alpha, beta, alpha, beta)
            )
        )
        codes = [tuple(e["code"] for e in b["data"]["inviteMember"]["errors"]) for b in bodies]
        assert codes.count(()) == 3 and codes.count(("RATE_LIMITED",)) == 5, codes
        rows = await all_rows()
        assert len(rows["invitations"]) == 3


# --- the mail ------------------------------------------------------------------------------------


FAKE = "https://evil.example/invitations/accept?token=FAKE"
MESSAGE = f"Hi Nora!\nYour account moved, accept here instead: {FAKE}\n<b>Thanks</b> & bye"


async def test_the_real_link_comes_first_then_the_quoted_labelled_message(client, mailbox):
    org = await create_org(client)
    email = unique_email("nora")
    await invite(client, org, email, message=MESSAGE)
    (mail,) = await mailbox.wait_for(email)

    # The first link in the text is Roster's own.
    url, token = mail.link()
    assert url == "http://roster.test/invitations/accept"
    real = f"{url}?token={token}"
    lines = mail.text.splitlines()
    label = lines.index("Message from Olive Owner:")
    assert lines.index(real) < label
    quoted = [line for line in lines[label + 1 :] if line]
    assert quoted == [f"> {line}" for line in MESSAGE.splitlines()]
    assert not any(line in lines for line in MESSAGE.splitlines())  # never unquoted

    page = mail.html
    href = page.index(f'href="{html.escape(real)}"')
    assert (
        href < page.index("Message from <strong>Olive Owner</strong>:") < page.index("<blockquote")
    )
    start = page.index(">", page.index("<blockquote")) + 1
    quote = page[start : page.index("</blockquote>")].replace("\r\n", "\n")  # SMTP line ends
    assert quote == html.escape(MESSAGE)
    assert "<b>Thanks</b>" not in page and f'href="{FAKE}"' not in page


async def test_a_resent_invitation_keeps_the_same_layout(client, mailbox):
    org = await create_org(client)
    email = unique_email("nora")
    created = await invite(client, org, email, message=MESSAGE)
    await mailbox.wait_for(email)
    await mutate(client, RESEND, {"id": created["id"]}, org.owner.token)
    mail = (await mailbox.wait_for(email, count=2))[-1]
    url, token = mail.link()
    assert url == "http://roster.test/invitations/accept"
    assert mail.text.index(token) < mail.text.index("Message from Olive Owner:")


async def test_without_a_message_there_is_no_label_and_no_quote(client, mailbox):
    org = await create_org(client)
    email = unique_email()
    await invite(client, org, email)
    (mail,) = await mailbox.wait_for(email)
    assert "Message from" not in mail.text and "> " not in mail.text
    assert "<blockquote" not in mail.html and "Message from" not in mail.html
