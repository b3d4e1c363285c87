"""Pages have no session: a log-in form proves who acts, and leaves no session behind."""

from __future__ import annotations

from app.auth.tokens import hash_token
from app.models import Session, User
from app.services import accounts


async def forget(token: str) -> None:
    """Drop the session a service opened for a page that keeps none."""
    await Session.filter(token_hash=hash_token(token)).delete()


async def check_credentials(email: str, password: str) -> User:
    """The user with these credentials (INVALID_CREDENTIALS / RATE_LIMITED as for logIn)."""
    signed = await accounts.log_in(email, password)
    await forget(signed.token)
    return signed.user
