"""Ownership transfer, confirmed from the owner's email.

The owner names an ACTIVE ADMIN or USER; a PENDING transfer is stored (its
token only as a hash) and a link is mailed to the owner's address. Confirming
with that link, signed in as the owner, makes the old owner ADMIN and the target
OWNER in one transaction. There is one pending transfer per organization (a
partial unique index); a new one replaces it and its link stops working.

Every change locks the organization row first, so transfers, confirmations and
member changes of one organization run one at a time: there is exactly one
OWNER at every moment (the partial unique index `uq_members_one_owner` backs it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from app import config
from app.auth.roles import Permission
from app.auth.tokens import hash_token, new_token
from app.clock import now
from app.errors import DomainError, ErrorCode
from app.models import Member, Organization, OwnershipTransfer, User
from app.models.enums import MemberStatus, OrganizationRole, TransferStatus
from app.services import events
from app.services.audit import Actor
from app.services.expiry import role_now, status_now
from app.services.mail import enqueue
from app.services.managed import check_not_managed
from app.services.tx import atomic, locked_for, locked_row_for, locked_where
from app.services.validation import clean_token

TRANSFER_TTL = timedelta(hours=72)
ELIGIBLE_TARGET_ROLES = (OrganizationRole.ADMIN, OrganizationRole.USER)


async def cancel_involving(member: Member) -> None:
    """A member who leaves or is removed ends any pending transfer to or from them."""
    await OwnershipTransfer.filter(
        Q(from_member_id=member.id) | Q(to_member_id=member.id),
        status=TransferStatus.PENDING,
    ).update(status=TransferStatus.CANCELLED, token_hash=None)


async def _owner(organization_id: int) -> Member:
    return await Member.get(organization_id=organization_id, role=OrganizationRole.OWNER)


def check_target(owner: Member, target: Member, field: str) -> None:
    if (
        target.id == owner.id
        or target.organization_id != owner.organization_id
        or status_now(target) != MemberStatus.ACTIVE
        or role_now(target) not in ELIGIBLE_TARGET_ROLES
    ):
        raise DomainError(
            ErrorCode.TRANSFER_TARGET_INVALID,
            "Ownership goes to an ACTIVE ADMIN or USER other than the owner.",
            field,
        )


async def _pending(organization_id: int) -> OwnershipTransfer | None:
    return await OwnershipTransfer.get_or_none(
        organization_id=organization_id, status=TransferStatus.PENDING
    )


async def request_transfer(actor: Actor, member_id: int) -> OwnershipTransfer:
    """Start a transfer to `member_id`, replacing any pending one."""
    async with atomic():
        organization, target, actor = await locked_row_for(
            actor, Permission.OWN_ORGANIZATION, Member, member_id, "Member", "memberId"
        )
        owner = await _owner(organization.id)
        if actor.member_id is None or actor.member_id != owner.id:
            raise DomainError(
                ErrorCode.FORBIDDEN_ROLE, "Only the owner transfers ownership.", "memberId"
            )
        check_target(owner, target, "memberId")
        check_not_managed(target, "memberId")
        replaced = await _pending(organization.id)
        if replaced is not None:
            # Before the insert: the partial unique index allows one PENDING row.
            replaced.status = TransferStatus.REPLACED
            replaced.token_hash = None
            await replaced.save(update_fields=["status", "token_hash"])
        token = new_token()
        transfer = await OwnershipTransfer.create(
            organization_id=organization.id,
            from_member_id=owner.id,
            to_member_id=target.id,
            token_hash=hash_token(token),
            expires_at=now() + TRANSFER_TTL,
        )
        owner_user = await User.get(id=owner.user_id)
        await enqueue(
            "ownership_confirm",
            owner_user.email,
            name=owner.name,
            organization=organization.name,
            target=target.name,
            expires_at=transfer.expires_at.strftime("%Y-%m-%d %H:%M UTC"),
            link=config.current().link("/ownership/confirm", token),
        )
        await events.ownership_transfer_requested(actor, transfer, replaced)
    return transfer


def _invalid_link(message: str = "This transfer link is not valid.") -> DomainError:
    return DomainError(ErrorCode.INVALID_TOKEN, message, "token")


async def confirm_transfer(actor: Actor, token: str) -> Organization:
    """The owner, signed in, confirms with the mailed token."""
    token_hash = hash_token(clean_token(token))
    try:
        async with atomic():
            # Read under the lock: a concurrent request may have used or replaced it.
            organization, transfer = await locked_where(
                OwnershipTransfer,
                _invalid_link(),
                token_hash=token_hash,
                status=TransferStatus.PENDING,
            )
            if transfer.expires_at <= now():
                raise _invalid_link("This transfer link has expired; start the transfer again.")
            owner = await Member.get(id=transfer.from_member_id)
            if owner.role != OrganizationRole.OWNER:
                raise _invalid_link()
            if actor.user_id != owner.user_id:
                raise DomainError(
                    ErrorCode.FORBIDDEN_ROLE,
                    "Only the owner who started the transfer confirms it.",
                    "token",
                )
            target = await Member.get(id=transfer.to_member_id)
            check_target(owner, target, "token")
            check_not_managed(target, "token")
            target_before = role_now(target).value
            # Demote first: the partial unique index allows one OWNER row.
            owner.set_role(OrganizationRole.ADMIN)
            await owner.save(update_fields=["role", "role_rank"])
            target.set_role(OrganizationRole.OWNER)
            # The OWNER never expires: the new owner keeps no end date, no temporary role.
            target.expires_at = None
            target.role_expires_at = None
            target.role_reverts_to = None
            await target.save(
                update_fields=[
                    "role",
                    "role_rank",
                    "expires_at",
                    "role_expires_at",
                    "role_reverts_to",
                ]
            )
            transfer.status = TransferStatus.CONFIRMED
            transfer.confirmed_at = now()
            transfer.token_hash = None
            await transfer.save(update_fields=["status", "confirmed_at", "token_hash"])
            await events.ownership_transfer_confirmed(actor, transfer, target_before)
    except IntegrityError as exc:  # the one-owner index: another change won the race
        raise _invalid_link() from exc
    return organization


async def cancel_transfer(actor: Actor, organization_id: int) -> None:
    async with atomic():
        organization, actor = await locked_for(actor, organization_id, Permission.OWN_ORGANIZATION)
        owner = await _owner(organization.id)
        if actor.member_id != owner.id:
            raise DomainError(
                ErrorCode.FORBIDDEN_ROLE, "Only the owner cancels a transfer.", "organizationId"
            )
        transfer = await _pending(organization.id)
        if transfer is None:
            raise DomainError(
                ErrorCode.NOT_FOUND, "There is no pending ownership transfer.", "organizationId"
            )
        transfer.status = TransferStatus.CANCELLED
        transfer.token_hash = None
        await transfer.save(update_fields=["status", "token_hash"])
        await events.ownership_transfer_cancelled(actor, transfer)


@dataclass(frozen=True)
class TransferLink:
    """What a transfer link shows: the pending transfer, its organization, the owner
    who started it and the member who would become owner."""

    transfer: OwnershipTransfer
    organization: Organization
    owner: Member
    target: Member


async def link_by_token(token: str) -> TransferLink | None:
    """The PENDING, unexpired transfer a mailed token opens (read only), or None."""
    try:
        token_hash = hash_token(clean_token(token))
    except DomainError:
        return None
    transfer = await OwnershipTransfer.get_or_none(
        token_hash=token_hash, status=TransferStatus.PENDING, expires_at__gt=now()
    )
    if transfer is None:
        return None
    return TransferLink(
        transfer,
        await Organization.get(id=transfer.organization_id),
        await Member.get(id=transfer.from_member_id),
        await Member.get(id=transfer.to_member_id),
    )
