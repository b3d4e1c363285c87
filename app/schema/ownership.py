"""Ownership transfer."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import Private

from app.auth.roles import Permission
from app.ids import to_global_id
from app.models import OwnershipTransfer
from app.resolvers import ownership as resolve
from app.schema.errors import UserError
from app.schema.permissions import HasOrgPermission, IsUser, guard, org_of_input

if TYPE_CHECKING:
    from app.schema.members import MemberType
    from app.schema.organizations import OrganizationType

MemberT = Annotated["MemberType", strawberry.lazy("app.schema.members")]
OrganizationT = Annotated["OrganizationType", strawberry.lazy("app.schema.organizations")]


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


@strawberry.input
class TransferOwnershipInput:
    member_id: strawberry.ID


@strawberry.input
class ConfirmOwnershipTransferInput:
    token: str


@strawberry.input
class CancelOwnershipTransferInput:
    organization_id: strawberry.ID


@strawberry.type
class TransferOwnershipPayload:
    errors: list[UserError]
    transfer: OwnershipTransferType | None = None


@strawberry.type
class ConfirmOwnershipTransferPayload:
    errors: list[UserError]
    organization: OrganizationT | None = None


@strawberry.type
class CancelOwnershipTransferPayload:
    errors: list[UserError]
    ok: bool | None = None


_owner_of_member = HasOrgPermission(
    Permission.OWN_ORGANIZATION, org_of_input("Member", "member_id")
)
_owner_of_org = HasOrgPermission(
    Permission.OWN_ORGANIZATION, org_of_input("Organization", "organization_id")
)


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Mails a confirmation link to the owner; replaces a pending transfer.",
        extensions=guard(IsUser(), _owner_of_member),
    )
    async def transfer_ownership(
        self, info: strawberry.Info, input: TransferOwnershipInput
    ) -> TransferOwnershipPayload:
        return await resolve.transfer_ownership(info, input)

    @strawberry.mutation(
        description="The owner, signed in, confirms with the mailed token.",
        extensions=guard(IsUser()),
    )
    async def confirm_ownership_transfer(
        self, info: strawberry.Info, input: ConfirmOwnershipTransferInput
    ) -> ConfirmOwnershipTransferPayload:
        return await resolve.confirm_ownership_transfer(info, input)

    @strawberry.mutation(extensions=guard(IsUser(), _owner_of_org))
    async def cancel_ownership_transfer(
        self, info: strawberry.Info, input: CancelOwnershipTransferInput
    ) -> CancelOwnershipTransferPayload:
        return await resolve.cancel_ownership_transfer(info, input)
