"""Per-request DataLoaders, created on first use and kept in the request's Context.

Each batches with one `IN` query and returns results in key order. Never
module-level: a global loader would cache across requests and viewers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import strawberry
from strawberry.dataloader import DataLoader
from tortoise.models import Model

from app import models


def _context(info_or_context: Any):
    return getattr(info_or_context, "context", info_or_context)


def get_loader(
    info: strawberry.Info | Any,
    name: str,
    batch: Callable[[Sequence[Any]], Awaitable[Sequence[Any]]],
) -> DataLoader:
    loaders = _context(info).loaders
    loader = loaders.get(name)
    if loader is None:
        loader = loaders[name] = DataLoader(load_fn=batch)
    return loader


def by_id(model: type[Model]) -> Callable[[Sequence[int]], Awaitable[list[Any]]]:
    async def batch(ids: Sequence[int]) -> list[Any]:
        rows = {row.pk: row for row in await model.filter(id__in=list(ids))}
        return [rows.get(i) for i in ids]

    return batch


def many_by(
    model: type[Model], column: str, order: str = "id"
) -> Callable[[Sequence[int]], Awaitable[list[list[Any]]]]:
    async def batch(keys: Sequence[int]) -> list[list[Any]]:
        grouped: dict[int, list[Any]] = defaultdict(list)
        for row in await model.filter(**{f"{column}__in": list(keys)}).order_by(order):
            grouped[getattr(row, column)].append(row)
        return [grouped.get(k, []) for k in keys]

    return batch


async def load_one(info: Any, model: type[Model], pk: int | None) -> Any:
    if pk is None:
        return None
    return await get_loader(info, f"{model.__name__}.by_id", by_id(model)).load(pk)


async def load_many(info: Any, model: type[Model], column: str, key: int) -> list[Any]:
    return await get_loader(info, f"{model.__name__}.by_{column}", many_by(model, column)).load(key)


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
}


async def organization_id_of(info: Any, type_name: str, pk: int) -> int | None:
    """The organization a node belongs to (None when it does not exist)."""
    if type_name == "ProjectAssignment":
        assignment = await load_one(info, models.ProjectAssignment, pk)
        if assignment is None:
            return None
        project = await load_one(info, models.Project, assignment.project_id)
        return project.organization_id if project else None
    model, column = _ORG_COLUMN[type_name]
    row = await load_one(info, model, pk)
    return None if row is None else getattr(row, column)
