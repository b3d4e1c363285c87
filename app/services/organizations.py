"""Organizations: create, update settings, delete.

Seats (members plus pending invitations) are counted in app/services/invitations.py.
"""

from __future__ import annotations

from typing import Any

from tortoise.exceptions import IntegrityError

from app.auth.roles import Permission
from app.errors import DomainError, ErrorCode
from app.models import Member, Organization, User
from app.models.enums import OrganizationRole
from app.services import events
from app.services.accounts import require_verified
from app.services.audit import Actor
from app.services.slugs import free_slug, slugify
from app.services.tx import atomic, locked_for
from app.services.validation import (
    check_list_size,
    clean_days,
    clean_domain,
    clean_name,
    clean_slug,
)

SEAT_LIMIT_MAX = 1_000_000


async def create_organization(
    user: User, name: str, slug: str | None, ip: str | None
) -> Organization:
    """The organization with `user` as its OWNER; EMAIL_NOT_VERIFIED for an account whose
    address is not verified."""
    require_verified(user)
    name = clean_name(name)
    try:
        async with atomic():
            if slug is not None:
                slug = clean_slug(slug)
                if await Organization.exists(slug=slug):
                    raise DomainError(ErrorCode.SLUG_TAKEN, "This slug is taken.", "slug")
            else:
                slug = await free_slug(Organization, slugify(name))
            organization = await Organization.create(name=name, slug=slug)
            owner = Member(organization=organization, user=user, name=user.name, email=user.email)
            owner.set_role(OrganizationRole.OWNER)
            await owner.save()
            await events.organization_created(Actor.for_user(user, ip), organization)
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
        organization, actor = await locked_for(
            actor, organization_id, Permission.MANAGE_ORGANIZATION
        )
        before = {key: getattr(organization, key) for key in cleaned}
        changed = {k: v for k, v in cleaned.items() if before[k] != v}
        if changed:
            for key, value in changed.items():
                setattr(organization, key, value)
            await organization.save(update_fields=list(changed))
            await events.organization_updated(
                actor, organization, {k: before[k] for k in changed}, changed
            )
    return organization


async def delete_organization(actor: Actor, organization_id: int, confirm_name: str) -> None:
    """Deletes the organization and everything in it (its audit trail included).

    The deletion itself is recorded outside the organization (organization_id
    null), so that it survives the cascade.
    """
    async with atomic():
        organization, actor = await locked_for(actor, organization_id, Permission.OWN_ORGANIZATION)
        if confirm_name != organization.name:
            raise DomainError(
                ErrorCode.CONFIRMATION_MISMATCH,
                "Type the organization's name exactly to delete it.",
                "confirmName",
            )
        await organization.delete()
        await events.organization_deleted(actor, organization)
