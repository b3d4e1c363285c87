"""Ownership transfer: the pending transfer, its members, and the three changes.

Resolvers return models and raise DomainError; the schema wraps what they return.
"""

from __future__ import annotations

from app.clock import now
from app.models import Member, Organization, OwnershipTransfer
from app.models.enums import TransferStatus
from app.resolvers.context import Context
from app.resolvers.loaders import load_one
from app.services import ownership as service
from app.services.visibility import reads_private


async def pending_transfer(ctx: Context, organization_id: int) -> OwnershipTransfer | None:
    """The organization's PENDING transfer whose link still works, if any."""
    return await OwnershipTransfer.get_or_none(
        organization_id=organization_id, status=TransferStatus.PENDING, expires_at__gt=now()
    )


async def transfer_node(ctx: Context, pk: int) -> OwnershipTransfer | None:
    """The transfer, if the viewer reads its organization's private data (OWNER and ADMIN),
    as `pendingOwnershipTransfer` shows it."""
    transfer = await load_one(ctx, OwnershipTransfer, pk)
    if transfer is None or not reads_private(await ctx.access(transfer.organization_id)):
        return None
    return transfer


async def _member(ctx: Context, member_id: int) -> Member:
    member = await load_one(ctx, Member, member_id)
    assert member is not None  # a transfer is deleted with its members (cascade)
    return member


async def transfer_from(ctx: Context, transfer: OwnershipTransfer) -> Member:
    return await _member(ctx, transfer.from_member_id)


async def transfer_to(ctx: Context, transfer: OwnershipTransfer) -> Member:
    return await _member(ctx, transfer.to_member_id)


# Changes: the permission class found the organization and the viewer's access.


async def transfer_ownership(ctx: Context) -> OwnershipTransfer:
    member_id, actor = ctx.authz_actor("Member", "memberId")
    return await service.request_transfer(actor, member_id)


async def confirm_ownership_transfer(ctx: Context, token: str) -> Organization:
    """The token names the organization; the service checks the viewer is its owner."""
    return await service.confirm_transfer(ctx.actor(), token)


async def cancel_ownership_transfer(ctx: Context) -> None:
    organization_id, actor = ctx.authz_actor("Organization", "organizationId")
    await service.cancel_transfer(actor, organization_id)
