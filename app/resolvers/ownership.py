from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import strawberry

from app.models import Member, OwnershipTransfer
from app.models.enums import TransferStatus
from app.schema.loaders import load_one


async def pending_transfer(info: strawberry.Info, org: Any) -> Any:
    from app.schema.ownership import OwnershipTransferType

    transfer = await OwnershipTransfer.get_or_none(
        organization_id=org.pk, status=TransferStatus.PENDING, expires_at__gt=datetime.now(UTC)
    )
    return OwnershipTransferType.from_model(transfer) if transfer else None


async def member(info: strawberry.Info, pk: int) -> Any:
    from app.schema.members import MemberType

    return MemberType.from_model(await load_one(info, Member, pk))
