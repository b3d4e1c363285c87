"""The link pages over HTTP: every page and state, headers, escaping, refusals that write nothing."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from app.models import AuditEvent, Invitation, Member, Session, User
from tests.pages.flows import (
    NEW_PASSWORD,
    ORG_ROLES,
    SECURITY_HEADERS,
    domain_token,
    heading,
    invite,
    log_in,
    me,
    reset_token,
    snapshot,
    text,
    transfer_token,
    verify_token,
)
from tests.support.api import PASSWORD, add_member, create_org, ok, sign_up

PATHS = [
    "/invitations/accept",
    "/password/reset",
    "/email/verify",
    "/ownership/confirm",
    "/domains/verify",
]
EVIL = '<script>alert("x")</script> & Co'


def assert_headers(response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (name, response.headers.get(name))
    assert response.content_type == "text/html"


async def get(client, path: str, token: str | None, status: int = 200) -> str:
    url = path if token is None else f"{path}?token={token}"
    response = await client.get(url)
    body = await response.text()
    assert response.status == status, body
    assert_headers(response)
    return body


async def post(client, path: str, data: dict[str, str], status: int = 200) -> str:
    response = await client.post(path, data=data)
    body = await response.text()
    assert response.status == status, body
    assert_headers(response)
    return body


# --- every page -------------------------------------------------------------------------


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("token", [None, "", "A" * 43, "<b>not-a-token</b>", "x" * 5000])
async def test_unusable_tokens_show_a_clear_state_with_strict_headers(client, path, token):
    body = await get(client, path, token, status=404)
    assert "not valid" in heading(body)
    assert "<form" not in body
    assert "<b>not-a-token</b>" not in body
    assert '<html lang="en">' in body


@pytest.mark.parametrize("path", PATHS)
async def test_posts_without_a_usable_token_change_nothing(client, mailbox, path):
    org = await create_org(client)
    before = await snapshot()
    for data in (
        {},
        {"token": "A" * 43, "action": "signup", "name": "X", "password": NEW_PASSWORD},
    ):
        body = await post(client, path, data, status=404)
        assert "not valid" in heading(body)
    assert await snapshot() == before
    assert org.id  # the organization's owner exists, so there was something to break


async def test_stylesheet_is_served_as_css(client):
    response = await client.get("/pages/roster.css")
    assert response.status == 200
    assert response.content_type == "text/css"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "--accent" in await response.text()


async def test_tokens_stay_out_of_the_logs(client, mailbox, caplog):
    org = await create_org(client)
    token = await invite(client, mailbox, org, "quiet@example.com")
    with caplog.at_level(logging.DEBUG):
        await get(client, "/invitations/accept", token)
        await post(
            client,
            "/invitations/accept",
            {"token": token, "action": "decline"},
        )
    assert caplog.records, "the access log should have written something"
    for record in caplog.records:
        assert token not in record.getMessage()
        assert token not in repr(record.__dict__)


# --- invitations --------------------------------------------------------------------------


async def test_invitation_preview_shows_the_invitation_escaped(client, mailbox):
    org = await create_org(client, name=EVIL)
    token = await invite(client, mailbox, org, "ivy@example.com", role="VIEWER", message=EVIL)
    body = await get(client, "/invitations/accept", token)
    assert "<script>" not in body
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co" in body
    visible = text(body)
    assert heading(body) == f"Join {EVIL} on Roster"
    assert "Invited by Olive Owner" in visible
    assert "Email ivy@example.com" in visible
    assert "Role VIEWER" in visible
    assert f"Message {EVIL}" in visible
    expires = (await Invitation.get(email="ivy@example.com")).expires_at
    assert expires.strftime("%d %B %Y") in visible
    # three forms posting back to the same path, the token in a hidden field
    assert body.count('<form class="card" method="post" action="/invitations/accept"') == 3
    assert body.count(f'<input type="hidden" name="token" value="{token}">') == 3
    assert '<label for="signup-name">' in body and 'id="signup-name"' in body


async def test_sign_up_on_the_page_joins_and_leaves_no_session(client, mailbox):
    org = await create_org(client, name="Acme")
    token = await invite(client, mailbox, org, "nina@example.com", role="ADMIN")
    body = await post(
        client,
        "/invitations/accept",
        {"token": token, "action": "signup", "name": "Nina <New>", "password": NEW_PASSWORD},
    )
    assert heading(body) == "You joined Acme"
    assert "as ADMIN" in text(body)
    user = await User.get(email="nina@example.com")
    assert await Session.filter(user_id=user.id).count() == 0
    session = await log_in(client, "nina@example.com", NEW_PASSWORD)
    viewer = await me(client, session)
    assert viewer["emailVerified"] is True
    assert viewer["memberships"] == [
        {"role": "ADMIN", "status": "ACTIVE", "organization": {"id": org.id, "name": "Acme"}}
    ]
    # the link is spent
    again = await get(client, "/invitations/accept", token, status=404)
    assert "not valid" in heading(again)


async def test_weak_password_on_sign_up_is_explained_and_writes_nothing(client, mailbox):
    org = await create_org(client)
    token = await invite(client, mailbox, org, "weak@example.com")
    before = await snapshot()
    body = await post(
        client,
        "/invitations/accept",
        {"token": token, "action": "signup", "name": EVIL, "password": "1234567890"},
        status=422,
    )
    assert await snapshot() == before
    assert 'role="alert">This password is too common.</p>' in body
    assert 'aria-invalid="true" aria-describedby="signup-password-hint signup-error"' in body
    # the name comes back (escaped), the password never does
    assert 'value="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co"' in body
    assert "1234567890" not in body
    assert "<script>" not in body


async def test_sign_up_with_a_taken_email_points_to_log_in(client, mailbox):
    org = await create_org(client)
    await sign_up(client, email="taken@example.com")
    token = await invite(client, mailbox, org, "taken@example.com")
    before = await snapshot()
    body = await post(
        client,
        "/invitations/accept",
        {"token": token, "action": "signup", "name": "T", "password": NEW_PASSWORD},
        status=409,
    )
    assert await snapshot() == before
    assert "already has a Roster account: log in below to accept" in text(body)


async def test_log_in_and_accept(client, mailbox):
    org = await create_org(client, name="Acme")
    person = await sign_up(client, email="lee@example.com", name="Lee")
    token = await invite(client, mailbox, org, "lee@example.com")
    sessions = await Session.all().count()
    body = await post(
        client,
        "/invitations/accept",
        {"token": token, "action": "login", "email": "LEE@example.com", "password": PASSWORD},
    )
    assert heading(body) == "You joined Acme"
    assert await Session.all().count() == sessions  # the page kept no session
    assert [m["organization"]["name"] for m in (await me(client, person.token))["memberships"]] == [
        "Acme"
    ]


@pytest.mark.parametrize(
    ("email", "password", "status", "message"),
    [
        ("lee@example.com", "wrong password!", 422, "Wrong email or password."),
        ("nobody@example.com", PASSWORD, 422, "Wrong email or password."),
        ("other@example.com", PASSWORD, 422, "This invitation was sent to another address."),
    ],
)
async def test_log_in_and_accept_refusals_write_nothing(
    client, mailbox, email, password, status, message
):
    org = await create_org(client)
    await sign_up(client, email="lee@example.com")
    await sign_up(client, email="other@example.com")
    token = await invite(client, mailbox, org, "lee@example.com")
    before = await snapshot()
    body = await post(
        client,
        "/invitations/accept",
        {"token": token, "action": "login", "email": email, "password": password},
        status=status,
    )
    assert f'id="login-error" role="alert">{message}</p>' in body
    assert f'value="{email}"' in body
    assert await snapshot() == before


async def test_decline(client, mailbox):
    org = await create_org(client, name="Acme")
    token = await invite(client, mailbox, org, "dee@example.com")
    body = await post(client, "/invitations/accept", {"token": token, "action": "decline"})
    assert heading(body) == "Invitation declined"
    assert "You declined the invitation to Acme" in text(body)
    assert (await Invitation.get(email="dee@example.com")).status == "DECLINED"
    assert await AuditEvent.filter(action="invitation.declined").count() == 1
    assert "not valid" in heading(await get(client, "/invitations/accept", token, status=404))


async def test_unknown_action_writes_nothing(client, mailbox):
    org = await create_org(client)
    token = await invite(client, mailbox, org, "act@example.com")
    before = await snapshot()
    body = await post(
        client, "/invitations/accept", {"token": token, "action": "delete-everything"}, 422
    )
    assert "Choose one of the actions below." in body
    assert await snapshot() == before


async def test_expired_invitation(client, mailbox):
    org = await create_org(client, name="Acme")
    token = await invite(client, mailbox, org, "late@example.com")
    await Invitation.filter(email="late@example.com").update(
        expires_at=datetime.now(UTC) - timedelta(minutes=1)
    )
    body = await get(client, "/invitations/accept", token, status=410)
    assert heading(body) == "This invitation has expired"
    assert "The invitation to Acme expired on" in text(body)
    assert "<form" not in body
    before = await snapshot()
    for action in ("signup", "login", "decline"):
        data = {"token": token, "action": action, "name": "L", "password": NEW_PASSWORD}
        body = await post(client, "/invitations/accept", data, status=410)
        assert heading(body) == "This invitation has expired"
    assert await snapshot() == before


@pytest.mark.parametrize(
    ("status", "message"),
    [
        ("ACCEPTED", "This invitation was already accepted."),
        ("DECLINED", "This invitation was declined."),
        ("REVOKED", "This invitation was withdrawn by the organization."),
    ],
)
async def test_used_invitation_states(client, mailbox, status, message):
    """The services clear the token when an invitation ends; a row that kept it still reads right."""
    org = await create_org(client)
    token = await invite(client, mailbox, org, "used@example.com")
    await Invitation.filter(email="used@example.com").update(status=status)
    body = await get(client, "/invitations/accept", token, status=410)
    assert message in text(body)
    assert "<form" not in body


async def test_revoked_invitation_link_is_not_valid(client, mailbox):
    org = await create_org(client)
    token = await invite(client, mailbox, org, "rev@example.com")
    invitation = await Invitation.get(email="rev@example.com")
    from app.ids import to_global_id
    from tests.support.invitations import REVOKE

    await ok(client, REVOKE, {"id": to_global_id("Invitation", invitation.id)}, org.owner.token)
    body = await get(client, "/invitations/accept", token, status=404)
    assert "withdrawn by the organization" in text(body)


# --- password reset -----------------------------------------------------------------------


async def test_password_reset_page(client, mailbox):
    await sign_up(client, email="rita@example.com")
    token = await reset_token(client, mailbox, "rita@example.com")
    body = await get(client, "/password/reset", token)
    assert heading(body) == "Choose a new password"
    assert "For the Roster account rita@example.com." in text(body)
    assert 'autocomplete="new-password"' in body
    body = await post(
        client,
        "/password/reset",
        {"token": token, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert heading(body) == "Your password was changed"
    assert await log_in(client, "rita@example.com", NEW_PASSWORD)
    assert await log_in(client, "rita@example.com", PASSWORD) is None
    assert "not valid" in heading(await get(client, "/password/reset", token, status=404))


@pytest.mark.parametrize(
    ("password", "confirm", "message"),
    [
        ("1234567890", "1234567890", "This password is too common."),
        ("short", "short", "Passwords are 10 to 256 characters long."),
        ("rita@example.com", "rita@example.com", "The password cannot be your email."),
        (NEW_PASSWORD, NEW_PASSWORD + "!", "The two passwords are not the same."),
    ],
)
async def test_password_reset_refusals_keep_the_old_password(
    client, mailbox, password, confirm, message
):
    person = await sign_up(client, email="rita@example.com")
    token = await reset_token(client, mailbox, "rita@example.com")
    before = await snapshot()
    body = await post(
        client,
        "/password/reset",
        {"token": token, "password": password, "confirm": confirm},
        status=422,
    )
    assert f'id="reset-error" role="alert">{message}</p>' in body
    assert 'aria-invalid="true"' in body
    assert password not in body.replace("rita@example.com", "")
    assert await snapshot() == before
    assert await me(client, person.token)  # sessions did not end
    # the link still works
    assert heading(await get(client, "/password/reset", token)) == "Choose a new password"


async def test_expired_reset_link(client, mailbox):
    from app.models import EmailToken

    await sign_up(client, email="old@example.com")
    token = await reset_token(client, mailbox, "old@example.com")
    await EmailToken.all().update(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    assert "not valid" in heading(await get(client, "/password/reset", token, status=404))
    before = await snapshot()
    await post(
        client,
        "/password/reset",
        {"token": token, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
        status=404,
    )
    assert await snapshot() == before


# --- email verification -------------------------------------------------------------------


async def test_email_verification_waits_for_the_button(client, mailbox):
    person, token = await verify_token(client, mailbox, "vera@example.com")
    for _ in range(2):  # a mail scanner fetching the link verifies nothing
        body = await get(client, "/email/verify", token)
        assert heading(body) == "Verify your email address"
        assert "Confirm that vera@example.com is your address." in text(body)
    assert (await me(client, person.token))["emailVerified"] is False
    body = await post(client, "/email/verify", {"token": token})
    assert heading(body) == "Your email address is verified"
    assert (await me(client, person.token))["emailVerified"] is True
    before = await snapshot()
    body = await post(client, "/email/verify", {"token": token}, status=404)
    assert "not valid" in heading(body)
    assert await snapshot() == before


# --- ownership transfer -------------------------------------------------------------------


async def test_ownership_transfer_confirmed_on_the_page(client, mailbox):
    org = await create_org(client, name="Acme")
    target, target_id = await add_member(client, mailbox, org, role="ADMIN", name="Tara <T>")
    token = await transfer_token(client, mailbox, org, target_id)
    body = await get(client, "/ownership/confirm", token)
    assert heading(body) == "Transfer ownership of Acme"
    visible = text(body)
    assert "Current owner Olive Owner" in visible and "New owner Tara <T>" in visible
    assert "Tara &lt;T&gt;" in body
    sessions = await Session.all().count()
    body = await post(
        client,
        "/ownership/confirm",
        {"token": token, "email": org.owner.email, "password": PASSWORD},
    )
    assert heading(body) == "Tara <T> now owns Acme"
    assert await Session.all().count() == sessions
    data = await ok(client, ORG_ROLES, {"id": org.id}, target.token)
    assert data["organization"]["viewerRole"] == "OWNER"
    roles = {m["name"]: m["role"] for m in data["organization"]["members"]["nodes"]}
    assert roles == {"Olive Owner": "ADMIN", "Tara <T>": "OWNER"}
    assert "not valid" in heading(await get(client, "/ownership/confirm", token, status=404))


@pytest.mark.parametrize(
    ("who", "password", "message"),
    [
        ("owner", "not the password", "Wrong email or password."),
        ("target", PASSWORD, "Only the owner who started the transfer confirms it."),
    ],
)
async def test_ownership_refusals_change_nothing(client, mailbox, who, password, message):
    org = await create_org(client, name="Acme")
    target, target_id = await add_member(client, mailbox, org, role="USER")
    token = await transfer_token(client, mailbox, org, target_id)
    email = org.owner.email if who == "owner" else target.email
    before = await snapshot()
    body = await post(
        client,
        "/ownership/confirm",
        {"token": token, "email": email, "password": password},
        status=422,
    )
    assert f'id="confirm-error" role="alert">{message}</p>' in body
    assert await snapshot() == before
    owner = await Member.get(role="OWNER")
    assert owner.name == "Olive Owner"


async def test_ownership_target_no_longer_eligible(client, mailbox):
    org = await create_org(client)
    _, target_id = await add_member(client, mailbox, org, role="USER")
    token = await transfer_token(client, mailbox, org, target_id)
    await Member.filter(role="USER").update(role="VIEWER")
    before = await snapshot()
    body = await post(
        client,
        "/ownership/confirm",
        {"token": token, "email": org.owner.email, "password": PASSWORD},
        status=409,
    )
    assert "Ownership goes to an ACTIVE ADMIN or USER other than the owner." in body
    assert await snapshot() == before


# --- domains ------------------------------------------------------------------------------


async def test_domain_verification_waits_for_the_button(client, mailbox):
    org = await create_org(client, name="Acme")
    token = await domain_token(client, mailbox, org, "acme-corp.example")
    body = await get(client, "/domains/verify", token)
    assert heading(body) == "Verify acme-corp.example"
    assert "Acme asks to verify that it controls acme-corp.example." in text(body)
    data = await ok(client, ORG_ROLES, {"id": org.id}, org.owner.token)
    assert data["organization"]["domains"] == [{"domain": "acme-corp.example", "verified": False}]
    body = await post(client, "/domains/verify", {"token": token})
    assert heading(body) == "acme-corp.example is verified"
    data = await ok(client, ORG_ROLES, {"id": org.id}, org.owner.token)
    assert data["organization"]["domains"] == [{"domain": "acme-corp.example", "verified": True}]
    assert "not valid" in heading(await post(client, "/domains/verify", {"token": token}, 404))


async def test_domain_taken_by_another_organization(client, mailbox):
    first = await create_org(client, name="First")
    second = await create_org(client, name="Second")
    token_first = await domain_token(client, mailbox, first, "shared.example")
    token_second = await domain_token(client, mailbox, second, "shared.example")
    await post(client, "/domains/verify", {"token": token_first})
    before = await snapshot()
    body = await post(client, "/domains/verify", {"token": token_second}, status=409)
    assert heading(body) == "The domain was not verified"
    assert await snapshot() == before


class TestRateLimits:
    @pytest.fixture
    def settings_overrides(self):
        return {"rate_limits": True}

    async def test_repeated_failed_log_ins_on_a_page_are_rate_limited(self, client, mailbox):
        org = await create_org(client)
        _, target_id = await add_member(client, mailbox, org, role="USER")
        token = await transfer_token(client, mailbox, org, target_id)
        data = {"token": token, "email": org.owner.email, "password": "not the password"}
        for _ in range(10):
            await post(client, "/ownership/confirm", data, status=422)
        before = await snapshot()
        body = await post(client, "/ownership/confirm", {**data, "password": PASSWORD}, 429)
        assert "Too many failed log-ins; try again later." in body
        assert await snapshot() == before
