"""Relay connections: the GraphQL shape of a `Page` from app.resolvers.paging."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Generic, TypeVar

import strawberry

from app.resolvers.paging import DEFAULT_PAGE, MAX_PAGE, Page

T = TypeVar("T")

# The paging arguments, described once for every list field that takes them.
First = Annotated[
    int | None,
    strawberry.argument(
        description=f"At most this many from the start, 0 to {MAX_PAGE}; a page holds "
        f"{DEFAULT_PAGE} when neither `first` nor `last` is given."
    ),
]
After = Annotated[
    str | None, strawberry.argument(description="Continue after this cursor (an `endCursor`).")
]
Last = Annotated[
    int | None,
    strawberry.argument(
        description=f"At most this many from the end, 0 to {MAX_PAGE}; a page holds "
        f"{DEFAULT_PAGE} when neither `first` nor `last` is given."
    ),
]
Before = Annotated[
    str | None, strawberry.argument(description="Continue before this cursor (a `startCursor`).")
]
Offset = Annotated[
    int | None, strawberry.argument(description="Skip this many first, to jump to a page.")
]


@strawberry.type(description="Where a page sits in the whole list.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="More items follow this page.")
    has_previous_page: bool = strawberry.field(description="Items precede this page.")
    # Cursors are encoded only when asked for.
    page: strawberry.Private[Page[Any]]

    @strawberry.field(description="The first item's cursor, for `before`; null on an empty page.")
    def start_cursor(self) -> str | None:
        return self.page.cursor(0) if self.page.keys else None

    @strawberry.field(description="The last item's cursor, for `after`; null on an empty page.")
    def end_cursor(self) -> str | None:
        return self.page.cursor(-1) if self.page.keys else None


@strawberry.type(description="One item of a page, with its cursor.")
class Edge(Generic[T]):
    page: strawberry.Private[Page[Any]]
    index: strawberry.Private[int]

    @strawberry.field(description="Opaque; pass to `after` or `before`.")
    def cursor(self) -> str:
        return self.page.cursor(self.index)

    node: T = strawberry.field(description="The item.")


@strawberry.type(description="A page of a list, paged with cursors (Relay connection).")
class Connection(Generic[T]):
    edges: list[Edge[T]] = strawberry.field(description="The page's items with their cursors.")
    page_info: PageInfo = strawberry.field(description="Where this page sits in the list.")
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="The page's items, without cursors.")
    def nodes(self) -> list[T]:
        return [edge.node for edge in self.edges]

    @strawberry.field(description="How many match the filters, across all pages.")
    async def total_count(self) -> int:
        return await self.count()


def connection(page: Page[Any], to_node: Callable[[Any], T]) -> Connection[T]:
    """A page of rows as a connection, each row wrapped by `to_node`."""
    return Connection(
        edges=[Edge(page=page, index=i, node=to_node(row)) for i, row in enumerate(page.rows)],
        page_info=PageInfo(
            has_next_page=page.has_next, has_previous_page=page.has_previous, page=page
        ),
        count=page.count,
    )
