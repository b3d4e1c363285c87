"""Issue #12, item 7, on the services: creating an organization, inviting and adding a
domain need a verified email (`accounts.require_verified`, EMAIL_NOT_VERIFIED, nothing
written), API keys are not asked; invitation mails are limited per inviting account
across its organizations as well as per organization; the invitation mail puts the real
link first and the inviter's message after it, quoted and labelled as theirs."""

from __future__ import annotations

import asyncio
import dataclasses
import html
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import pytest

from app import config
from app.auth.viewer import OrgAccess, Viewer
from app.errors import DomainError, ErrorCode
from app.mail.templates import render
from app.models import ApiKey, Domain, Invitation, Organization, OutboxMail, RateLimitHit, User
from app.models.enums import InvitationStatus, OrganizationRole
from app.services import accounts, domains, invitations, organizations, rate_limits
from app.services.audit import Actor
from app.services.invitations import InviteRequest
from tests.support import factories
from tests.support.services import Crew, actions_since, refuses

# --- the rule: one function ----------------------------------------------------------------------


async def test_require_verified_refuses_only_a_user_who_has_not_verified(db):
    unverified = await factories.make_user(verified=False)
    verified = await factories.make_user()
    key = ApiKey(name="ci", role=OrganizationRole.ADMIN, prefix="rk_ci", secret_hash="1" * 64)
    for who in (unverified, Actor.for_user(unverified, None)):
        with pytest.raises(DomainError) as refusal:
            accounts.require_verified(who)
        assert refusal.value.code is ErrorCode.EMAIL_NOT_VERIFIED
    accounts.require_verified(verified)
    accounts.require_verified(Actor.for_user(verified, None))
    accounts.require_verified(Actor(viewer=Viewer(api_key=key)))  # acts for its organization


# --- the four changes ----------------------------------------------------------------------------


async def test_create_organization_needs_a_verified_email(db):
    user = await factories.make_user(verified=False)
    await refuses(
        organizations.create_organization(user, "Spam Inc", None, factories.CLIENT_IP),
        ErrorCode.EMAIL_NOT_VERIFIED,
    )
    # Refused before the input is even looked at: the rule comes first.
    await refuses(
        organizations.create_organization(user, "", "Not A Slug!", None),
        ErrorCode.EMAIL_NOT_VERIFIED,
    )
    assert await accounts.mark_email_verified(user)
    created = await organizations.create_organization(user, "Real Inc", None, None)
    assert await Organization.filter(id=created.id).exists()


Change = Callable[[Actor, int], Awaitable[object]]
CHANGES: dict[str, Change] = {
    "invite": lambda actor, org: invitations.invite(
        actor, org, InviteRequest(email="new@example.com", message="Join us")
    ),
    "invite_many": lambda actor, org: invitations.invite_many(
        actor, org, [InviteRequest(email="a@example.com"), InviteRequest(email="b@example.com")]
    ),
    "add_domain": lambda actor, org: domains.add_domain(
        actor, org, "acme-corp.com", "it@acme-corp.com", True, OrganizationRole.USER
    ),
}


async def _unverify(crew: Crew, key: str) -> None:
    await User.filter(id=crew[key].user_id).update(email_verified_at=None)


@pytest.mark.parametrize("change", sorted(CHANGES))
@pytest.mark.parametrize("role", ["OWNER", "ADMIN"])
async def test_an_unverified_inviter_is_refused_and_nothing_is_written(
    crew: Crew, change: str, role: str
):
    await _unverify(crew, role)
    error = await refuses(
        CHANGES[change](await crew.actor(role), crew.organization.id),
        ErrorCode.EMAIL_NOT_VERIFIED,
    )
    assert error.field is None  # the account, not an input field
    assert await OutboxMail.all().count() == 0


@pytest.mark.parametrize("change", sorted(CHANGES))
async def test_the_same_inviter_is_allowed_once_verified(crew: Crew, change: str):
    await _unverify(crew, "ADMIN")
    await refuses(
        CHANGES[change](await crew.actor("ADMIN"), crew.organization.id),
        ErrorCode.EMAIL_NOT_VERIFIED,
    )
    assert await accounts.mark_email_verified(await User.get(id=crew["ADMIN"].user_id))
    events = await actions_since(0)
    await CHANGES[change](await crew.actor("ADMIN"), crew.organization.id)
    written = await actions_since(len(events))
    assert written and set(written) <= {"invitation.created", "domain.added"}
    assert await OutboxMail.all().count() >= 1


@pytest.mark.parametrize("change", sorted(CHANGES))
async def test_an_api_key_is_not_refused_even_when_the_owner_is_unverified(crew: Crew, change: str):
    await _unverify(crew, "OWNER")
    key = await ApiKey.create(
        organization_id=crew.organization.id,
        name="hr sync",
        role=OrganizationRole.ADMIN,
        prefix="rk_hr",
        secret_hash="3" * 64,
    )
    actor = Actor(
        viewer=Viewer(api_key=key),
        access=OrgAccess(crew.organization.id, OrganizationRole.ADMIN),
    )
    await CHANGES[change](actor, crew.organization.id)
    assert await Invitation.all().count() + await Domain.all().count() >= 1


async def test_invite_many_keeps_each_address_on_its_own(crew: Crew):
    requests = [InviteRequest(email="ok@example.com"), InviteRequest(email="not an address")]
    results = await invitations.invite_many(
        await crew.actor("OWNER"), crew.organization.id, requests
    )
    assert [email for email, _ in results] == ["ok@example.com", "not an address"]
    assert isinstance(results[0][1], Invitation)
    assert isinstance(results[1][1], DomainError)
    assert results[1][1].code is ErrorCode.INVALID_EMAIL


