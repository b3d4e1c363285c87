"""The Domain and ApiKey types, built from their models; both are nodes that OWNER and
ADMIN of their organization may fetch."""

from __future__ import annotations

from datetime import datetime

import strawberry

from app.ids import to_global_id
from app.models import ApiKey, Domain
from app.models.enums import DomainJoinPolicy, OrganizationRole
from app.resolvers import api_keys as resolve_api_keys
from app.resolvers import domains as resolve
from app.schema.node import Node, register_node


@strawberry.type(
    name="Domain",
    description="An email domain an organization claims. Once verified with `autoJoin`, people "
    "whose address is at the domain join when their email gets verified. Visible to the "
    "organization's OWNER and ADMINs.",
)
class DomainType(Node):
    id: strawberry.ID = strawberry.field(description="Opaque global id.")
    domain: str = strawberry.field(description="The domain, e.g. example.com (lower case).")
    verified: bool = strawberry.field(
        description="The mailed verification link was followed; false until then."
    )
    auto_join: bool = strawberry.field(
        description="Whether people at the domain join automatically (once verified): true "
        "exactly when `joinPolicy` is AUTO_JOIN."
    )
    join_policy: DomainJoinPolicy = strawberry.field(
        description="How people whose verified email is at the domain may join (once verified)."
    )
    auto_join_role: OrganizationRole = strawberry.field(
        description="The role they join with (AUTO_JOIN, or an approved request unless the "
        "approver chose another): USER or VIEWER."
    )

    @classmethod
    def from_model(cls, domain: Domain) -> DomainType:
        return cls(
            id=strawberry.ID(to_global_id("Domain", domain.pk)),
            domain=domain.domain,
            verified=domain.verified,
            auto_join=domain.auto_join,
            join_policy=DomainJoinPolicy(domain.join_policy),
            auto_join_role=OrganizationRole(domain.auto_join_role),
        )


@strawberry.type(
    name="ApiKey",
    description="A bearer token for integrations: acts in its own organization with its role "
    "(never OWNER). The secret itself is shown only by `createApiKey`. Visible to the "
    "organization's OWNER and ADMINs.",
)
class ApiKeyType(Node):
    id: strawberry.ID = strawberry.field(description="Opaque global id.")
    name: str = strawberry.field(description="What it is for, 1 to 200 characters.")
    role: OrganizationRole = strawberry.field(description="ADMIN, USER or VIEWER.")
    prefix: str = strawberry.field(description="The secret's first characters, to tell keys apart.")
    created_at: datetime = strawberry.field(description="When it was created.")
    expires_at: datetime | None = strawberry.field(
        description="When it stops working; null when it does not expire."
    )
    last_used_at: datetime | None = strawberry.field(
        description="Last use, refreshed at most hourly; null when never used."
    )
    revoked_at: datetime | None = strawberry.field(
        description="When it was revoked; null while valid."
    )

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


register_node("Domain", resolve.domain_node, DomainType.from_model)
register_node("ApiKey", resolve_api_keys.api_key_node, ApiKeyType.from_model)
