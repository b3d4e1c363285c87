"""Verified domains and auto-join.

An organization proves it controls a domain by a link mailed to an address at
that domain. Once verified with auto-join on, people whose email at that
domain gets verified join it as `auto_join_role`, seats permitting.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

from app import config, db
from app.auth.tokens import hash_token, new_token
from app.auth.viewer import Viewer
from app.errors import DomainError, ErrorCode, not_found
from app.mail.outbox import enqueue
from app.models import Domain, Invitation, Member, User
from app.models.enums import InvitationStatus, OrganizationRole
from app.services import audit
from app.services.audit import Actor
from app.services.organizations import ensure_seat, locked
from app.services.tx import atomic
from app.services.validation import clean_domain, clean_email, clean_token, email_domain

VERIFY_TTL = timedelta(days=7)  # the mail says so
AUTO_JOIN_ROLES = frozenset({OrganizationRole.USER, OrganizationRole.VIEWER})
PUBLIC_DOMAINS_FILE = Path(__file__).with_name("public_email_domains.txt")


def _now() -> datetime:
    return datetime.now(UTC)


@cache
def public_email_domains() -> frozenset[str]:
    """Public mail providers' domains (a maintained data file): nobody may claim them."""
    lines = PUBLIC_DOMAINS_FILE.read_text().splitlines()
    return frozenset(
        line.strip().lower() for line in lines if line.strip() and not line.startswith("#")
    )


async def _lock_domain_name(domain: str) -> None:
    """Serialize claims on one domain name across organizations (PostgreSQL).

    SQLite runs one transaction at a time already.
    """
    if db.dialect() == "postgres":
        await db.connection().execute_query(
            "SELECT pg_advisory_xact_lock(hashtext($1))", ["domain:" + domain]
        )


async def _check_not_taken(domain: str, organization_id: int) -> None:
    taken = (
        await Domain.filter(domain=domain, verified_at__not_isnull=True)
        .exclude(organization_id=organization_id)
        .exists()
    )
    if taken:
        raise DomainError(
            ErrorCode.DOMAIN_TAKEN, "Another organization has verified this domain.", "domain"
        )


def clean_new_domain(
    domain: str, verification_email: str, auto_join_role: OrganizationRole
) -> tuple[str, str]:
    """Validated (domain, verification email); the rules that need no database."""
    domain = clean_domain(domain)
    if domain in public_email_domains():
        raise DomainError(
            ErrorCode.DOMAIN_NOT_ALLOWED,
            "Public mail providers' domains cannot be claimed by an organization.",
            "domain",
        )
    email = clean_email(verification_email, "verificationEmail")
    if email_domain(email) != domain:
        raise DomainError(
            ErrorCode.INVALID_INPUT,
            f"The verification address must be an address at {domain}.",
            "verificationEmail",
        )
    if OrganizationRole(auto_join_role) not in AUTO_JOIN_ROLES:
        raise DomainError(
            ErrorCode.ROLE_NOT_ALLOWED,
            "People join by domain as USER or VIEWER only.",
            "autoJoinRole",
        )
    return domain, email


async def add_domain(
    actor: Actor,
    organization_id: int,
    domain: str,
    verification_email: str,
    auto_join: bool,
    auto_join_role: OrganizationRole,
) -> Domain:
    """Record the domain unverified and mail the verification link."""
    domain, email = clean_new_domain(domain, verification_email, auto_join_role)
    token = new_token()
    async with atomic():
        organization = await locked(organization_id)
        await _lock_domain_name(domain)
        await _check_not_taken(domain, organization.id)
        if await Domain.exists(organization_id=organization.id, domain=domain):
            raise DomainError(
                ErrorCode.DOMAIN_TAKEN,
                "This organization has added this domain already; remove it to start over.",
                "domain",
            )
        row = await Domain.create(
            organization_id=organization.id,
            domain=domain,
            verification_email=email,
            auto_join=auto_join,
            auto_join_role=OrganizationRole(auto_join_role),
            token_hash=hash_token(token),
            token_expires_at=_now() + VERIFY_TTL,
        )
        await enqueue(
            "domain_verify",
            email,
            organization=organization.name,
            domain=domain,
            link=config.current().link("/domains/verify", token),
        )
        await audit.record(
            actor,
            "domain.added",
            organization_id=organization.id,
            target_type="Domain",
            target_id=row.id,
            data={
                "domain": domain,
                "verificationEmail": email,
                "autoJoin": auto_join,
                "autoJoinRole": row.auto_join_role,
            },
        )
    return row


