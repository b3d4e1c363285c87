"""Organization API keys: bearer tokens that act in one organization with one role.

The secret is shown once, at creation; only its SHA-256 digest is stored, with
its first characters as `prefix` so that people can tell keys apart.
Authentication by key lives in app/auth/viewer.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.auth.tokens import API_KEY_PREFIX, hash_token, new_token
from app.errors import DomainError, ErrorCode, not_found
from app.models import ApiKey
from app.models.enums import OrganizationRole
from app.services import audit
from app.services.audit import Actor
from app.services.organizations import locked
from app.services.tx import atomic
from app.services.validation import clean_days, clean_name

PREFIX_LENGTH = 11  # "rk_" and 8 characters of the secret
KEY_ROLES = frozenset({OrganizationRole.ADMIN, OrganizationRole.USER, OrganizationRole.VIEWER})
MAX_DAYS = 3650


def _now() -> datetime:
    return datetime.now(UTC)


async def create_api_key(
    actor: Actor,
    organization_id: int,
    name: str,
    role: OrganizationRole,
    expires_in_days: int | None,
) -> tuple[ApiKey, str]:
    """The new key and its secret (which is never readable again)."""
    name = clean_name(name)
    if OrganizationRole(role) not in KEY_ROLES:
        raise DomainError(
            ErrorCode.ROLE_NOT_ALLOWED, "API keys have role ADMIN, USER or VIEWER.", "role"
        )
    expires_at = None
    if expires_in_days is not None:
        expires_at = _now() + timedelta(
            days=clean_days(expires_in_days, "expiresInDays", 1, MAX_DAYS)
        )
    secret = new_token(API_KEY_PREFIX)
    async with atomic():
        organization = await locked(organization_id)
        key = await ApiKey.create(
            organization_id=organization.id,
            name=name,
            role=OrganizationRole(role),
            prefix=secret[:PREFIX_LENGTH],
            secret_hash=hash_token(secret),
            created_by_id=actor.user_id,
            expires_at=expires_at,
        )
        await audit.record(
            actor,
            "api_key.created",
            organization_id=organization.id,
            target_type="ApiKey",
            target_id=key.id,
            data={
                "name": name,
                "role": key.role,
                "prefix": key.prefix,
                "expiresAt": expires_at.isoformat() if expires_at else None,
            },
        )
    return key, secret


async def revoke_api_key(actor: Actor, api_key_id: int) -> ApiKey:
    """The key stops working at once; revoking a revoked key changes nothing."""
    async with atomic():
        key = await ApiKey.get_or_none(id=api_key_id)
        if key is None:
            raise not_found("API key", "apiKeyId")
        await locked(key.organization_id)
        key = await ApiKey.get(id=api_key_id)
        if key.revoked_at is not None:
            return key
        key.revoked_at = _now()
        await key.save(update_fields=["revoked_at"])
        await audit.record(
            actor,
            "api_key.revoked",
            organization_id=key.organization_id,
            target_type="ApiKey",
            target_id=key.id,
            data={"name": key.name, "prefix": key.prefix},
        )
    return key
