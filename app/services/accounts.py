"""Accounts: sign-up, log-in, sessions, email verification, password reset."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tortoise.exceptions import IntegrityError

from app import config
from app.auth import passwords
from app.auth.tokens import SESSION_PREFIX, hash_token, new_token
from app.errors import DomainError, ErrorCode
from app.mail.outbox import enqueue
from app.models import EmailToken, Member, Session, User
from app.models.enums import EmailTokenPurpose
from app.services import rate_limits
from app.services.tx import atomic
from app.services.validation import clean_email, clean_name, clean_token

VERIFY_TTL = timedelta(hours=48)
RESET_TTL = timedelta(hours=1)


@dataclass
class SignedIn:
    user: User
    token: str
    member: Member | None = None


def _now() -> datetime:
    return datetime.now(UTC)


async def create_session(user: User) -> str:
    token = new_token(SESSION_PREFIX)
    await Session.create(user=user, token_hash=hash_token(token), last_used_at=_now())
    return token


async def _mail_token(user: User, purpose: EmailTokenPurpose) -> str:
    """A fresh one-use token for `user`; earlier unused ones of the purpose stop working."""
    await EmailToken.filter(user_id=user.id, purpose=purpose, used_at=None).update(used_at=_now())
    token = new_token()
    ttl = VERIFY_TTL if purpose is EmailTokenPurpose.VERIFY_EMAIL else RESET_TTL
    await EmailToken.create(
        user=user, purpose=purpose, token_hash=hash_token(token), expires_at=_now() + ttl
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


async def sign_up(
    email: str, password: str, name: str, invitation_token: str | None, ip: str | None
) -> SignedIn:
    from app.services import invitations  # the membership core builds on accounts

    email = clean_email(email)
    name = clean_name(name)
    passwords.check_policy(password, email)
    invitation = None
    if invitation_token is not None:
        invitation = await invitations.pending_by_token(invitation_token)
        if invitation.email != email:
            raise DomainError(
                ErrorCode.INVITATION_EMAIL_MISMATCH,
                "Sign up with the address the invitation was sent to.",
                "email",
            )
    else:
        await rate_limits.check_and_record(rate_limits.ACCOUNT_MAIL, email)
    password_hash = await passwords.hash_password(password)
    try:
        async with atomic():
            if await User.exists(email=email):
                raise DomainError(ErrorCode.EMAIL_TAKEN, "This email has an account.", "email")
            user = await User.create(email=email, name=name, password_hash=password_hash)
            member = None
            if invitation is not None:
                # Holding the token proves the address.
                user.email_verified_at = _now()
                await user.save(update_fields=["email_verified_at"])
                member = await invitations.accept(invitation.id, user, ip=ip)
                from app.services import domains

                await domains.auto_join(user, ip=ip)
            else:
                await send_verification(user)
            token = await create_session(user)
    except IntegrityError as exc:  # a concurrent sign-up with the same email won
        raise DomainError(ErrorCode.EMAIL_TAKEN, "This email has an account.", "email") from exc
    return SignedIn(user=user, token=token, member=member)


async def log_in(email: str, password: str) -> SignedIn:
    normalized = email.strip().lower()
    if await rate_limits.exceeded(rate_limits.FAILED_LOGIN, normalized):
        raise DomainError(ErrorCode.RATE_LIMITED, "Too many failed log-ins; try again later.")
    plausible = len(normalized) <= 254 and "\x00" not in normalized  # else no account has it
    user = await User.get_or_none(email=normalized) if plausible else None
    ok = await passwords.verify_password(user.password_hash if user else None, password[:1024])
    if user is None or not ok:
        await rate_limits.record(rate_limits.FAILED_LOGIN, normalized)
        raise DomainError(ErrorCode.INVALID_CREDENTIALS, "Wrong email or password.")
    return SignedIn(user=user, token=await create_session(user))


async def log_out(session: Session) -> None:
    await Session.filter(id=session.id).delete()


async def _use_token(token: str, purpose: EmailTokenPurpose) -> EmailToken:
    """The token's row with its user, or INVALID_TOKEN (unknown, used, expired).

    Callers consume it with a conditional UPDATE (`used_at IS NULL`), so two
    concurrent uses cannot both succeed.
    """
    token = clean_token(token)
    row = await EmailToken.get_or_none(token_hash=hash_token(token), purpose=purpose)
    if row is None or row.used_at is not None or row.expires_at <= _now():
        raise DomainError(ErrorCode.INVALID_TOKEN, "This link is invalid or has expired.", "token")
    await row.fetch_related("user")
    return row


async def usable_token(token: str, purpose: EmailTokenPurpose) -> EmailToken | None:
    """The unused, unexpired token's row (read only, for showing a page), or None."""
    try:
        return await _use_token(token, purpose)
    except DomainError:
        return None


async def verify_email(token: str, ip: str | None = None) -> User:
    from app.services import domains

    async with atomic():
        row = await _use_token(token, EmailTokenPurpose.VERIFY_EMAIL)
        updated = await EmailToken.filter(id=row.id, used_at=None).update(used_at=_now())
        if not updated:
            raise DomainError(ErrorCode.INVALID_TOKEN, "This link was already used.", "token")
        user = row.user
        if user.email_verified_at is None:
            user.email_verified_at = _now()
            await user.save(update_fields=["email_verified_at"])
            await domains.auto_join(user, ip=ip)
    return user


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
    async with atomic():
        row = await _use_token(token, EmailTokenPurpose.RESET_PASSWORD)
        # A refused password ends nothing: the policy runs before anything changes.
        passwords.check_policy(password, row.user.email)
    password_hash = await passwords.hash_password(password)
    async with atomic():
        row = await _use_token(token, EmailTokenPurpose.RESET_PASSWORD)
        updated = await EmailToken.filter(id=row.id, used_at=None).update(used_at=_now())
        if not updated:
            raise DomainError(ErrorCode.INVALID_TOKEN, "This link was already used.", "token")
        user = row.user
        user.password_hash = password_hash
        await user.save(update_fields=["password_hash"])
        await Session.filter(user_id=user.id).delete()
        await EmailToken.filter(
            user_id=user.id, purpose=EmailTokenPurpose.RESET_PASSWORD, used_at=None
        ).update(used_at=_now())
    return user
