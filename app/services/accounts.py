"""Accounts: log-in and sessions, the credential check, mailed tokens, password reset,
and the steps a sign-up is made of (app/services/onboarding.py puts them together)."""

from __future__ import annotations

from dataclasses import dataclass

from app.auth import passwords
from app.auth.tokens import SESSION_PREFIX, hash_token, new_token
from app.clock import now
from app.errors import DomainError, ErrorCode
from app.models import EmailToken, Member, Session, User
from app.models.enums import EmailTokenPurpose
from app.services import rate_limits, sessions
from app.services.account_mail import send_reset
from app.services.audit import Actor
from app.services.tx import atomic
from app.services.validation import clean_email, clean_name, clean_token


@dataclass
class SignedIn:
    user: User
    token: str
    member: Member | None = None


# Sign-up steps ---------------------------------------------------------------------------


def email_taken() -> DomainError:
    return DomainError(ErrorCode.EMAIL_TAKEN, "This email has an account.", "email")


def clean_sign_up(email: str, password: str, name: str) -> tuple[str, str]:
    """The cleaned (email, name) of a new account, its password through the policy's quick
    checks (`passwords.hash_new_password` scores it before hashing)."""
    email = clean_email(email)
    name = clean_name(name)
    passwords.check_basics(password, email)
    return email, name


async def create_user(email: str, name: str, password_hash: str, *, verified: bool) -> User:
    """A new account (in the caller's transaction), or EMAIL_TAKEN."""
    if await User.exists(email=email):
        raise email_taken()
    return await User.create(
        email=email,
        name=name,
        password_hash=password_hash,
        email_verified_at=now() if verified else None,
    )


async def mark_email_verified(user: User) -> bool:
    """Record that `user` proved their address; False when it was verified already."""
    if user.email_verified_at is not None:
        return False
    user.email_verified_at = now()
    async with atomic():
        await user.save(update_fields=["email_verified_at"])
        await sessions.changed(user.id)
    return True


def require_verified(who: Actor | User) -> None:
    """EMAIL_NOT_VERIFIED unless a signed-in user acting has proved their address.

    The one rule for what reaches people outside the organization (creating an
    organization, inviting, adding a domain): an account nobody has shown to own its
    address may not do it. An API key acts for its organization and has no address of
    its own: it is not refused. Call it before anything is written.
    """
    user = who if isinstance(who, User) else who.viewer.user
    if user is not None and user.email_verified_at is None:
        raise DomainError(
            ErrorCode.EMAIL_NOT_VERIFIED,
            "Verify your email address first: open the link mailed to it when you signed up.",
        )


# Log-in and sessions ---------------------------------------------------------------------


async def create_session(user: User) -> str:
    token = new_token(SESSION_PREFIX)
    await Session.create(user=user, token_hash=hash_token(token), last_used_at=now())
    return token


async def check_credentials(email: str, password: str, ip: str | None = None) -> User:
    """The user with these credentials, opening no session (for pages that keep none).

    INVALID_CREDENTIALS, or RATE_LIMITED after too many failures for the address from
    `ip` (the client's address), or for the address from anywhere. The attempt is
    counted before the password is checked, in one step with the check of the limit, so
    parallel attempts cannot all slip under it; a successful one is then uncounted.
    """
    normalized = email.strip().lower()
    hits = await rate_limits.take(
        rate_limits.login_subjects(normalized, ip), "Too many failed log-ins; try again later."
    )
    plausible = len(normalized) <= 254 and "\x00" not in normalized  # else no account has it
    user = await User.get_or_none(email=normalized) if plausible else None
    ok = await passwords.verify_password(user.password_hash if user else None, password[:1024])
    if user is None or not ok:
        raise DomainError(ErrorCode.INVALID_CREDENTIALS, "Wrong email or password.")
    await rate_limits.release(hits)
    return user


async def log_in(email: str, password: str, ip: str | None = None) -> SignedIn:
    user = await check_credentials(email, password, ip)
    return SignedIn(user=user, token=await create_session(user))


async def log_out(session: Session) -> None:
    async with atomic():
        await Session.filter(id=session.id).delete()
        await sessions.changed(session.user_id)


# Mailed tokens ---------------------------------------------------------------------------


async def _valid_token(token: str, purpose: EmailTokenPurpose) -> EmailToken:
    """The token's row with its user, or INVALID_TOKEN (unknown, used, expired)."""
    token = clean_token(token)
    row = await EmailToken.get_or_none(token_hash=hash_token(token), purpose=purpose)
    if row is None or row.used_at is not None or row.expires_at <= now():
        raise DomainError(ErrorCode.INVALID_TOKEN, "This link is invalid or has expired.", "token")
    await row.fetch_related("user")
    return row


async def usable_token(token: str, purpose: EmailTokenPurpose) -> EmailToken | None:
    """The unused, unexpired token's row with its user (read only, for showing a page),
    or None."""
    try:
        return await _valid_token(token, purpose)
    except DomainError:
        return None


async def spend_token(token: str, purpose: EmailTokenPurpose) -> User:
    """Use a mailed token, once: its user, or INVALID_TOKEN (in the caller's transaction
    or its own).

    The conditional UPDATE (`used_at IS NULL`) makes sure two concurrent uses cannot
    both succeed.
    """
    async with atomic():
        row = await _valid_token(token, purpose)
        updated = await EmailToken.filter(id=row.id, used_at=None).update(used_at=now())
        if not updated:
            raise DomainError(ErrorCode.INVALID_TOKEN, "This link was already used.", "token")
    return row.user


# Password reset --------------------------------------------------------------------------


async def request_password_reset(email: str) -> None:
    """Same answer whether or not the address has an account."""
    try:
        normalized = clean_email(email)
    except DomainError:
        return
    await rate_limits.check_and_record(rate_limits.ACCOUNT_MAIL, normalized)
    async with atomic():
        user = await User.get_or_none(email=normalized)
        if user is not None:
            await send_reset(user)


async def reset_password(token: str, password: str) -> User:
    clean_token(token)
    row = await _valid_token(token, EmailTokenPurpose.RESET_PASSWORD)
    # A refused password ends nothing: the policy runs before anything changes.
    password_hash = await passwords.hash_new_password(password, row.user.email, row.user.name)
    async with atomic():
        user = await spend_token(token, EmailTokenPurpose.RESET_PASSWORD)
        user.password_hash = password_hash
        await user.save(update_fields=["password_hash"])
        await Session.filter(user_id=user.id).delete()
        await sessions.changed(user.id)
        await EmailToken.filter(
            user_id=user.id, purpose=EmailTokenPurpose.RESET_PASSWORD, used_at=None
        ).update(used_at=now())
    return user
