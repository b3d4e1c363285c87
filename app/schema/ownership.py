"""Ownership transfer."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import Private

from app.ids import to_global_id
from app.models import OwnershipTransfer
from app.resolvers import ownership as resolve

if TYPE_CHECKING:
    from app.schema.members import MemberType

MemberT = Annotated["MemberType", strawberry.lazy("app.schema.members")]


@strawberry.type(name="OwnershipTransfer")
class OwnershipTransferType:
    id: strawberry.ID
    created_at: datetime
    expires_at: datetime
    from_member_id: Private[int]
    to_member_id: Private[int]

    @classmethod
    def from_model(cls, transfer: OwnershipTransfer) -> OwnershipTransferType:
        return cls(
            id=strawberry.ID(to_global_id("OwnershipTransfer", transfer.pk)),
            created_at=transfer.created_at,
            expires_at=transfer.expires_at,
            from_member_id=transfer.from_member_id,
            to_member_id=transfer.to_member_id,
        )

    @strawberry.field(name="from")
    async def from_(self, info: strawberry.Info) -> MemberT:
        return await resolve.member(info, self.from_member_id)

    @strawberry.field
    async def to(self, info: strawberry.Info) -> MemberT:
        return await resolve.member(info, self.to_member_id)
