"""The in-process session cache (app/auth/session_cache.py): a cached session serves
requests without reading `sessions`, and whatever ends a session or changes its user is
seen by the very next request of this process."""

from __future__ import annotations

from app.auth import session_cache
from app.auth.tokens import hash_token
from app.models import Session
from tests.api.test_accounts import LOG_IN, LOG_OUT, ME, PASSWORD, VERIFY
from tests.support.api import gql, mutate, ok, sign_up, sign_up_by_api
from tests.support.sqlcount import count_statements


def _reads_sessions(statements: list[str]) -> bool:
    return any('"sessions"' in s or " sessions" in s for s in statements)


async def test_a_cached_session_is_not_read_again(client):
    person = await sign_up(client)
    with count_statements() as first:
        await ok(client, ME, token=person.token)
    with count_statements() as second:
        assert (await ok(client, ME, token=person.token))["me"]["email"] == person.email
    assert _reads_sessions(first.statements)
    assert not _reads_sessions(second.statements)


async def test_log_out_is_401_at_once(client):
    person = await sign_up(client)
    other = (
        await mutate(client, LOG_IN, {"input": {"email": person.email, "password": PASSWORD}})
    )["token"]
    for token in (person.token, other, person.token, other):
        await ok(client, ME, token=token)
    assert (await mutate(client, LOG_OUT, token=person.token))["ok"] is True
    await gql(client, ME, token=person.token, status=401)
    # The user's other session lives on (read again from the database).
    assert (await ok(client, ME, token=other))["me"]["email"] == person.email


async def test_a_deleted_session_row_is_401_once_the_cache_forgets_it(client):
    person = await sign_up(client)
    await ok(client, ME, token=person.token)
    await Session.filter(token_hash=hash_token(person.token)).delete()
    session_cache.forget_all()
    await gql(client, ME, token=person.token, status=401)


async def test_email_verification_shows_at_once(client, mailbox):
    person = await sign_up_by_api(client, email="cached@example.com")
    (mail,) = await mailbox.wait_for("cached@example.com")
    assert (await ok(client, ME, token=person.token))["me"]["emailVerified"] is False
    await mutate(client, VERIFY, {"token": mail.token})
    assert (await ok(client, ME, token=person.token))["me"]["emailVerified"] is True


async def test_requests_get_copies_and_stale_reads_are_not_stored(client):
    person = await sign_up(client)
    await ok(client, ME, token=person.token)
    token_hash = hash_token(person.token)
    first = session_cache.lookup(token_hash)
    assert first is not None
    first.user.name = "Changed In One Request"
    second = session_cache.lookup(token_hash)
    assert second is not None and second.user.name == person.name
    assert second.user is not first.user and second is not first

    # A lookup that read the database before an invalidation does not store its rows.
    generation = session_cache.generation()
    session_cache.forget_user(second.user_id)
    session_cache.store(second, second.user, generation)
    assert session_cache.lookup(token_hash) is None
