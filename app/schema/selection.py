"""What a query selects below a connection field, to fetch in bulk what its nodes need."""

from __future__ import annotations

from collections.abc import Iterable

from strawberry.types.nodes import FragmentSpread, InlineFragment, Selection

from app.schema.context import Info


def _selected(selections: Iterable[Selection], path: tuple[str, ...]) -> set[str]:
    """Names of the fields selected at `path` below `selections`, through fragments."""
    names: set[str] = set()
    for selection in selections:
        if isinstance(selection, FragmentSpread | InlineFragment):
            names |= _selected(selection.selections, path)
        elif not path:
            names.add(selection.name)
        elif selection.name == path[0]:
            names |= _selected(selection.selections, path[1:])
    return names


def selected_node_fields(info: Info) -> set[str]:
    """The fields the query asks of each node of the connection field being resolved
    (through `edges { node }` and `nodes`)."""
    top = info.selected_fields[0].selections
    return _selected(top, ("edges", "node")) | _selected(top, ("nodes",))
