"""Onboarding: how people come in — signing up (with or without an invitation),
verifying their address, accepting an invitation — and the joining by verified
domain that each of these may set off.

The one module that joins accounts, invitations and domains: those three know
nothing of each other. The moment an address becomes verified (a verification
link, or an invitation's token, which proves it too), the person joins every
organization with a verified auto-join domain matching it (`domains.auto_join`),
in the same transaction.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from tortoise.exceptions import IntegrityError

from app.auth import passwords
from app.errors import DomainError, ErrorCode
from app.models import Invitation, Member, User
from app.models.enums import EmailTokenPurpose
from app.services import accounts, domains, invitations, rate_limits
from app.services.account_mail import send_verification
from app.services.accounts import SignedIn
from app.services.tx import atomic


@dataclass(frozen=True)
class _NewAccount:
    """A sign-up that passed the checks that need no transaction."""

    email: str
    name: str
    password_hash: str
    invitation: Invitation | None


async def _check_sign_up(
    email: str, password: str, name: str, invitation_token: str | None
) -> _NewAccount:
    email, name = accounts.clean_sign_up(email, password, name)
    invitation = None
    if invitation_token is not None:
        invitation = await invitations.pending_by_token(invitation_token)
        if invitation.email != email:
            raise DomainError(
                ErrorCode.INVITATION_EMAIL_MISMATCH,
                "Sign up with the address the invitation was sent to.",
                "email",
            )
    hits = [] if invitation is not None else [(rate_limits.ACCOUNT_MAIL, email)]
    taken = await rate_limits.take(hits)
    try:
        password_hash = await passwords.hash_new_password(password, email, name)
    except DomainError:  # too easy to guess: no mail goes, none is counted
        await rate_limits.release(taken)
        raise
    return _NewAccount(email, name, password_hash, invitation)


@asynccontextmanager
async def _one_account_per_email() -> AsyncIterator[None]:
    """A transaction in which losing a race to a concurrent sign-up with the same
    email reads as EMAIL_TAKEN."""
    try:
        async with atomic():
            yield
    except IntegrityError as exc:
        raise accounts.email_taken() from exc


async def _open_account(new: _NewAccount, ip: str | None) -> tuple[User, Member | None]:
    """The account (in the caller's transaction). With an invitation it joins at once,
    its address verified (holding the token proves it); else a verification mail goes."""
    user = await accounts.create_user(
        new.email, new.name, new.password_hash, verified=new.invitation is not None
    )
    if new.invitation is None:
        await send_verification(user)
        return user, None
    member = await invitations.accept(new.invitation.id, user, ip=ip)
    await domains.auto_join(user, ip=ip)
    return user, member


async def sign_up(
    email: str, password: str, name: str, invitation_token: str | None, ip: str | None
) -> SignedIn:
    """signUp: a new account, signed in; with an invitation token it is a member at once."""
    new = await _check_sign_up(email, password, name, invitation_token)
    async with _one_account_per_email():
        user, member = await _open_account(new, ip)
        token = await accounts.create_session(user)
    return SignedIn(user=user, token=token, member=member)


async def sign_up_to_join(
    email: str, password: str, name: str, invitation_token: str, ip: str | None
) -> Member:
    """The invitation page's sign-up: as `sign_up` with the token, opening no session
    (the page keeps none)."""
    new = await _check_sign_up(email, password, name, invitation_token)
    async with _one_account_per_email():
        _, member = await _open_account(new, ip)
    assert member is not None  # an invitation token was given
    return member


async def verify_email(token: str, ip: str | None = None) -> User:
    """Use a verification link; the first time, the address joins by domain."""
    async with atomic():
        user = await accounts.spend_token(token, EmailTokenPurpose.VERIFY_EMAIL)
        if await accounts.mark_email_verified(user):
            await domains.auto_join(user, ip=ip)
    return user


async def accept_by_token(token: str, user: User, ip: str | None) -> Member:
    """acceptInvitation: the signed-in `user` joins by the invitation's token, which
    verifies their address too (and so may join them by domain elsewhere)."""
    invitation = await invitations.pending_by_token(token)
    async with atomic():
        member = await invitations.accept(invitation.id, user, ip, token_hash=invitation.token_hash)
        if await accounts.mark_email_verified(user):
            await domains.auto_join(user, ip=ip)
    return member