async def verify_domain(token: str, viewer: Viewer, ip: str | None) -> Domain:
    """Anyone holding the mailed token proves control of the domain."""
    token = clean_token(token)
    async with atomic():
        row = await Domain.get_or_none(token_hash=hash_token(token))
        if row is None or row.token_expires_at is None or row.token_expires_at <= _now():
            raise DomainError(
                ErrorCode.INVALID_TOKEN, "This link is invalid or has expired.", "token"
            )
        await locked(row.organization_id)
        await _lock_domain_name(row.domain)
        row = await Domain.get_or_none(id=row.id, token_hash=hash_token(token))
        if row is None:  # used or removed meanwhile
            raise DomainError(ErrorCode.INVALID_TOKEN, "This link was already used.", "token")
        await _check_not_taken(row.domain, row.organization_id)
        row.verified_at = _now()
        row.token_hash = None
        row.token_expires_at = None
        await row.save(update_fields=["verified_at", "token_hash", "token_expires_at"])
        # Whoever clicked may be signed in anywhere; an API key of some organization
        # is no actor here.
        actor = Actor(viewer=Viewer(user=viewer.user), ip=ip)
        await audit.record(
            actor,
            "domain.verified",
            organization_id=row.organization_id,
            target_type="Domain",
            target_id=row.id,
            data={"domain": row.domain},
        )
    return row


async def remove_domain(actor: Actor, domain_id: int) -> None:
    """Nobody joins by this domain any more; existing members stay."""
    async with atomic():
        row = await Domain.get_or_none(id=domain_id)
        if row is None:
            raise not_found("Domain", "domainId")
        await locked(row.organization_id)
        await Domain.filter(id=row.id).delete()
        await audit.record(
            actor,
            "domain.removed",
            organization_id=row.organization_id,
            target_type="Domain",
            target_id=row.id,
            data={"domain": row.domain, "verified": row.verified},
        )


async def auto_join(user: User, ip: str | None) -> None:
    """Join `user` to organizations with a verified auto-join domain matching their email.

    Runs inside the caller's transaction, at the moment the email becomes
    verified. Skipped for an organization where the person already has a
    membership of any status (so the removed and the blocked are never
    re-added) or a pending invitation (which decides their role); audited
    when skipped for want of a seat.
    """
    if not user.email_verified:
        return
    domains = await Domain.filter(
        domain=email_domain(user.email), verified_at__not_isnull=True, auto_join=True
    ).order_by("organization_id")  # lock organizations in one order: no deadlocks
    actor = Actor(viewer=Viewer(user=user), ip=ip)
    for domain in domains:
        organization = await locked(domain.organization_id)
        if await Member.exists(organization_id=organization.id, user_id=user.id):
            continue
        if await Invitation.exists(
            organization_id=organization.id,
            email=user.email,
            status=InvitationStatus.PENDING,
            expires_at__gt=_now(),
        ):
            continue
        try:
            await ensure_seat(organization)
        except DomainError as refusal:
            await audit.record(
                actor,
                "member.auto_join_skipped",
                organization_id=organization.id,
                target_type="User",
                target_id=user.id,
                data={
                    "email": user.email,
                    "domain": domain.domain,
                    "reason": refusal.code.value,
                    "seatLimit": organization.seat_limit,
                },
            )
            continue
        member = Member(
            organization_id=organization.id, user_id=user.id, name=user.name, email=user.email
        )
        member.set_role(OrganizationRole(domain.auto_join_role))
        await member.save()
        await audit.record(
            actor,
            "member.joined",
            organization_id=organization.id,
            target_type="Member",
            target_id=member.id,
            data={"role": member.role, "via": "domain", "domain": domain.domain},
        )
