"""Verified domains and API keys."""

from __future__ import annotations

from datetime import datetime

import strawberry

from app.ids import to_global_id
from app.models import ApiKey, Domain
from app.models.enums import OrganizationRole


@strawberry.type(name="Domain")
class DomainType:
    id: strawberry.ID
    domain: str
    verified: bool
    auto_join: bool
    auto_join_role: OrganizationRole

    @classmethod
    def from_model(cls, domain: Domain) -> DomainType:
        return cls(
            id=strawberry.ID(to_global_id("Domain", domain.pk)),
            domain=domain.domain,
            verified=domain.verified,
            auto_join=domain.auto_join,
            auto_join_role=OrganizationRole(domain.auto_join_role),
        )


@strawberry.type(name="ApiKey")
class ApiKeyType:
    id: strawberry.ID
    name: str
    role: OrganizationRole
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def from_model(cls, key: ApiKey) -> ApiKeyType:
        return cls(
            id=strawberry.ID(to_global_id("ApiKey", key.pk)),
            name=key.name,
            role=OrganizationRole(key.role),
            prefix=key.prefix,
            created_at=key.created_at,
            expires_at=key.expires_at,
            last_used_at=key.last_used_at,
            revoked_at=key.revoked_at,
        )
