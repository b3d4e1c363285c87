from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import strawberry

from app.errors import not_found
from app.ids import pk_of
from app.models import Member, OwnershipTransfer
from app.models.enums import TransferStatus
from app.schema.errors import mutate
from app.schema.loaders import load_one
from app.services import ownership as service


async def pending_transfer(info: strawberry.Info, org: Any) -> Any:
    from app.schema.ownership import OwnershipTransferType

    transfer = await OwnershipTransfer.get_or_none(
        organization_id=org.pk, status=TransferStatus.PENDING, expires_at__gt=datetime.now(UTC)
    )
    return OwnershipTransferType.from_model(transfer) if transfer else None


async def member(info: strawberry.Info, pk: int) -> Any:
    from app.schema.members import MemberType

    return MemberType.from_model(await load_one(info, Member, pk))


async def transfer_ownership(info: strawberry.Info, input: Any) -> Any:
    from app.resolvers.members import load_member
    from app.schema.ownership import OwnershipTransferType, TransferOwnershipPayload

    async def change() -> dict[str, Any]:
        target = await load_member(info, input.member_id)
        actor = info.context.actor(await info.context.access(target.organization_id))
        transfer = await service.request_transfer(actor, target.id)
        return {"transfer": OwnershipTransferType.from_model(transfer)}

    return await mutate(info, TransferOwnershipPayload, change)


async def confirm_ownership_transfer(info: strawberry.Info, input: Any) -> Any:
    from app.schema.organizations import OrganizationType
    from app.schema.ownership import ConfirmOwnershipTransferPayload

    async def change() -> dict[str, Any]:
        organization = await service.confirm_transfer(info.context.actor(), input.token)
        return {"organization": OrganizationType.from_model(organization)}

    return await mutate(info, ConfirmOwnershipTransferPayload, change)


async def cancel_ownership_transfer(info: strawberry.Info, input: Any) -> Any:
    from app.schema.ownership import CancelOwnershipTransferPayload

    async def change() -> dict[str, Any]:
        pk = pk_of(input.organization_id, "Organization")
        access = await info.context.access(pk)
        if access is None:
            raise not_found("Organization", "organizationId")
        await service.cancel_transfer(info.context.actor(access), pk)
        return {"ok": True}

    return await mutate(info, CancelOwnershipTransferPayload, change)
