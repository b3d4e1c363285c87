"""Scalars: `DateTime` is an RFC 3339 instant (`@specifiedBy`); `JSON` is Strawberry's JSON.

`DateTime` replaces Strawberry's built-in one through the schema's `scalar_overrides`
(every `datetime` annotation maps to it): the same ISO 8601 text as before, with the UTC
offset always written (a naive value is UTC, as everything is stored), and the spec URL
clients such as graphql-codegen read to map it to their date type.
"""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry
from strawberry.scalars import JSON
from strawberry.schema.types.base_scalars import DateTimeDefinition
from strawberry.types.scalar import ScalarDefinition

RFC_3339 = "https://datatracker.ietf.org/doc/html/rfc3339"


def serialize_datetime(value: datetime) -> str:
    """`2024-05-01T12:00:00.123456+00:00`: RFC 3339's date-time (always with an offset)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat()


DateTime: ScalarDefinition = strawberry.scalar(
    name="DateTime",
    description="An instant as an RFC 3339 date-time string with its UTC offset, e.g. "
    "2024-05-01T12:00:00+00:00.",
    specified_by_url=RFC_3339,
    serialize=serialize_datetime,
    # Inputs are read as before (ISO 8601; without an offset they mean UTC).
    parse_value=DateTimeDefinition.parse_value,
)

# For the schema's `scalar_overrides`.
SCALAR_OVERRIDES: dict[object, ScalarDefinition] = {datetime: DateTime}

__all__ = ["JSON", "SCALAR_OVERRIDES", "DateTime"]
