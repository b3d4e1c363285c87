"""`me`: the signed-in user."""

from __future__ import annotations

import strawberry

from app.resolvers import accounts as resolve
from app.schema.accounts.types import UserType
from app.schema.context import Info


@strawberry.type
class Query:
    @strawberry.field(description="The signed-in user; null when anonymous or for API keys.")
    async def me(self, info: Info) -> UserType | None:
        user = resolve.me(info.context)
        return None if user is None else UserType.from_model(user, email_visible=True)
