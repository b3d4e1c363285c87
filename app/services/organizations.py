"""Organizations: create, update settings, delete; seats."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from tortoise.exceptions import IntegrityError

from app.auth.viewer import Viewer
from app.errors import DomainError, ErrorCode, not_found
from app.models import Invitation, Member, Organization, User
from app.models.enums import InvitationStatus, MemberStatus, OrganizationRole
from app.services import audit
from app.services.audit import Actor
from app.services.tx import atomic, lock_organization
from app.services.validation import (
    check_list_size,
    clean_days,
    clean_domain,
    clean_name,
    clean_slug,
    slugify,
)

SEAT_LIMIT_MAX = 1_000_000


async def seats_used(organization_id: int) -> int:
    """ACTIVE + BLOCKED members (owner included) + PENDING unexpired invitations."""
    members = await Member.filter(
        organization_id=organization_id, status__in=[MemberStatus.ACTIVE, MemberStatus.BLOCKED]
    ).count()
    invitations = await Invitation.filter(
        organization_id=organization_id,
        status=InvitationStatus.PENDING,
        expires_at__gt=datetime.now(UTC),
    ).count()
    return members + invitations


async def ensure_seat(organization: Organization, needed: int = 1) -> None:
    """Refuse when `needed` more seats would pass the limit (call with the org locked)."""
    if organization.seat_limit is None:
        return
    if await seats_used(organization.id) + needed > organization.seat_limit:
        raise DomainError(
            ErrorCode.SEAT_LIMIT_REACHED,
            f"All {organization.seat_limit} seats are taken.",
        )


async def locked(organization_id: int) -> Organization:
    """The organization, locked for this transaction."""
    await lock_organization(organization_id)
    organization = await Organization.get_or_none(id=organization_id)
    if organization is None:
        raise not_found("Organization", "organizationId")
    return organization


async def _free_slug(base: str) -> str:
    slug = base
    while await Organization.exists(slug=slug):
        slug = f"{base}-{secrets.token_hex(3)}"
    return slug


async def create_organization(
    user: User, name: str, slug: str | None, ip: str | None
) -> Organization:
    name = clean_name(name)
    try:
        async with atomic():
            if slug is not None:
                slug = clean_slug(slug)
                if await Organization.exists(slug=slug):
                    raise DomainError(ErrorCode.SLUG_TAKEN, "This slug is taken.", "slug")
            else:
                slug = await _free_slug(slugify(name))
            organization = await Organization.create(name=name, slug=slug)
            owner = Member(organization=organization, user=user, name=user.name, email=user.email)
            owner.set_role(OrganizationRole.OWNER)
            await owner.save()
            actor = Actor(viewer=Viewer(user=user), ip=ip)
            await audit.record(
                actor,
                "organization.created",
                organization_id=organization.id,
                target_type="Organization",
                target_id=organization.id,
                data={"name": name, "slug": slug},
            )
    except IntegrityError as exc:
        raise DomainError(ErrorCode.SLUG_TAKEN, "This slug is taken.", "slug") from exc
    return organization


def clean_settings(changes: dict[str, Any]) -> dict[str, Any]:
    """Validate the settings a caller wants to change (absent keys stay as they are)."""
    cleaned: dict[str, Any] = {}
    if "name" in changes:
        cleaned["name"] = clean_name(changes["name"] or "", "name")
    if "invitation_ttl_days" in changes:
        value = changes["invitation_ttl_days"]
        if value is None:
            raise DomainError(ErrorCode.INVALID_INPUT, "Must be 1 to 30.", "invitationTtlDays")
        cleaned["invitation_ttl_days"] = clean_days(value, "invitationTtlDays")
    if "allowed_email_domains" in changes:
        domains = changes["allowed_email_domains"] or []
        check_list_size(domains, "allowedEmailDomains")
        cleaned["allowed_email_domains"] = sorted(
            {clean_domain(d, "allowedEmailDomains") for d in domains}
        )
    if "seat_limit" in changes:
        value = changes["seat_limit"]
        if value is not None and not 1 <= value <= SEAT_LIMIT_MAX:
            raise DomainError(
                ErrorCode.INVALID_INPUT, "A seat limit is at least 1, or null.", "seatLimit"
            )
        cleaned["seat_limit"] = value
    return cleaned


async def update_organization(
    actor: Actor, organization_id: int, changes: dict[str, Any]
) -> Organization:
    cleaned = clean_settings(changes)
    async with atomic():
        organization = await locked(organization_id)
        before = {key: getattr(organization, key) for key in cleaned}
        changed = {k: v for k, v in cleaned.items() if before[k] != v}
        if changed:
            for key, value in changed.items():
                setattr(organization, key, value)
            await organization.save(update_fields=list(changed))
            await audit.record(
                actor,
                "organization.updated",
                organization_id=organization.id,
                target_type="Organization",
                target_id=organization.id,
                data={"before": {k: before[k] for k in changed}, "after": changed},
            )
    return organization


async def delete_organization(actor: Actor, organization_id: int, confirm_name: str) -> None:
    """Deletes the organization and everything in it (its audit trail included).

    The deletion itself is recorded outside the organization (organization_id
    null), so that it survives the cascade.
    """
    async with atomic():
        organization = await locked(organization_id)
        if confirm_name != organization.name:
            raise DomainError(
                ErrorCode.CONFIRMATION_MISMATCH,
                "Type the organization's name exactly to delete it.",
                "confirmName",
            )
        await organization.delete()
        await audit.record(
            actor,
            "organization.deleted",
            organization_id=None,
            target_type="Organization",
            target_id=organization_id,
            data={"name": organization.name, "slug": organization.slug},
        )
