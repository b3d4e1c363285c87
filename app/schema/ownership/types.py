"""The OwnershipTransfer type, built from the OwnershipTransfer model."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import Private

from app.ids import to_global_id
from app.models import OwnershipTransfer
from app.resolvers import ownership as resolve
from app.schema.context import Info
from app.schema.members.types import MemberType
from app.schema.node import Node, register_node


@strawberry.type(
    name="OwnershipTransfer",
    description="A handover of the OWNER role, PENDING until the owner confirms with the "
    "mailed link. Visible to the organization's OWNER and ADMINs.",
)
class OwnershipTransferType(Node):
    id: strawberry.ID = strawberry.field(description="Opaque global id.")
    created_at: datetime = strawberry.field(description="When the owner started it.")
    expires_at: datetime = strawberry.field(
        description="72 hours after `createdAt`; the link does not work after it."
    )
    model: Private[OwnershipTransfer]

    @property
    def organization_id(self) -> int:
        return self.model.organization_id

    @classmethod
    def from_model(cls, transfer: OwnershipTransfer) -> OwnershipTransferType:
        return cls(
            id=strawberry.ID(to_global_id("OwnershipTransfer", transfer.pk)),
            created_at=transfer.created_at,
            expires_at=transfer.expires_at,
            model=transfer,
        )

    @strawberry.field(name="from", description="The owner, who becomes ADMIN.")
    async def from_(self, info: Info) -> MemberType:
        return MemberType.from_model(await resolve.transfer_from(info.context, self.model))

    @strawberry.field(description="The ACTIVE ADMIN or USER who becomes OWNER.")
    async def to(self, info: Info) -> MemberType:
        return MemberType.from_model(await resolve.transfer_to(info.context, self.model))


register_node("OwnershipTransfer", resolve.transfer_node, OwnershipTransferType.from_model)
