"""Relay connections over keyset cursors.

A cursor is the row's sort-key values (url-safe base64 of JSON). The next
page continues with `WHERE (key) > (cursor)` on an index rather than an
OFFSET, so page 200 costs what page 1 costs. `offset` is offered for
"jump to page N" and is bounded by the usual index scan.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

import strawberry
from tortoise.expressions import Q
from tortoise.fields import BigIntField, DatetimeField, IntField, SmallIntField
from tortoise.queryset import QuerySet

from app.errors import DomainError, ErrorCode

MAX_PAGE = 100
MAX_OFFSET = 1_000_000
T = TypeVar("T")

# The paging arguments, described once for every list field that takes them.
First = Annotated[
    int | None,
    strawberry.argument(description=f"At most this many from the start, 0 to {MAX_PAGE}."),
]
After = Annotated[
    str | None, strawberry.argument(description="Continue after this cursor (an `endCursor`).")
]
Last = Annotated[
    int | None, strawberry.argument(description=f"At most this many from the end, 0 to {MAX_PAGE}.")
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
    start_cursor: str | None = strawberry.field(
        description="The first item's cursor, for `before`; null on an empty page."
    )
    end_cursor: str | None = strawberry.field(
        description="The last item's cursor, for `after`; null on an empty page."
    )


@strawberry.type(description="One item of a page, with its cursor.")
class Edge(Generic[T]):
    cursor: str = strawberry.field(description="Opaque; pass to `after` or `before`.")
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


@dataclass(frozen=True)
class Order:
    """Sort columns, most significant first; the primary key breaks ties."""

    columns: tuple[str, ...]
    descending: bool = False


def encode_cursor(values: Sequence[Any]) -> str:
    plain = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain, separators=(",", ":")).encode()).decode()


def _bad_cursor(field: str) -> DomainError:
    return DomainError(ErrorCode.INVALID_INPUT, "This cursor is not valid here.", field)


def _storable(text: str) -> bool:
    """Text a column can hold: no NUL and no lone surrogate (PostgreSQL refuses both)."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


def decode_cursor(cursor: str, queryset: QuerySet, columns: Sequence[str], field: str) -> list:
    if len(cursor) > 1000:
        raise _bad_cursor(field)
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise _bad_cursor(field) from exc
    if not isinstance(values, list) or len(values) != len(columns):
        raise _bad_cursor(field)
    fields_map = queryset.model._meta.fields_map
    decoded = []
    for column, value in zip(columns, values, strict=True):
        model_field = fields_map.get(column.removesuffix("_id")) or fields_map.get(column)
        # A forged cursor may hold what no column can: refuse it before the driver fails.
        if isinstance(model_field, DatetimeField):
            if not isinstance(value, str):
                raise _bad_cursor(field)
            try:
                value = datetime.fromisoformat(value)
                if value.tzinfo is not None:
                    value = value.astimezone(UTC)  # year 1 at +14:00 has no UTC datetime
            except (ValueError, OverflowError) as exc:
                raise _bad_cursor(field) from exc
        elif isinstance(model_field, IntField | SmallIntField | BigIntField):
            if not isinstance(value, int) or isinstance(value, bool):
                raise _bad_cursor(field)
            limits = model_field.constraints
            if not limits.get("ge", value) <= value <= limits.get("le", value):
                raise _bad_cursor(field)
        elif not isinstance(value, str) or not _storable(value):
            raise _bad_cursor(field)
        decoded.append(value)
    return decoded


def _after(columns: Sequence[str], values: Sequence[Any], descending: bool) -> Q:
    """Rows strictly after `values` in the order of `columns`."""
    op = "lt" if descending else "gt"
    clauses = []
    for i, column in enumerate(columns):
        equal = {c: v for c, v in zip(columns[:i], values[:i], strict=True)}
        clauses.append(Q(**equal, **{f"{column}__{op}": values[i]}))
    return Q(*clauses, join_type="OR")


@dataclass
class Page(Generic[T]):
    rows: list[T]
    cursors: list[str]
    has_next: bool
    has_previous: bool


def check_window(first: int | None, last: int | None, offset: int | None) -> None:
    for name, value in (("first", first), ("last", last)):
        if value is not None and not 0 <= value <= MAX_PAGE:
            raise DomainError(ErrorCode.INVALID_INPUT, f"`{name}` is 0 to {MAX_PAGE}.", name)
    if offset is not None and not 0 <= offset <= MAX_OFFSET:
        raise DomainError(ErrorCode.INVALID_INPUT, f"`offset` is 0 to {MAX_OFFSET}.", "offset")
    if first is not None and last is not None:
        raise DomainError(ErrorCode.INVALID_INPUT, "Give `first` or `last`, not both.", "last")


async def paginate(
    queryset: QuerySet,
    order: Order,
    *,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    offset: int | None = None,
    default_size: int = 20,
) -> Page:
    check_window(first, last, offset)
    columns = (*order.columns, "id")
    backwards = last is not None or (before is not None and first is None)
    size = (last if backwards else first) if (first is not None or last is not None) else None
    size = default_size if size is None else size
    qs = queryset
    if after is not None:
        qs = qs.filter(
            _after(columns, decode_cursor(after, qs, columns, "after"), order.descending)
        )
    if before is not None:
        values = decode_cursor(before, qs, columns, "before")
        qs = qs.filter(_after(columns, values, not order.descending))
    descending = order.descending != backwards
    sort = [f"-{c}" if descending else c for c in columns]
    qs = qs.order_by(*sort)
    if offset:
        qs = qs.offset(offset)
    rows = list(await qs.limit(size + 1)) if size else []
    more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()
    cursors = [encode_cursor([getattr(row, c) for c in columns]) for row in rows]
    if backwards:
        return Page(rows, cursors, has_next=before is not None, has_previous=more)
    return Page(rows, cursors, has_next=more, has_previous=after is not None or bool(offset))


def connection(
    page: Page, to_node: Callable[[Any], T], count: Callable[[], Awaitable[int]]
) -> Connection[T]:
    edges = [
        Edge(cursor=cursor, node=to_node(row))
        for row, cursor in zip(page.rows, page.cursors, strict=True)
    ]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=page.has_next,
            has_previous_page=page.has_previous,
            start_cursor=page.cursors[0] if page.cursors else None,
            end_cursor=page.cursors[-1] if page.cursors else None,
        ),
        count=count,
    )
