"""Ownership transfer: start, confirm with the mailed token, cancel."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry

from app.auth.roles import Permission
from app.resolvers import ownership as resolve
from app.schema.context import Info
from app.schema.errors import INPUT, UserError, errors_field, mutation, object_field, ok_field
from app.schema.node import as_node
from app.schema.ownership.types import OwnershipTransferType
from app.schema.permissions import IsUser, OrgInput

if TYPE_CHECKING:
    from app.schema.organizations.types import OrganizationType

OrganizationT = Annotated["OrganizationType", strawberry.lazy("app.schema.organizations.types")]


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


@strawberry.type
class Mutation:
    @mutation(
        "Start handing the OWNER role to a member: mails a confirmation link to "
        "the owner's own address and replaces any pending transfer (its link stops working). "
        "The signed-in OWNER only (FORBIDDEN otherwise). Codes: NOT_FOUND, "
        "TRANSFER_TARGET_INVALID, FORBIDDEN_ROLE.",
        IsUser(),
        OrgInput(Permission.OWN_ORGANIZATION, "Member", "member_id"),
    )
    async def transfer_ownership(
        self, info: Info, input: Annotated[TransferOwnershipInput, INPUT]
    ) -> TransferOwnershipPayload:
        transfer = await resolve.transfer_ownership(info.context)
        return TransferOwnershipPayload(transfer=OwnershipTransferType.from_model(transfer))

    @mutation(
        "Complete a transfer with the mailed token: the owner becomes ADMIN, the "
        "target OWNER. The signed-in owner who started it (UNAUTHENTICATED; FORBIDDEN for API "
        "keys). Codes: INVALID_TOKEN (unknown, used, replaced or expired after 72 hours), "
        "FORBIDDEN_ROLE, TRANSFER_TARGET_INVALID.",
        IsUser(),
    )
    async def confirm_ownership_transfer(
        self, info: Info, input: Annotated[ConfirmOwnershipTransferInput, INPUT]
    ) -> ConfirmOwnershipTransferPayload:
        organization = await resolve.confirm_ownership_transfer(info.context, input.token)
        return ConfirmOwnershipTransferPayload(organization=as_node("Organization", organization))

    @mutation(
        "Cancel the pending transfer; its link stops working. The signed-in OWNER "
        "only (FORBIDDEN otherwise). Codes: NOT_FOUND (also when none is pending).",
        IsUser(),
        OrgInput(Permission.OWN_ORGANIZATION, "Organization", "organization_id"),
    )
    async def cancel_ownership_transfer(
        self, info: Info, input: Annotated[CancelOwnershipTransferInput, INPUT]
    ) -> CancelOwnershipTransferPayload:
        await resolve.cancel_ownership_transfer(info.context)
        return CancelOwnershipTransferPayload(ok=True)
