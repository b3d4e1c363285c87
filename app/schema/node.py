"""The Relay `Node` interface and `node(id:)`: each type registers how to load itself."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import strawberry

from app.ids import from_global_id

NodeResolver = Callable[[strawberry.Info, int], Awaitable[Any]]
_resolvers: dict[str, NodeResolver] = {}


@strawberry.interface(
    description="An object with an opaque global id; `node(id:)` fetches any the viewer may see."
)
class Node:
    id: strawberry.ID = strawberry.field(description="Opaque global id.")


def register_node(type_name: str, resolver: NodeResolver) -> None:
    """`resolver(info, pk)` returns the object if the viewer may see it, else None."""
    _resolvers[type_name] = resolver


async def resolve_node(info: strawberry.Info, global_id: str) -> Node | None:
    decoded = from_global_id(global_id)
    if decoded is None or decoded[0] not in _resolvers:
        return None
    type_name, pk = decoded
    return await _resolvers[type_name](info, pk)
