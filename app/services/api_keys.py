"""Organization API keys: bearer tokens that act in one organization with one role.

The secret is shown once, at creation; only its SHA-256 digest is stored, with
its first characters as `prefix` so that people can tell keys apart.
Authentication by key lives in app/auth/viewer.py.
"""

from __future__ import annotations

from datetime import timedelta

from app.auth.roles import Permission
from app.auth.tokens import API_KEY_PREFIX, hash_token, new_token
from app.clock import now
from app.errors import DomainError, ErrorCode
from app.models import ApiKey
from app.models.enums import OrganizationRole
from app.services import events
from app.services.audit import Actor
from app.services.tx import atomic, locked_for, locked_row_for
from app.services.validation import clean_days, clean_name

PREFIX_LENGTH = 11  # "rk_" and 8 characters of the secret
KEY_ROLES = frozenset({OrganizationRole.ADMIN, OrganizationRole.USER, OrganizationRole.VIEWER})
MAX_DAYS = 3650


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
        expires_at = now() + timedelta(
            days=clean_days(expires_in_days, "expiresInDays", 1, MAX_DAYS)
        )
    secret = new_token(API_KEY_PREFIX)
    async with atomic():
        organization, actor = await locked_for(
            actor, organization_id, Permission.MANAGE_ORGANIZATION
        )
        key = await ApiKey.create(
            organization_id=organization.id,
            name=name,
            role=OrganizationRole(role),
            prefix=secret[:PREFIX_LENGTH],
            secret_hash=hash_token(secret),
            created_by_id=actor.user_id,
            expires_at=expires_at,
        )
        await events.api_key_created(actor, key)
    return key, secret


async def revoke_api_key(actor: Actor, api_key_id: int) -> ApiKey:
    """The key stops working at once; revoking a revoked key changes nothing."""
    async with atomic():
        _, key, actor = await locked_row_for(
            actor, Permission.MANAGE_ORGANIZATION, ApiKey, api_key_id, "API key", "apiKeyId"
        )
        if key.revoked_at is not None:
            return key
        key.revoked_at = now()
        await key.save(update_fields=["revoked_at"])
        await events.api_key_revoked(actor, key)
    return key
