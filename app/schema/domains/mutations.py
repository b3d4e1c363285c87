"""Domain changes (add, verify, remove) and API key changes (create, revoke)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.auth.roles import Permission
from app.models.enums import DomainJoinPolicy, OrganizationRole
from app.resolvers import api_keys as resolve_api_keys
from app.resolvers import domains as resolve
from app.schema.context import Info
from app.schema.domains.types import ApiKeyType, DomainType
from app.schema.errors import INPUT, UserError, errors_field, mutation, object_field, ok_field
from app.schema.permissions import IsUser, OrgInput


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
        description="Once verified, people at the domain join when their email gets verified: "
        "the same as `joinPolicy: AUTO_JOIN`.",
    )
    auto_join_role: OrganizationRole = strawberry.field(
        default=OrganizationRole.USER,
        description="USER or VIEWER (ROLE_NOT_ALLOWED otherwise).",
    )
    join_policy: DomainJoinPolicy | None = strawberry.field(
        default=None,
        description="How people at the domain may join; null: AUTO_JOIN when `autoJoin` is "
        "true, else OFF. A policy other than AUTO_JOIN with `autoJoin: true` is INVALID_INPUT.",
    )


@strawberry.input(description="Changes to a domain's joining; null fields stay as they are.")
class UpdateDomainInput:
    domain_id: strawberry.ID = strawberry.field(description="The domain.")
    join_policy: DomainJoinPolicy | None = strawberry.field(
        default=None, description="The new join policy."
    )
    auto_join_role: OrganizationRole | None = strawberry.field(
        default=None, description="USER or VIEWER (ROLE_NOT_ALLOWED otherwise)."
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


@strawberry.type(description="The result of `addDomain`, `updateDomain` or `verifyDomain`.")
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


def _manage(type_name: str, field: str) -> OrgInput:
    return OrgInput(Permission.MANAGE_ORGANIZATION, type_name, field)


@strawberry.type
class Mutation:
    @mutation(
        "Add a domain, unverified, and mail a verification link to `verificationEmail`. "
        "OWNER and ADMIN (FORBIDDEN otherwise). Codes: EMAIL_NOT_VERIFIED, NOT_FOUND, "
        "INVALID_INPUT, INVALID_EMAIL, DOMAIN_NOT_ALLOWED, DOMAIN_TAKEN, ROLE_NOT_ALLOWED.",
        _manage("Organization", "organization_id"),
    )
    async def add_domain(
        self, info: Info, input: Annotated[AddDomainInput, INPUT]
    ) -> DomainPayload:
        domain = await resolve.add_domain(
            info.context,
            input.domain,
            input.verification_email,
            input.auto_join,
            input.auto_join_role,
            input.join_policy,
        )
        return DomainPayload(domain=DomainType.from_model(domain))

    @mutation(
        "Change how people at a domain join: `joinPolicy` and `autoJoinRole`. Pending join "
        "requests stay pending. OWNER and ADMIN (FORBIDDEN otherwise). Codes: NOT_FOUND, "
        "ROLE_NOT_ALLOWED.",
        _manage("Domain", "domain_id"),
    )
    async def update_domain(
        self, info: Info, input: Annotated[UpdateDomainInput, INPUT]
    ) -> DomainPayload:
        domain = await resolve.update_domain(info.context, input.join_policy, input.auto_join_role)
        return DomainPayload(domain=DomainType.from_model(domain))

    @mutation(
        "Verify a domain with the mailed token, which proves control: anyone may call. Codes: "
        "INVALID_TOKEN, DOMAIN_TAKEN."
    )
    async def verify_domain(
        self, info: Info, input: Annotated[VerifyDomainInput, INPUT]
    ) -> DomainPayload:
        domain = await resolve.verify_domain(info.context, input.token)
        return DomainPayload(domain=DomainType.from_model(domain))

    @mutation(
        "Remove a domain; nobody joins through it any more (members stay). OWNER and ADMIN "
        "(FORBIDDEN otherwise). Codes: NOT_FOUND.",
        _manage("Domain", "domain_id"),
    )
    async def remove_domain(
        self, info: Info, input: Annotated[RemoveDomainInput, INPUT]
    ) -> RemoveDomainPayload:
        await resolve.remove_domain(info.context)
        return RemoveDomainPayload(ok=True)

    @mutation(
        "Create an API key; its secret is returned once. Signed-in OWNER and ADMIN only: a key "
        "cannot create keys (FORBIDDEN). Codes: NOT_FOUND, INVALID_INPUT, ROLE_NOT_ALLOWED.",
        IsUser(),
        _manage("Organization", "organization_id"),
    )
    async def create_api_key(
        self, info: Info, input: Annotated[CreateApiKeyInput, INPUT]
    ) -> CreateApiKeyPayload:
        key, secret = await resolve_api_keys.create_api_key(
            info.context, input.name, input.role, input.expires_in_days
        )
        return CreateApiKeyPayload(api_key=ApiKeyType.from_model(key), secret=secret)

    @mutation(
        "Revoke an API key; it stops working at once (revoking twice changes nothing). "
        "Signed-in OWNER and ADMIN only: a key cannot revoke keys (FORBIDDEN). Codes: "
        "NOT_FOUND.",
        IsUser(),
        _manage("ApiKey", "api_key_id"),
    )
    async def revoke_api_key(
        self, info: Info, input: Annotated[RevokeApiKeyInput, INPUT]
    ) -> ApiKeyPayload:
        key = await resolve_api_keys.revoke_api_key(info.context)
        return ApiKeyPayload(api_key=ApiKeyType.from_model(key))
