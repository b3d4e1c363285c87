"""Who is asking: the bearer token resolved to a session user or an API key."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

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


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip() or len(token) > 200:
        return None
    return token.strip()


async def authenticate(authorization: str | None) -> Viewer:
    """Resolve the Authorization header; any unusable token means anonymous."""
    token = bearer_token(authorization)
    moment = now()
    if token is None:
        return Viewer()
    if token.startswith(SESSION_PREFIX):
        session = await Session.get_or_none(token_hash=hash_token(token)).select_related("user")
        if session is None or not digests_match(session.token_hash, token):
            return Viewer()
        if session.last_used_at < moment - SESSION_IDLE:
            await session.delete()
            return Viewer()
        if session.last_used_at < moment - TOUCH_EVERY:
            await Session.filter(id=session.id).update(last_used_at=moment)
        return Viewer(user=session.user, session=session)
    if token.startswith(API_KEY_PREFIX):
        key = await ApiKey.get_or_none(secret_hash=hash_token(token))
        if key is None or not digests_match(key.secret_hash, token) or key.revoked_at:
            return Viewer()
        if key.expires_at is not None and key.expires_at <= moment:
            return Viewer()
        if key.last_used_at is None or key.last_used_at < moment - TOUCH_EVERY:
            await ApiKey.filter(id=key.id).update(last_used_at=moment)
        return Viewer(api_key=key)
    return Viewer()
