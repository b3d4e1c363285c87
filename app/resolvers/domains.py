from __future__ import annotations

from typing import Any

import strawberry

from app.models import ApiKey, Domain


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
