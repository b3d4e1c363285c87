"""The JoinRequest type, built from the JoinRequest model."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import Private

from app.ids import to_global_id
from app.models import JoinRequest
from app.models.enums import JoinRequestStatus
from app.resolvers import join_requests as resolve
from app.schema.accounts.types import UserType
from app.schema.context import Info
from app.schema.members.types import MemberType
from app.schema.node import Node, as_node, register_node
from app.services.join_requests import effective_status

if TYPE_CHECKING:
    from app.schema.organizations.types import OrganizationType

OrganizationT = Annotated["OrganizationType", strawberry.lazy("app.schema.organizations.types")]


@strawberry.type(
    name="JoinRequest",
    description="A person's request to join an organization through its verified REQUEST "
    "domain. Visible to the organization's OWNER and ADMINs and to the requester.",
)
class JoinRequestType(Node):
    id: strawberry.ID = strawberry.field(description="Opaque global id.")
    status: JoinRequestStatus = strawberry.field(
        description="PENDING past `expiresAt` reads as EXPIRED."
    )
    message: str | None = strawberry.field(
        description="The requester's note to the admins; null when none."
    )
    created_at: datetime = strawberry.field(description="When it was made.")
    expires_at: datetime = strawberry.field(
        description="When a PENDING request expires (30 days after it was made)."
    )
    decided_at: datetime | None = strawberry.field(
        description="When it was approved, denied or withdrawn; null until then."
    )
    model: Private[JoinRequest]

    @property
    def organization_id(self) -> int:
        return self.model.organization_id

    @classmethod
    def from_model(cls, request: JoinRequest) -> JoinRequestType:
        return cls(
            id=strawberry.ID(to_global_id("JoinRequest", request.pk)),
            status=effective_status(request),
            message=request.message,
            created_at=request.created_at,
            expires_at=request.expires_at,
            decided_at=request.decided_at,
            model=request,
        )

    @strawberry.field(description="The organization it asks to join.")
    async def organization(self, info: Info) -> OrganizationT:
        return as_node(  # type: ignore[no-any-return]
            "Organization", await resolve.join_request_organization(info.context, self.model)
        )

    @strawberry.field(
        description="The requester. Their email is readable here by whoever sees the request "
        "(the requester and the organization's OWNER and ADMINs, who decide on it)."
    )
    async def user(self, info: Info) -> UserType:
        user = await resolve.join_request_user(info.context, self.model)
        return UserType.from_model(user, email_visible=True)

    @strawberry.field(
        description="The member who approved or denied it; null while undecided, when "
        "withdrawn, decided by an API key, or not visible to the viewer."
    )
    async def decided_by(self, info: Info) -> MemberType | None:
        member = await resolve.join_request_decided_by(info.context, self.model)
        return None if member is None else MemberType.from_model(member)


register_node("JoinRequest", resolve.join_request_node, JoinRequestType.from_model)
