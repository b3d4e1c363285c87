"""The Relay `Node` interface and `node(id:)`: each type registers how to load and wrap itself."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import strawberry

from app.ids import from_global_id
from app.resolvers.context import Context
from app.schema.context import Info

# (context, pk) → the object if the viewer may see it, else None.
NodeLoader = Callable[[Context, int], Awaitable[Any]]
_types: dict[str, tuple[NodeLoader, Callable[[Any], Any]]] = {}


@strawberry.interface(
    description="An object with an opaque global id; `node(id:)` fetches any the viewer may see."
)
class Node:
    id: strawberry.ID = strawberry.field(description="Opaque global id.")


def register_node(type_name: str, load: NodeLoader, wrap: Callable[[Any], Any]) -> None:
    """`load(context, pk)` finds what the viewer may see; `wrap` makes it a GraphQL object."""
    _types[type_name] = (load, wrap)


def as_node(type_name: str, found: Any) -> Any:
    """`found` wrapped in the GraphQL type registered for `type_name`: how a domain's type
    refers to a type whose module imports its own (the arrow of imports runs one way)."""
    return _types[type_name][1](found)


async def resolve_node(info: Info, global_id: str) -> Node | None:
    decoded = from_global_id(global_id)
    if decoded is None or decoded[0] not in _types:
        return None
    type_name, pk = decoded
    load, wrap = _types[type_name]
    found = await load(info.context, pk)
    return None if found is None else wrap(found)
