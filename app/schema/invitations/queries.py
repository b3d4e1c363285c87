"""`invitationByToken`: what an invitation link opens, for anyone."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.resolvers import invitations as resolve
from app.schema.context import Info
from app.schema.invitations.types import InvitationPreview


@strawberry.type
class Query:
    @strawberry.field(
        description="What an invitation link opens; anyone may ask. Null for an unknown, used "
        "or revoked token."
    )
    async def invitation_by_token(
        self,
        info: Info,
        token: Annotated[
            str, strawberry.argument(description="The `token` of the invitation link.")
        ],
    ) -> InvitationPreview | None:
        link = await resolve.invitation_by_token(info.context, token)
        return None if link is None else InvitationPreview.from_link(link)
