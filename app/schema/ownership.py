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
from app.schema.errors import INPUT, UserError, errors_field, object_field, ok_field
from app.schema.permissions import HasOrgPermission, IsUser, guard, org_of_input

if TYPE_CHECKING:
    from app.schema.members import MemberType
    from app.schema.organizations import OrganizationType

MemberT = Annotated["MemberType", strawberry.lazy("app.schema.members")]
OrganizationT = Annotated["OrganizationType", strawberry.lazy("app.schema.organizations")]


@strawberry.type(
    name="OwnershipTransfer",
    description="A PENDING handover of the OWNER role, waiting for the owner to confirm with "
    "the mailed link.",
)
class OwnershipTransferType:
    id: strawberry.ID = strawberry.field(description="Opaque id.")
    created_at: datetime = strawberry.field(description="When the owner started it.")
    expires_at: datetime = strawberry.field(
        description="72 hours after `createdAt`; the link does not work after it."
    )
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

    @strawberry.field(name="from", description="The owner, who becomes ADMIN.")
    async def from_(self, info: strawberry.Info) -> MemberT:
        return await resolve.member(info, self.from_member_id)

    @strawberry.field(description="The ACTIVE ADMIN or USER who becomes OWNER.")
    async def to(self, info: strawberry.Info) -> MemberT:
        return await resolve.member(info, self.to_member_id)


@strawberry.input(description="Who is to become the owner.")
class TransferOwnershipInput:
    member_id: strawberry.ID = strawberry.field(
        description="An ACTIVE ADMIN or USER other than the owner (TRANSFER_TARGET_INVALID)."
    )


@strawberry.input(description="The token of the mailed confirmation link.")
class ConfirmOwnershipTransferInput:
    token: str = strawberry.field(
        description="The `token` query parameter of the /ownership/confirm link."
    )


@strawberry.input(description="The organization whose pending transfer to cancel.")
class CancelOwnershipTransferInput:
    organization_id: strawberry.ID = strawberry.field(description="The organization.")


@strawberry.type(description="The result of `transferOwnership`.")
class TransferOwnershipPayload:
    errors: list[UserError] = errors_field()
    transfer: OwnershipTransferType | None = object_field("The pending transfer.")


@strawberry.type(description="The result of `confirmOwnershipTransfer`.")
class ConfirmOwnershipTransferPayload:
    errors: list[UserError] = errors_field()
    organization: OrganizationT | None = object_field("The organization, with its new owner.")


@strawberry.type(description="The result of `cancelOwnershipTransfer`.")
class CancelOwnershipTransferPayload:
    errors: list[UserError] = errors_field()
    ok: bool | None = ok_field()


_owner_of_member = HasOrgPermission(
    Permission.OWN_ORGANIZATION, org_of_input("Member", "member_id")
)
_owner_of_org = HasOrgPermission(
    Permission.OWN_ORGANIZATION, org_of_input("Organization", "organization_id")
)


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Start handing the OWNER role to a member: mails a confirmation link to "
        "the owner's own address and replaces any pending transfer (its link stops working). "
        "The signed-in OWNER only (FORBIDDEN otherwise). Codes: NOT_FOUND, "
        "TRANSFER_TARGET_INVALID, FORBIDDEN_ROLE.",
        extensions=guard(IsUser(), _owner_of_member),
    )
    async def transfer_ownership(
        self, info: strawberry.Info, input: Annotated[TransferOwnershipInput, INPUT]
    ) -> TransferOwnershipPayload:
        return await resolve.transfer_ownership(info, input)

    @strawberry.mutation(
        description="Complete a transfer with the mailed token: the owner becomes ADMIN, the "
        "target OWNER. The signed-in owner who started it (UNAUTHENTICATED; FORBIDDEN for API "
        "keys). Codes: INVALID_TOKEN (unknown, used, replaced or expired after 72 hours), "
        "FORBIDDEN_ROLE, TRANSFER_TARGET_INVALID.",
        extensions=guard(IsUser()),
    )
    async def confirm_ownership_transfer(
        self, info: strawberry.Info, input: Annotated[ConfirmOwnershipTransferInput, INPUT]
    ) -> ConfirmOwnershipTransferPayload:
        return await resolve.confirm_ownership_transfer(info, input)

    @strawberry.mutation(
        description="Cancel the pending transfer; its link stops working. The signed-in OWNER "
        "only (FORBIDDEN otherwise). Codes: NOT_FOUND (also when none is pending).",
        extensions=guard(IsUser(), _owner_of_org),
    )
    async def cancel_ownership_transfer(
        self, info: strawberry.Info, input: Annotated[CancelOwnershipTransferInput, INPUT]
    ) -> CancelOwnershipTransferPayload:
        return await resolve.cancel_ownership_transfer(info, input)
