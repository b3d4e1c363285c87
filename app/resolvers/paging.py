"""Keyset pagination: pages of rows and their cursors.

A cursor is the row's sort-key values (url-safe base64 of JSON). The next
page continues with `WHERE (key) > (cursor)` on an index rather than an
OFFSET, so page 200 costs what page 1 costs. `offset` is offered for
"jump to page N" and is bounded by the usual index scan. The schema layer
turns a `Page` into a Relay connection.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any, ClassVar, Generic, TypeVar, cast

from tortoise.expressions import Q
from tortoise.fields import BigIntField, DatetimeField, IntField, SmallIntField
from tortoise.models import Model
from tortoise.queryset import QuerySet

from app import db
from app.errors import DomainError, ErrorCode

MAX_PAGE = 100
MAX_OFFSET = 1_000_000
DEFAULT_PAGE = 20
T = TypeVar("T")
M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class Window:
    """Which part of a list the client asks for: the Relay paging arguments (and `offset`,
    where a list offers it)."""

    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None
    offset: int | None = None


@dataclass(frozen=True)
class Order:
    """Sort columns, most significant first; the primary key breaks ties."""

    columns: tuple[str, ...]
    descending: bool = False


# json.dumps(separators=…) builds an encoder per call; one is enough (same text).
_CURSOR_JSON = json.JSONEncoder(separators=(",", ":"))


def encode_cursor(values: Sequence[Any]) -> str:
    plain = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    return base64.urlsafe_b64encode(_CURSOR_JSON.encode(plain).encode()).decode()


def _bad_cursor(field: str) -> DomainError:
    return DomainError(ErrorCode.INVALID_INPUT, "This cursor is not valid here.", field)


def _storable(text: str) -> bool:
    """Text a column can hold: no NUL and no lone surrogate (PostgreSQL refuses both)."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


def decode_cursor(
    cursor: str, queryset: QuerySet[M], columns: Sequence[str], field: str
) -> list[Any]:
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


class RecordRow(Generic[M]):
    """A list page's row read from the driver's record (no Tortoise instance). Subclasses
    read the columns their type shows; `model()` builds the instance from the same record
    when a field needs one, once and with no further query."""

    __slots__ = ("_model", "_record")
    model_class: ClassVar[type[Model]]

    def __init__(self, record: Any) -> None:
        self._record = record
        self._model: M | None = None

    def model(self) -> M:
        if self._model is None:
            # Tortoise's own constructor for a fetched row (every column was selected).
            self._model = cast("M", self.model_class._init_from_db(**dict(self._record)))
        return self._model


def model_of(source: M | RecordRow[M]) -> M:
    """The model instance behind a list page's row, or the instance itself."""
    return source.model() if isinstance(source, RecordRow) else source


@dataclass
class Page(Generic[T]):
    """One page of rows with their sort keys, and how to count the whole list."""

    rows: list[T]
    # Each row's sort-column values: its cursor, encoded when a client asks for it.
    keys: list[tuple[Any, ...]]
    has_next: bool
    has_previous: bool
    count: Callable[[], Awaitable[int]] = field(repr=False)

    def cursor(self, index: int) -> str:
        return encode_cursor(self.keys[index])

    def map(self, convert: Callable[[T], Any]) -> Page[Any]:
        """The same page with each row converted (the keys stay)."""
        return Page(
            [convert(row) for row in self.rows],
            self.keys,
            self.has_next,
            self.has_previous,
            self.count,
        )


def sort_keys(rows: Sequence[Any], columns: Sequence[str]) -> list[tuple[Any, ...]]:
    """The values of `columns` of each row (attributes), for its cursor."""
    if len(columns) == 1:
        return [(getattr(row, columns[0]),) for row in rows]
    read = attrgetter(*columns)
    return [read(row) for row in rows]


def check_window(first: int | None, last: int | None, offset: int | None) -> None:
    for name, value in (("first", first), ("last", last)):
        if value is not None and not 0 <= value <= MAX_PAGE:
            raise DomainError(ErrorCode.INVALID_INPUT, f"`{name}` is 0 to {MAX_PAGE}.", name)
    if offset is not None and not 0 <= offset <= MAX_OFFSET:
        raise DomainError(ErrorCode.INVALID_INPUT, f"`offset` is 0 to {MAX_OFFSET}.", "offset")
    if first is not None and last is not None:
        raise DomainError(ErrorCode.INVALID_INPUT, "Give `first` or `last`, not both.", "last")


async def paginate(
    queryset: QuerySet[M], order: Order, window: Window, *, default_size: int = DEFAULT_PAGE
) -> Page[M]:
    """A page of model instances."""
    return await _paginate(queryset, order, window, default_size, _instances)


async def paginate_records(
    queryset: QuerySet[M],
    order: Order,
    window: Window,
    convert: Callable[[Any], T],
    *,
    default_size: int = DEFAULT_PAGE,
) -> Page[T]:
    """A page of the queryset's rows read as the driver's records (app.db.select_records)
    and converted by `convert`, whose results carry the order's columns as attributes (for
    the cursors): the lean path of list pages, without Tortoise model instances."""

    async def fetch(qs: QuerySet[M]) -> list[T]:
        return [convert(record) for record in await db.select_records(qs)]

    return await _paginate(queryset, order, window, default_size, fetch)


async def _instances(qs: QuerySet[M]) -> list[M]:
    return list(await qs)


async def _paginate(
    queryset: QuerySet[M],
    order: Order,
    window: Window,
    default_size: int,
    fetch: Callable[[QuerySet[M]], Awaitable[list[T]]],
) -> Page[T]:
    first, after, last, before, offset = (
        window.first,
        window.after,
        window.last,
        window.before,
        window.offset,
    )
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
    rows = await fetch(qs.limit(size + 1)) if size else []
    more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()
    keys = sort_keys(rows, columns)
    if backwards:
        return Page(
            rows, keys, has_next=before is not None, has_previous=more, count=queryset.count
        )
    return Page(
        rows,
        keys,
        has_next=more,
        has_previous=after is not None or bool(offset),
        count=queryset.count,
    )
