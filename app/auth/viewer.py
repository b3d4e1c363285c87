"""Who is asking: the bearer token resolved to a session user or an API key."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from app.auth import session_cache
from app.auth.tokens import API_KEY_PREFIX, SESSION_PREFIX, digests_match, hash_token
from app.clock import now
from app.models import ApiKey, Session, User
from app.models.enums import OrganizationRole

SESSION_IDLE = timedelta(days=30)
# last_used_at is refreshed at most this often, so reads don't write.
TOUCH_EVERY = timedelta(hours=1)


@dataclass
class Viewer:
    user: User | None = None
    session: Session | None = None
    api_key: ApiKey | None = None

    @property
    def is_anonymous(self) -> bool:
        return self.user is None and self.api_key is None


@dataclass(frozen=True)
class OrgAccess:
    """The viewer's standing in one organization: an ACTIVE member or an API key."""

    organization_id: int
    role: OrganizationRole
    member_id: int | None = None


class InvalidToken(Exception):
    """An `Authorization` header that names no live session or API key: not `Bearer
    <token>`, or a token unknown, expired, revoked, logged out or ended by a password
    reset. Never anonymous: the HTTP layer answers 401 (`invalid_token`)."""


# Longer than any token Roster issues; refused before hashing.
MAX_TOKEN_LENGTH = 200


def bearer_token(authorization: str | None) -> str | None:
    """The token of `Bearer <token>`; None without a header (an empty one counts as none:
    clients commonly send `Authorization: ""` when signed out); InvalidToken otherwise."""
    if authorization is None or not authorization.strip():
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN_LENGTH or " " in token:
        raise InvalidToken("The Authorization header is not `Bearer <token>`.")
    return token


async def authenticate(authorization: str | None) -> Viewer:
    """Resolve the Authorization header: no header is anonymous, a usable token is its
    session user or API key, and anything else raises InvalidToken."""
    token = bearer_token(authorization)
    if token is None:
        return Viewer()
    moment = now()
    if token.startswith(SESSION_PREFIX):
        token_hash = hash_token(token)
        session = session_cache.lookup(token_hash)
        if session is None:
            generation = session_cache.generation()
            session = await Session.get_or_none(token_hash=token_hash).select_related("user")
            if session is None or not digests_match(session.token_hash, token):
                raise InvalidToken("The session is unknown or has ended.")
            session_cache.store(session, session.user, generation)
        if session.last_used_at < moment - SESSION_IDLE:
            session_cache.forget_user(session.user_id)
            await session.delete()
            raise InvalidToken("The session has expired.")
        if session.last_used_at < moment - TOUCH_EVERY:
            await Session.filter(id=session.id).update(last_used_at=moment)
            session.last_used_at = moment
            session_cache.touched(token_hash, moment)
        return Viewer(user=session.user, session=session)
    if token.startswith(API_KEY_PREFIX):
        key = await ApiKey.get_or_none(secret_hash=hash_token(token))
        if key is None or not digests_match(key.secret_hash, token) or key.revoked_at:
            raise InvalidToken("The API key is unknown or revoked.")
        if key.expires_at is not None and key.expires_at <= moment:
            raise InvalidToken("The API key has expired.")
        if key.last_used_at is None or key.last_used_at < moment - TOUCH_EVERY:
            await ApiKey.filter(id=key.id).update(last_used_at=moment)
        return Viewer(api_key=key)
    raise InvalidToken("The token is not a Roster session token or API key.")
