"""The schema's view of the per-request context (defined in app.resolvers.context)."""

from __future__ import annotations

import strawberry

from app.resolvers.context import Context

Info = strawberry.Info[Context, None]

__all__ = ["Context", "Info"]
