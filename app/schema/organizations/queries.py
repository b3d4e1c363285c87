"""`organization` (by id or slug) and `organizations` (the viewer's)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.resolvers import organizations as resolve
from app.resolvers.paging import Window
from app.schema.context import Info
from app.schema.errors import guard
from app.schema.organizations.types import OrganizationType
from app.schema.pagination import After, Before, Connection, First, Last, connection
from app.schema.permissions import IsAuthenticated


@strawberry.type
class Query:
    @strawberry.field(
        description="By id or slug; null when the viewer is not an active member.",
        extensions=guard(IsAuthenticated()),
    )
    async def organization(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID | None, strawberry.argument(description="The organization's id.")
        ] = None,
        slug: Annotated[
            str | None, strawberry.argument(description="The organization's slug.")
        ] = None,
    ) -> OrganizationType | None:
        found = await resolve.organization(info.context, id, slug)
        return None if found is None else OrganizationType.from_model(found)

    @strawberry.field(
        description="The organizations the viewer is an ACTIVE member of (an API key: its own), "
        "by name.",
        extensions=guard(IsAuthenticated()),
    )
    async def organizations(
        self,
        info: Info,
        first: First = 20,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[OrganizationType]:
        page = await resolve.organizations(info.context, Window(first, after, last, before))
        return connection(page, OrganizationType.from_model)
