"""The User type, built from the User model (or a `values()` row of it).

The lowest domain of the schema: it imports no other domain's types at runtime. The
Member and Invitation objects it hands out are built through the node registry.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import Private

from app.ids import to_global_id
from app.models import Organization, User
from app.resolvers import accounts as resolve
from app.resolvers import join_requests as resolve_join_requests
from app.resolvers.members import UserRow
from app.schema.context import Info
from app.schema.execution import PRELOADED
from app.schema.node import Node, as_node, register_node

if TYPE_CHECKING:
    from app.schema.invitations.types import InvitationType
    from app.schema.join_requests.types import JoinRequestType
    from app.schema.members.types import MemberType

MemberT = Annotated["MemberType", strawberry.lazy("app.schema.members.types")]
InvitationT = Annotated["InvitationType", strawberry.lazy("app.schema.invitations.types")]
JoinRequestT = Annotated["JoinRequestType", strawberry.lazy("app.schema.join_requests.types")]


@strawberry.type(
    name="OrganizationSuggestion",
    description="An organization the viewer may ask to join (`requestToJoin`): a verified "
    "REQUEST domain of it matches their verified email.",
)
class OrganizationSuggestionType(Node):
    id: strawberry.ID = strawberry.field(
        description="Opaque global id of the suggestion; `requestToJoin(organizationId:)` takes it."
    )
    name: str = strawberry.field(description="The organization's name.")
    slug: str = strawberry.field(description="The organization's slug.")

    @classmethod
    def from_model(cls, organization: Organization) -> OrganizationSuggestionType:
        return cls(
            id=strawberry.ID(to_global_id("OrganizationSuggestion", organization.pk)),
            name=organization.name,
            slug=organization.slug,
        )


@strawberry.type(name="User", description="A person with an account.")
class UserType(Node):
    id: strawberry.ID = strawberry.field(description="Opaque global id.")
    name: str = strawberry.field(
        description="The name the person gave; readable by everyone who can reach the user."
    )
    email_verified: bool = strawberry.field(
        description="The person proved the address (verification link or invitation token)."
    )
    created_at: datetime = strawberry.field(description="When the account was created.")
    pk: Private[int]
    raw_email: Private[str]
    # Set when the path that led here already proves the viewer may read the email.
    email_known_visible: Private[bool] = False

    @property
    def known_email(self) -> str | None:
        """The email when already known to be visible (see PRELOADED), else None."""
        return self.raw_email if self.email_known_visible else None

    @classmethod
    def from_model(cls, user: User, email_visible: bool = False) -> UserType:
        return cls(
            id=strawberry.ID(to_global_id("User", user.pk)),
            name=user.name,
            email_verified=user.email_verified,
            created_at=user.created_at,
            pk=user.pk,
            raw_email=user.email,
            email_known_visible=email_visible,
        )

    @classmethod
    def from_row(cls, row: UserRow, email_visible: bool = False) -> UserType:
        """From a members page's user row."""
        return cls(
            id=strawberry.ID(to_global_id("User", row.id)),
            name=row.name,
            email_verified=row.email_verified,
            created_at=row.created_at,
            pk=row.id,
            raw_email=row.email,
            email_known_visible=email_visible,
        )

    @strawberry.field(
        description="Personal data: the person themself and ADMIN+ of an organization "
        "they belong to or are invited to; null for anyone else.",
        metadata={PRELOADED: "known_email"},
    )
    async def email(self, info: Info) -> str | None:
        if self.email_known_visible or await resolve.user_email_visible(
            info.context, self.pk, self.raw_email
        ):
            return self.raw_email
        return None

    @strawberry.field(description="The viewer's ACTIVE memberships; only on `me`, else empty.")
    async def memberships(self, info: Info) -> list[MemberT]:
        rows = await resolve.memberships(info.context, self.pk)
        return [as_node("Member", row) for row in rows]

    @strawberry.field(
        description="Pending invitations to the viewer's address; only on `me`, and only "
        "once the email is verified."
    )
    async def pending_invitations(self, info: Info) -> list[InvitationT]:
        rows = await resolve.pending_invitations(info.context, self.pk)
        return [as_node("Invitation", row) for row in rows]

    @strawberry.field(
        description="Organizations the viewer may ask to join: a verified REQUEST domain "
        "matches their verified email, and they have no membership there (removed and "
        "blocked people included) nor a pending request. Only on `me`, else empty."
    )
    async def suggested_organizations(self, info: Info) -> list[OrganizationSuggestionType]:
        rows = await resolve_join_requests.suggested_organizations(info.context, self.pk)
        return [OrganizationSuggestionType.from_model(row) for row in rows]

    @strawberry.field(
        description="The viewer's join requests, newest first (at most 100). Only on `me`, "
        "else empty."
    )
    async def join_requests(self, info: Info) -> list[JoinRequestT]:
        rows = await resolve_join_requests.my_join_requests(info.context, self.pk)
        return [as_node("JoinRequest", row) for row in rows]


register_node("User", resolve.user_node, UserType.from_model)
register_node(
    "OrganizationSuggestion",
    resolve_join_requests.suggestion_node,
    OrganizationSuggestionType.from_model,
)
