"""Per-request DataLoaders, created on first use and kept in the request's Context.

Each batches with one `IN` query and returns results in key order. Never
module-level: a global loader would cache across requests and viewers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader
from tortoise.models import Model

from app import db, models
from app.resolvers.context import Context

M = TypeVar("M", bound=Model)
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def get_loader(
    ctx: Context, name: str, batch: Callable[[list[K]], Awaitable[Sequence[V]]]
) -> DataLoader[K, V]:
    loader = ctx.loaders.get(name)
    if loader is None:
        loader = ctx.loaders[name] = DataLoader(load_fn=batch)
    return loader


def _by_id(model: type[M]) -> Callable[[list[int]], Awaitable[list[M | None]]]:
    async def batch(ids: list[int]) -> list[M | None]:
        rows = {row.pk: row for row in await db.models_by_keys(model, ids)}
        return [rows.get(i) for i in ids]

    return batch


def _many_by(
    model: type[M], column: str, order: str = "id"
) -> Callable[[list[int]], Awaitable[list[list[M]]]]:
    async def batch(keys: list[int]) -> list[list[M]]:
        grouped: dict[int, list[M]] = defaultdict(list)
        for row in await model.filter(**{f"{column}__in": keys}).order_by(order):
            grouped[getattr(row, column)].append(row)
        return [grouped.get(k, []) for k in keys]

    return batch


async def load_one(ctx: Context, model: type[M], pk: int | None) -> M | None:
    if pk is None:
        return None
    return await get_loader(ctx, f"{model.__name__}.by_id", _by_id(model)).load(pk)


async def load_some(ctx: Context, model: type[M], pks: Sequence[int]) -> list[M | None]:
    """Rows by primary key, in `pks` order, through the same loader as `load_one`."""
    if not pks:
        return []
    loader = get_loader(ctx, f"{model.__name__}.by_id", _by_id(model))
    return list(await loader.load_many(pks))


async def load_many(ctx: Context, model: type[M], column: str, key: int) -> list[M]:
    return await get_loader(ctx, f"{model.__name__}.by_{column}", _many_by(model, column)).load(key)


# How to find the organization of each kind of node.
_ORG_COLUMN: dict[str, tuple[type[Model], str]] = {
    "Organization": (models.Organization, "id"),
    "Member": (models.Member, "organization_id"),
    "Invitation": (models.Invitation, "organization_id"),
    "Project": (models.Project, "organization_id"),
    "Domain": (models.Domain, "organization_id"),
    "ApiKey": (models.ApiKey, "organization_id"),
    "AuditEvent": (models.AuditEvent, "organization_id"),
    "OwnershipTransfer": (models.OwnershipTransfer, "organization_id"),
    "Team": (models.Team, "organization_id"),
    "ScimConnection": (models.ScimConnection, "organization_id"),
    "JoinRequest": (models.JoinRequest, "organization_id"),
    "WebhookEndpoint": (models.WebhookEndpoint, "organization_id"),
}


async def organization_id_of(ctx: Context, type_name: str, pk: int | None) -> int | None:
    """The organization a node belongs to (None when it does not exist)."""
    if pk is None:
        return None
    if type_name == "ProjectAssignment":
        assignment = await load_one(ctx, models.ProjectAssignment, pk)
        if assignment is None:
            return None
        project = await load_one(ctx, models.Project, assignment.project_id)
        return project.organization_id if project else None
    if type_name == "WebhookDelivery":
        delivery = await load_one(ctx, models.WebhookDelivery, pk)
        if delivery is None:
            return None
        endpoint = await load_one(ctx, models.WebhookEndpoint, delivery.endpoint_id)
        return endpoint.organization_id if endpoint else None
    model, column = _ORG_COLUMN[type_name]
    row: Any = await load_one(ctx, model, pk)
    return None if row is None else getattr(row, column)
