"""The account mails: an email-verification link and a password-reset link.

Each mail carries a fresh one-use token; earlier unused tokens of its purpose stop
working. Writing the mail is part of the caller's transaction.
"""

from __future__ import annotations

from datetime import timedelta

from app import config
from app.auth.tokens import hash_token, new_token
from app.clock import now
from app.models import EmailToken, User
from app.models.enums import EmailTokenPurpose
from app.services.mail import enqueue

VERIFY_TTL = timedelta(hours=48)
RESET_TTL = timedelta(hours=1)
# An account an identity provider created has no password yet: its first link lasts longer.
WELCOME_TTL = timedelta(days=7)


async def _mail_token(user: User, purpose: EmailTokenPurpose, ttl: timedelta | None = None) -> str:
    """A fresh one-use token for `user`; earlier unused ones of the purpose stop working."""
    await EmailToken.filter(user_id=user.id, purpose=purpose, used_at=None).update(used_at=now())
    token = new_token()
    if ttl is None:
        ttl = VERIFY_TTL if purpose is EmailTokenPurpose.VERIFY_EMAIL else RESET_TTL
    await EmailToken.create(
        user=user, purpose=purpose, token_hash=hash_token(token), expires_at=now() + ttl
    )
    return token


async def send_verification(user: User) -> None:
    token = await _mail_token(user, EmailTokenPurpose.VERIFY_EMAIL)
    await enqueue(
        "verify_email",
        user.email,
        name=user.name,
        email=user.email,
        link=config.current().link("/email/verify", token),
    )


async def send_reset(user: User) -> None:
    token = await _mail_token(user, EmailTokenPurpose.RESET_PASSWORD)
    await enqueue(
        "reset_password",
        user.email,
        name=user.name,
        email=user.email,
        link=config.current().link("/password/reset", token),
    )


async def send_welcome(user: User, organization: str) -> None:
    """For an account created without a password (SCIM): a password-reset link, valid 7
    days, is the "choose a password" link."""
    token = await _mail_token(user, EmailTokenPurpose.RESET_PASSWORD, WELCOME_TTL)
    await enqueue(
        "scim_welcome",
        user.email,
        name=user.name,
        email=user.email,
        organization=organization,
        link=config.current().link("/password/reset", token),
    )
