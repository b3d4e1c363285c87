"""Verified domains and API keys: their types and mutations."""

from __future__ import annotations

from datetime import datetime

import strawberry

from app.auth.roles import Permission
from app.ids import to_global_id
from app.models import ApiKey, Domain
from app.models.enums import OrganizationRole
from app.resolvers import domains as resolve
from app.schema.errors import UserError
from app.schema.permissions import HasOrgPermission, IsUser, guard, org_of_input


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
    prefix: str = strawberry.field(description="The secret's first characters, to tell keys apart.")
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None = strawberry.field(description="Refreshed at most hourly.")
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


@strawberry.input
class AddDomainInput:
    organization_id: strawberry.ID
    domain: str
    verification_email: str = strawberry.field(description="An address at `domain`.")
    auto_join: bool = False
    auto_join_role: OrganizationRole = strawberry.field(
        default=OrganizationRole.USER, description="USER or VIEWER."
    )


@strawberry.input
class VerifyDomainInput:
    token: str


@strawberry.input
class RemoveDomainInput:
    domain_id: strawberry.ID


@strawberry.input
class CreateApiKeyInput:
    organization_id: strawberry.ID
    name: str
    role: OrganizationRole = strawberry.field(description="ADMIN, USER or VIEWER.")
    expires_in_days: int | None = strawberry.field(
        default=None, description="1 to 3650; null for a key that does not expire."
    )


@strawberry.input
class RevokeApiKeyInput:
    api_key_id: strawberry.ID


@strawberry.type
class DomainPayload:
    errors: list[UserError]
    domain: DomainType | None = None


@strawberry.type
class RemoveDomainPayload:
    errors: list[UserError]
    ok: bool | None = None


@strawberry.type
class CreateApiKeyPayload:
    errors: list[UserError]
    api_key: ApiKeyType | None = None
    secret: str | None = strawberry.field(
        default=None, description="The bearer token; shown only in this answer."
    )


@strawberry.type
class ApiKeyPayload:
    errors: list[UserError]
    api_key: ApiKeyType | None = None


_manage_org = guard(
    HasOrgPermission(
        Permission.MANAGE_ORGANIZATION, org_of_input("Organization", "organization_id")
    )
)


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Mails a verification link to `verificationEmail`.", extensions=_manage_org
    )
    async def add_domain(self, info: strawberry.Info, input: AddDomainInput) -> DomainPayload:
        return await resolve.add_domain(info, input)

    @strawberry.mutation(description="Anonymous OK: the mailed token proves control.")
    async def verify_domain(self, info: strawberry.Info, input: VerifyDomainInput) -> DomainPayload:
        return await resolve.verify_domain(info, input)

    @strawberry.mutation(
        extensions=guard(
            HasOrgPermission(Permission.MANAGE_ORGANIZATION, org_of_input("Domain", "domain_id"))
        )
    )
    async def remove_domain(
        self, info: strawberry.Info, input: RemoveDomainInput
    ) -> RemoveDomainPayload:
        return await resolve.remove_domain(info, input)

    @strawberry.mutation(
        description="Signed-in ADMIN+ only: a key cannot create keys.",
        extensions=guard(
            IsUser(),
            HasOrgPermission(
                Permission.MANAGE_ORGANIZATION, org_of_input("Organization", "organization_id")
            ),
        ),
    )
    async def create_api_key(
        self, info: strawberry.Info, input: CreateApiKeyInput
    ) -> CreateApiKeyPayload:
        return await resolve.create_api_key(info, input)

    @strawberry.mutation(
        description="Signed-in ADMIN+ only: a key cannot revoke keys.",
        extensions=guard(
            IsUser(),
            HasOrgPermission(Permission.MANAGE_ORGANIZATION, org_of_input("ApiKey", "api_key_id")),
        ),
    )
    async def revoke_api_key(
        self, info: strawberry.Info, input: RevokeApiKeyInput
    ) -> ApiKeyPayload:
        return await resolve.revoke_api_key(info, input)
