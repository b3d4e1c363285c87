from __future__ import annotations

from typing import Any

import strawberry

from app.errors import not_found
from app.ids import pk_of
from app.models import ApiKey, Domain
from app.schema.errors import mutate
from app.schema.loaders import load_one
from app.services import api_keys, domains


async def organization_domains(info: strawberry.Info, org: Any) -> list[Any]:
    from app.schema.domains import DomainType

    return [
        DomainType.from_model(d)
        for d in await Domain.filter(organization_id=org.pk).order_by("domain")
    ]


async def organization_api_keys(info: strawberry.Info, org: Any) -> list[Any]:
    from app.schema.domains import ApiKeyType

    return [
        ApiKeyType.from_model(k)
        for k in await ApiKey.filter(organization_id=org.pk).order_by("-id")
    ]


async def _access(info: strawberry.Info, organization_id: int | None, field: str, what: str):
    """The viewer's access to the organization, or NOT_FOUND when they are not in it."""
    access = await info.context.access(organization_id)
    if access is None:
        raise not_found(what, field)
    return access


async def add_domain(info: strawberry.Info, input: Any) -> Any:
    from app.schema.domains import DomainPayload, DomainType

    async def change() -> dict[str, Any]:
        pk = pk_of(input.organization_id, "Organization")
        access = await _access(info, pk, "organizationId", "Organization")
        row = await domains.add_domain(
            info.context.actor(access),
            pk,
            input.domain,
            input.verification_email,
            input.auto_join,
            input.auto_join_role,
        )
        return {"domain": DomainType.from_model(row)}

    return await mutate(info, DomainPayload, change)


async def verify_domain(info: strawberry.Info, input: Any) -> Any:
    from app.schema.domains import DomainPayload, DomainType

    async def change() -> dict[str, Any]:
        row = await domains.verify_domain(input.token, info.context.viewer, info.context.ip)
        return {"domain": DomainType.from_model(row)}

    return await mutate(info, DomainPayload, change)


async def remove_domain(info: strawberry.Info, input: Any) -> Any:
    from app.schema.domains import RemoveDomainPayload

    async def change() -> dict[str, Any]:
        row = await load_one(info, Domain, pk_of(input.domain_id, "Domain"))
        access = await _access(info, row and row.organization_id, "domainId", "Domain")
        await domains.remove_domain(info.context.actor(access), row.id)
        return {"ok": True}

    return await mutate(info, RemoveDomainPayload, change)


async def create_api_key(info: strawberry.Info, input: Any) -> Any:
    from app.schema.domains import ApiKeyType, CreateApiKeyPayload

    async def change() -> dict[str, Any]:
        pk = pk_of(input.organization_id, "Organization")
        access = await _access(info, pk, "organizationId", "Organization")
        key, secret = await api_keys.create_api_key(
            info.context.actor(access), pk, input.name, input.role, input.expires_in_days
        )
        return {"api_key": ApiKeyType.from_model(key), "secret": secret}

    return await mutate(info, CreateApiKeyPayload, change)


async def revoke_api_key(info: strawberry.Info, input: Any) -> Any:
    from app.schema.domains import ApiKeyPayload, ApiKeyType

    async def change() -> dict[str, Any]:
        row = await load_one(info, ApiKey, pk_of(input.api_key_id, "ApiKey"))
        access = await _access(info, row and row.organization_id, "apiKeyId", "API key")
        key = await api_keys.revoke_api_key(info.context.actor(access), row.id)
        return {"api_key": ApiKeyType.from_model(key)}

    return await mutate(info, ApiKeyPayload, change)
