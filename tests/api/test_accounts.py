"""Accounts: sign-up, log-in, sessions, email verification, password reset, rate limits."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest

from app.auth import session_cache
from app.auth.tokens import hash_token
from app.models import EmailToken, Session, User
from tests.support.api import (
    LOG_IN,
    PASSWORD,
    SIGN_UP,
    gql,
    mutate,
    ok,
    refused,
    sign_up,
    sign_up_by_api,
    top_codes,
)

ME = "{ me { id email name emailVerified } }"
LOG_OUT = "mutation { logOut { ok errors { code } } }"
VERIFY = "mutation($token: String!) { verifyEmail(input: {token: $token}) { errors { code } user { emailVerified } } }"
REQUEST_RESET = "mutation($email: String!) { requestPasswordReset(input: {email: $email}) { ok errors { code } } }"
RESET = """mutation($token: String!, $password: String!) {
  resetPassword(input: {token: $token, password: $password}) { ok errors { code field } } }"""


def signup_vars(email="ada@example.com", password=PASSWORD, name="Ada Lovelace"):
    return {"input": {"email": email, "password": password, "name": name}}


async def test_sign_up_creates_a_session_and_mails_a_verification_link(client, mailbox):
    payload = await mutate(client, SIGN_UP, signup_vars(email="Ada@Example.COM"))
    assert payload["user"]["email"] == "ada@example.com"
    assert payload["user"]["emailVerified"] is False
    assert payload["token"].startswith("rs_")
    me = await ok(client, ME, token=payload["token"])
    assert me["me"]["email"] == "ada@example.com"
    (mail,) = await mailbox.wait_for("ada@example.com")
    url, token = mail.link()
    assert url == "http://roster.test/email/verify"
    assert mail.html and "Verify" in mail.subject
    # Stored only as hashes.
    assert await Session.filter(token_hash=hash_token(payload["token"])).exists()
    assert not await Session.filter(token_hash=payload["token"]).exists()
    assert await EmailToken.filter(token_hash=hash_token(token)).exists()


@pytest.mark.parametrize(
    ("variables", "code"),
    [
        (signup_vars(email="not-an-email"), "INVALID_EMAIL"),
        (signup_vars(email="a" * 250 + "@x.io"), "INVALID_EMAIL"),
        (signup_vars(password="short"), "WEAK_PASSWORD"),
        (signup_vars(password="x" * 257), "WEAK_PASSWORD"),
        (signup_vars(password="password123"), "WEAK_PASSWORD"),
        (signup_vars(password="ada@example.com"), "WEAK_PASSWORD"),
        (signup_vars(name="   "), "INVALID_INPUT"),
        (signup_vars(name="n" * 201), "INVALID_INPUT"),
    ],
)
async def test_sign_up_refusals_write_nothing(client, mailbox, variables, code):
    assert await refused(client, SIGN_UP, variables) == [code]
    assert await User.all().count() == 0
    await asyncio.sleep(0.3)
    assert mailbox.mails == []


async def test_email_taken_case_insensitively(client):
    await sign_up(client, email="grace@example.com")
    codes = await refused(client, SIGN_UP, signup_vars(email="GRACE@example.com"))
    assert codes == ["EMAIL_TAKEN"]
    assert await User.all().count() == 1


async def test_log_in_and_out(client):
    person = await sign_up(client, email="lin@example.com")
    payload = await mutate(
        client, LOG_IN, {"input": {"email": "LIN@example.com", "password": PASSWORD}}
    )
    token = payload["token"]
    assert token != person.token
    assert (await ok(client, ME, token=token))["me"]["email"] == "lin@example.com"
    await mutate(client, LOG_OUT, token=token)
    assert top_codes(await gql(client, ME, token=token, status=401)) == ["UNAUTHENTICATED"]
    # The other session lives on.
    assert (await ok(client, ME, token=person.token))["me"] is not None


async def test_log_in_refusals_look_the_same_and_take_about_the_same_time(client):
    await sign_up(client, email="known@example.com")
    timings = {}
    for email in ("known@example.com", "unknown@example.com"):
        started = time.perf_counter()
        codes = await refused(
            client, LOG_IN, {"input": {"email": email, "password": "wrong password!"}}
        )
        timings[email] = time.perf_counter() - started
        assert codes == ["INVALID_CREDENTIALS"]
    # Both paths run one argon2 verification; neither is an order of magnitude cheaper.
    fast, slow = sorted(timings.values())
    assert slow < fast * 5


async def test_garbage_tokens_are_401_never_anonymous(client):
    for header in ("Bearer rs_nope", "Bearer rk_nope", "Basic abc", "Bearer " + "x" * 500):
        response = await client.post(
            "/graphql", json={"query": ME}, headers={"Authorization": header}
        )
        assert response.status == 401
        assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


async def test_sessions_end_after_thirty_idle_days(client):
    person = await sign_up(client)
    await Session.all().update(last_used_at=datetime.now(UTC) - timedelta(days=31))
    await gql(client, ME, token=person.token, status=401)
    assert await Session.all().count() == 0


async def test_recent_use_keeps_the_session_without_a_write_per_request(client):
    person = await sign_up(client)
    stamp = datetime.now(UTC) - timedelta(minutes=5)
    await Session.all().update(last_used_at=stamp)
    await ok(client, ME, token=person.token)
    assert (await Session.get()).last_used_at == stamp
    await Session.all().update(last_used_at=datetime.now(UTC) - timedelta(days=2))
    session_cache.forget_all()  # the row was changed behind the server's back
    await ok(client, ME, token=person.token)
    assert (await Session.get()).last_used_at > datetime.now(UTC) - timedelta(minutes=1)


async def test_verify_email_once(client, mailbox):
    person = await sign_up_by_api(client, email="vera@example.com")
    (mail,) = await mailbox.wait_for("vera@example.com")
    payload = await mutate(client, VERIFY, {"token": mail.token})
    assert payload["user"]["emailVerified"] is True
    assert (await ok(client, ME, token=person.token))["me"]["emailVerified"] is True
    assert await refused(client, VERIFY, {"token": mail.token}) == ["INVALID_TOKEN"]


async def test_verify_email_refuses_unknown_and_expired_tokens(client, mailbox):
    await sign_up_by_api(client, email="exp@example.com")
    (mail,) = await mailbox.wait_for("exp@example.com")
    assert await refused(client, VERIFY, {"token": "A" * 43}) == ["INVALID_TOKEN"]
    assert await refused(client, VERIFY, {"token": "bad token!"}) == ["INVALID_TOKEN"]
    await EmailToken.all().update(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    assert await refused(client, VERIFY, {"token": mail.token}) == ["INVALID_TOKEN"]
    assert (await User.get()).email_verified_at is None


async def test_password_reset_flow(client, mailbox):
    person = await sign_up_by_api(client, email="rita@example.com")
    other_session = (
        await mutate(client, LOG_IN, {"input": {"email": person.email, "password": PASSWORD}})
    )["token"]
    await mutate(client, REQUEST_RESET, {"email": "RITA@example.com"})
    mail = (await mailbox.wait_for("rita@example.com", count=2))[-1]
    url, token = mail.link()
    assert url == "http://roster.test/password/reset"

    # A refused password ends nothing: the link still works, sessions live.
    assert await refused(client, RESET, {"token": token, "password": "short"}) == ["WEAK_PASSWORD"]
    assert (await ok(client, ME, token=person.token))["me"] is not None

    new_password = "a much better passphrase"
    await mutate(client, RESET, {"token": token, "password": new_password})
    for session in (person.token, other_session):
        await gql(client, ME, token=session, status=401)
    assert await refused(client, RESET, {"token": token, "password": "another passphrase!"}) == [
        "INVALID_TOKEN"
    ]
    assert await refused(
        client, LOG_IN, {"input": {"email": person.email, "password": PASSWORD}}
    ) == ["INVALID_CREDENTIALS"]
    await mutate(client, LOG_IN, {"input": {"email": person.email, "password": new_password}})


async def test_reset_request_for_unknown_address_answers_the_same_and_mails_nobody(client, mailbox):
    known = await gql(client, REQUEST_RESET, {"email": "nobody@example.com"})
    assert known["data"]["requestPasswordReset"] == {"ok": True, "errors": []}
    await asyncio.sleep(0.4)
    assert mailbox.to("nobody@example.com") == []
    assert await EmailToken.all().count() == 0


async def test_reset_link_expires_after_an_hour(client, mailbox):
    await sign_up_by_api(client, email="late@example.com")
    await mutate(client, REQUEST_RESET, {"email": "late@example.com"})
    mail = (await mailbox.wait_for("late@example.com", count=2))[-1]
    await EmailToken.filter(purpose="RESET_PASSWORD").update(
        expires_at=datetime.now(UTC) - timedelta(minutes=1)
    )
    codes = await refused(client, RESET, {"token": mail.token, "password": "a fine new passphrase"})
    assert codes == ["INVALID_TOKEN"]


async def test_a_new_reset_link_kills_the_older_one(client, mailbox):
    await sign_up_by_api(client, email="twice@example.com")
    await mutate(client, REQUEST_RESET, {"email": "twice@example.com"})
    await mutate(client, REQUEST_RESET, {"email": "twice@example.com"})
    first, second = (await mailbox.wait_for("twice@example.com", count=3))[1:]
    assert await refused(
        client, RESET, {"token": first.token, "password": "a fine new passphrase"}
    ) == ["INVALID_TOKEN"]
    await mutate(client, RESET, {"token": second.token, "password": "a fine new passphrase"})


class TestRateLimits:
    @pytest.fixture
    def settings_overrides(self):
        return {"rate_limits": True}

    async def test_repeated_failed_log_ins_are_limited(self, client):
        await sign_up(client, email="target@example.com")
        wrong = {"input": {"email": "target@example.com", "password": "wrong password!"}}
        codes = [tuple(await refused(client, LOG_IN, wrong)) for _ in range(11)]
        assert codes[:10] == [("INVALID_CREDENTIALS",)] * 10
        assert codes[10] == ("RATE_LIMITED",)
        # Even the right password is refused while limited.
        right = {"input": {"email": "target@example.com", "password": PASSWORD}}
        assert await refused(client, LOG_IN, right) == ["RATE_LIMITED"]

    async def test_repeated_reset_mails_to_one_address_are_limited(self, client, mailbox):
        await sign_up_by_api(client, email="spam@example.com")  # one verification mail counts too
        answers = [
            await gql(client, REQUEST_RESET, {"email": "spam@example.com"}) for _ in range(5)
        ]
        codes = [[e["code"] for e in a["data"]["requestPasswordReset"]["errors"]] for a in answers]
        assert codes[:4] == [[]] * 4
        assert codes[4] == ["RATE_LIMITED"]
        await mailbox.wait_for("spam@example.com", count=5)
        await asyncio.sleep(0.3)
        assert len(mailbox.to("spam@example.com")) == 5


async def test_log_out_needs_a_session(client):
    body = await gql(client, LOG_OUT)
    assert top_codes(body) == ["UNAUTHENTICATED"]