# --- invitation mails per inviting account -------------------------------------------------------


@pytest.fixture
async def limits_on(db) -> AsyncIterator[None]:
    """The test settings with rate limits on (the suite runs without them)."""
    before = config.current()
    config.set_current(dataclasses.replace(before, rate_limits=True))
    try:
        yield
    finally:
        config.set_current(before)


@pytest.fixture
def small_inviter_limit(monkeypatch) -> rate_limits.Limit:
    limit = rate_limits.Limit("invitations_by_inviter", 3, timedelta(hours=1))
    monkeypatch.setattr(rate_limits, "INVITATIONS_BY_INVITER", limit)
    return limit


async def _second_organization(crew: Crew) -> tuple[int, Actor]:
    """Another organization owned by the crew's owner, and the owner acting in it."""
    owner = await User.get(id=crew["OWNER"].user_id)
    organization, member = await factories.make_organization(owner, "Second")
    return organization.id, await factories.actor_for(member)


async def test_the_inviter_limit_counts_across_organizations(
    crew: Crew, limits_on, small_inviter_limit
):
    first = crew.organization.id
    owner_first = await crew.actor("OWNER")
    second, owner_second = await _second_organization(crew)

    await invitations.invite(owner_first, first, InviteRequest(email="a1@example.com"))
    await invitations.invite(owner_first, first, InviteRequest(email="a2@example.com"))
    await invitations.invite(owner_second, second, InviteRequest(email="b1@example.com"))
    hits = await RateLimitHit.all().count()
    await refuses(
        invitations.invite(owner_second, second, InviteRequest(email="b2@example.com")),
        ErrorCode.RATE_LIMITED,
    )
    # A resend is an invitation mail too.
    pending = await Invitation.get(email="a1@example.com")
    await refuses(invitations.resend(owner_first, pending.id), ErrorCode.RATE_LIMITED)
    assert await RateLimitHit.all().count() == hits  # the refusals counted nothing

    # Per account: another admin of the same organization still invites.
    admin = await crew.actor("ADMIN")
    assert (await invitations.invite(admin, first, InviteRequest(email="a3@example.com"))).id


async def test_parallel_invitations_across_organizations_stop_at_the_limit(
    crew: Crew, limits_on, small_inviter_limit
):
    first = crew.organization.id
    owner_first = await crew.actor("OWNER")
    second, owner_second = await _second_organization(crew)

    async def outcome(actor: Actor, org: int, email: str) -> str:
        try:
            await invitations.invite(actor, org, InviteRequest(email=email))
        except DomainError as refusal:
            return refusal.code.value
        return "ok"

    results = await asyncio.gather(
        *(outcome(owner_first, first, f"p{n}@example.com") for n in range(4)),
        *(outcome(owner_second, second, f"q{n}@example.com") for n in range(4)),
    )
    assert results.count("ok") == 3 and results.count("RATE_LIMITED") == 5, results
    assert await Invitation.filter(status=InvitationStatus.PENDING).count() == 3


# --- the mail: link first, the message after it, quoted and labelled -----------------------------


def test_message_blocks_quote_and_label_the_inviters_words():
    text, page = invitations.message_blocks("Olive <Owner>", "Hi!\n\nClick <here>")
    assert text == "\nMessage from Olive <Owner>:\n\n> Hi!\n> \n> Click <here>\n"
    assert "Message from <strong>Olive &lt;Owner&gt;</strong>:" in page
    assert "<blockquote" in page and "Hi!\n\nClick &lt;here&gt;</blockquote>" in page
    assert invitations.message_blocks("Olive", None) == ("", "")


def test_the_rendered_mail_has_the_link_before_the_message():
    link = "http://roster.test/invitations/accept?token=REAL"
    fake = "http://evil.example/invitations/accept?token=FAKE"
    text_block, html_block = invitations.message_blocks("Olive Owner", f"Please use {fake}")
    mail = render(
        "invitation",
        {
            "organization": "Acme",
            "inviter": "Olive Owner",
            "role": "USER",
            "expires_at": "2030-01-01 00:00 UTC",
            "message_block": text_block,
            "message_html": html_block,
            "link": link,
        },
    )
    assert mail.text.index(link) < mail.text.index("Message from Olive Owner:")
    assert mail.text.index("Message from Olive Owner:") < mail.text.index(f"> Please use {fake}")
    assert f"\nPlease use {fake}" not in mail.text  # only ever quoted
    assert mail.html.index(f'href="{html.escape(link)}"') < mail.html.index("<blockquote")
    assert f'href="{fake}"' not in mail.html


async def test_the_queued_invitation_mail_quotes_the_message_after_the_link(crew: Crew):
    message = "Welcome aboard!\nhttp://evil.example/invitations/accept?token=FAKE"
    await invitations.invite(
        await crew.actor("OWNER"),
        crew.organization.id,
        InviteRequest(email="nora@example.com", message=message),
    )
    mail = await OutboxMail.get(to_email="nora@example.com")
    lines = mail.text_body.splitlines()
    link_line = next(i for i, line in enumerate(lines) if "roster.test/invitations/accept" in line)
    label_line = lines.index("Message from Olive Owner:")
    assert link_line < label_line
    assert lines[label_line + 2 :][:2] == [f"> {line}" for line in message.splitlines()]
    assert "<blockquote" in mail.html_body
    assert mail.html_body.index("/invitations/accept?token=") < mail.html_body.index(
        "Message from <strong>Olive Owner</strong>:"
    )
