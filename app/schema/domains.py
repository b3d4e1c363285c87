"""Verified domains and API keys: their types and mutations."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from app.auth.roles import Permission
from app.ids import to_global_id
from app.models import ApiKey, Domain
from app.models.enums import OrganizationRole
from app.resolvers import domains as resolve
from app.schema.errors import INPUT, UserError, errors_field, object_field, ok_field
from app.schema.permissions import HasOrgPermission, IsUser, guard, org_of_input


@strawberry.type(
    name="Domain",
    description="An email domain an organization claims. Once verified with `autoJoin`, people "
    "whose address is at the domain join when their email gets verified.",
)
class DomainType:
    id: strawberry.ID = strawberry.field(description="Opaque id.")
    domain: str = strawberry.field(description="The domain, e.g. example.com (lower case).")
    verified: bool = strawberry.field(
        description="The mailed verification link was followed; false until then."
    )
    auto_join: bool = strawberry.field(
        description="Whether people at the domain join automatically (once verified)."
    )
    auto_join_role: OrganizationRole = strawberry.field(
        description="The role they join with: USER or VIEWER."
    )

    @classmethod
    def from_model(cls, domain: Domain) -> DomainType:
        return cls(
            id=strawberry.ID(to_global_id("Domain", domain.pk)),
            domain=domain.domain,
            verified=domain.verified,
            auto_join=domain.auto_join,
            auto_join_role=OrganizationRole(domain.auto_join_role),
        )


@strawberry.type(
    name="ApiKey",
    description="A bearer token for integrations: acts in its own organization with its role "
    "(never OWNER). The secret itself is shown only by `createApiKey`.",
)
class ApiKeyType:
    id: strawberry.ID = strawberry.field(description="Opaque id.")
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


@strawberry.input(description="A domain to verify.")
class AddDomainInput:
    organization_id: strawberry.ID = strawberry.field(description="The organization.")
    domain: str = strawberry.field(
        description="e.g. example.com; not a public mail provider (DOMAIN_NOT_ALLOWED), not "
        "verified by another organization (DOMAIN_TAKEN)."
    )
    verification_email: str = strawberry.field(
        description="An address at `domain` (INVALID_INPUT otherwise); the link is mailed there."
    )
    auto_join: bool = strawberry.field(
        default=False,
        description="Once verified, people at the domain join when their email gets verified.",
    )
    auto_join_role: OrganizationRole = strawberry.field(
        default=OrganizationRole.USER,
        description="USER or VIEWER (ROLE_NOT_ALLOWED otherwise).",
    )


@strawberry.input(description="The token of the mailed domain verification link.")
class VerifyDomainInput:
    token: str = strawberry.field(
        description="The `token` query parameter of the /domains/verify link (valid 7 days)."
    )


@strawberry.input(description="The domain to remove.")
class RemoveDomainInput:
    domain_id: strawberry.ID = strawberry.field(description="The domain.")


@strawberry.input(description="A new API key.")
class CreateApiKeyInput:
    organization_id: strawberry.ID = strawberry.field(description="The organization.")
    name: str = strawberry.field(description="What it is for, 1 to 200 characters.")
    role: OrganizationRole = strawberry.field(
        description="ADMIN, USER or VIEWER (ROLE_NOT_ALLOWED for OWNER)."
    )
    expires_in_days: int | None = strawberry.field(
        default=None, description="1 to 3650; null for a key that does not expire."
    )


@strawberry.input(description="The API key to revoke.")
class RevokeApiKeyInput:
    api_key_id: strawberry.ID = strawberry.field(description="The key.")


@strawberry.type(description="The result of `addDomain` or `verifyDomain`.")
class DomainPayload:
    errors: list[UserError] = errors_field()
    domain: DomainType | None = object_field("The domain as it is now.")


@strawberry.type(description="The result of `removeDomain`.")
class RemoveDomainPayload:
    errors: list[UserError] = errors_field()
    ok: bool | None = ok_field()


@strawberry.type(description="The result of `createApiKey`.")
class CreateApiKeyPayload:
    errors: list[UserError] = errors_field()
    api_key: ApiKeyType | None = object_field("The new key.")
    secret: str | None = strawberry.field(
        default=None,
        description="The bearer token; shown only in this answer, store it now. Null when refused.",
    )


@strawberry.type(description="The result of `revokeApiKey`.")
class ApiKeyPayload:
    errors: list[UserError] = errors_field()
    api_key: ApiKeyType | None = object_field("The key, revoked.")


_manage_org = guard(
    HasOrgPermission(
        Permission.MANAGE_ORGANIZATION, org_of_input("Organization", "organization_id")
    )
)


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Add a domain, unverified, and mail a verification link to "
        "`verificationEmail`. OWNER and ADMIN (FORBIDDEN otherwise). Codes: NOT_FOUND, "
        "INVALID_INPUT, DOMAIN_NOT_ALLOWED, DOMAIN_TAKEN, ROLE_NOT_ALLOWED.",
        extensions=_manage_org,
    )
    async def add_domain(
        self, info: strawberry.Info, input: Annotated[AddDomainInput, INPUT]
    ) -> DomainPayload:
        return await resolve.add_domain(info, input)

    @strawberry.mutation(
        description="Verify a domain with the mailed token, which proves control: anyone may "
        "call. Codes: INVALID_TOKEN, DOMAIN_TAKEN."
    )
    async def verify_domain(
        self, info: strawberry.Info, input: Annotated[VerifyDomainInput, INPUT]
    ) -> DomainPayload:
        return await resolve.verify_domain(info, input)

    @strawberry.mutation(
        description="Remove a domain; nobody joins through it any more (members stay). OWNER "
        "and ADMIN (FORBIDDEN otherwise). Codes: NOT_FOUND.",
        extensions=guard(
            HasOrgPermission(Permission.MANAGE_ORGANIZATION, org_of_input("Domain", "domain_id"))
        ),
    )
    async def remove_domain(
        self, info: strawberry.Info, input: Annotated[RemoveDomainInput, INPUT]
    ) -> RemoveDomainPayload:
        return await resolve.remove_domain(info, input)

    @strawberry.mutation(
        description="Create an API key; its secret is returned once. Signed-in OWNER and "
        "ADMIN only: a key cannot create keys (FORBIDDEN). Codes: NOT_FOUND, INVALID_INPUT, "
        "ROLE_NOT_ALLOWED.",
        extensions=guard(
            IsUser(),
            HasOrgPermission(
                Permission.MANAGE_ORGANIZATION, org_of_input("Organization", "organization_id")
            ),
        ),
    )
    async def create_api_key(
        self, info: strawberry.Info, input: Annotated[CreateApiKeyInput, INPUT]
    ) -> CreateApiKeyPayload:
        return await resolve.create_api_key(info, input)

    @strawberry.mutation(
        description="Revoke an API key; it stops working at once (revoking twice changes "
        "nothing). Signed-in OWNER and ADMIN only: a key cannot revoke keys (FORBIDDEN). "
        "Codes: NOT_FOUND.",
        extensions=guard(
            IsUser(),
            HasOrgPermission(Permission.MANAGE_ORGANIZATION, org_of_input("ApiKey", "api_key_id")),
        ),
    )
    async def revoke_api_key(
        self, info: strawberry.Info, input: Annotated[RevokeApiKeyInput, INPUT]
    ) -> ApiKeyPayload:
        return await resolve.revoke_api_key(info, input)
