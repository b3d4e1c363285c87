"""Scalars: `DateTime` is Strawberry's ISO-8601 datetime; `JSON` is Strawberry's JSON."""

from strawberry.scalars import JSON

__all__ = ["JSON"]
