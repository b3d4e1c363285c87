"""Ownership transfer (confirmed from the owner's email)."""

from __future__ import annotations

from tortoise.expressions import Q

from app.models import Member, OwnershipTransfer
from app.models.enums import TransferStatus


async def cancel_involving(member: Member) -> None:
    """A member who leaves or is removed ends any pending transfer to or from them."""
    await OwnershipTransfer.filter(
        Q(from_member_id=member.id) | Q(to_member_id=member.id),
        status=TransferStatus.PENDING,
    ).update(status=TransferStatus.CANCELLED, token_hash=None)
