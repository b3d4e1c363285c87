"""The expiry sweep: writes what temporary access already means (app/services/expiry.py).

Access is refused from the instant a membership, a temporary role or a project
assignment ends, by every read; this sweep only writes it down, with its audit event and
mail, each change in its own transaction:

- a member past `expires_at` becomes REMOVED (`member.expired`, the removal mail; their
  project assignments, teams and pending ownership transfers go, as for a removal:
  app/services/membership_end.py);
- a temporary role past `role_expires_at` becomes `role_reverts_to`
  (`member.role_reverted`), unless the guardrail refuses: a revert that would leave the
  organization without an ACTIVE OWNER-or-ADMIN is not applied, is audited
  (`member.role_revert_refused`, with the reason) and the temporary role stays, for
  good (the pending revert is cleared so that it is not retried forever);
- a project assignment past `expires_at` is deleted (`project.assignment_expired`).

Once across processes: each change locks its organization (the lock every change to an
organization's members takes, `tx.locked`) and re-reads its row under that lock, so a
second process sweeping at the same time finds the work done and writes nothing.
SQLite serves one process.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from app.clock import now
from app.errors import ErrorCode
from app.models import Member, Organization, Project, ProjectAssignment
from app.models.enums import MemberStatus, OrganizationRole
from app.services import events
from app.services.expiry import (
    PRESENT,
    SYSTEM_ACTOR,
    admin_like_q,
    assignment_live,
    member_expired,
)
from app.services.mail import enqueue
from app.services.membership_end import end_membership_rows
from app.services.tx import atomic, locked

log = logging.getLogger("roster.expiry")

SYSTEM = SYSTEM_ACTOR
# Rows handled per kind and pass; a pass repeats while it finds a full batch.
BATCH = 100
ADMIN_LIKE = (OrganizationRole.OWNER, OrganizationRole.ADMIN)


# One change each ---------------------------------------------------------------------------


async def expire_member_row(member: Member, organization: Organization) -> None:
    """Write a member's expiry: REMOVED as of `expires_at`, as a removal is (call in a
    transaction with the organization locked, with `member` read under the lock)."""
    ended_at = member.expires_at
    dropped = await end_membership_rows(member, ended_at)
    await events.member_expired(SYSTEM, member, dropped, ended_at)
    await enqueue("member_removed", member.email, name=member.name, organization=organization.name)


async def _expire_member(member_id: int, organization_id: int) -> bool:
    async with atomic():
        organization = await locked(organization_id)
        member = await Member.get_or_none(id=member_id)
        if member is None or not member_expired(member, now()):
            return False  # done by another process, or changed meanwhile
        if member.role == OrganizationRole.OWNER:  # never set; never acted on
            return False
        await expire_member_row(member, organization)
    return True


async def settle_role(member: Member) -> bool:
    """Write a due revert of `member`'s temporary role (or its refusal by the guardrail);
    False when none is due. Call in a transaction with the organization locked, with
    `member` read under the lock. Changes to a member call it first, so that the revert
    is audited before whatever the change writes."""
    moment = now()
    if (
        member.status == MemberStatus.REMOVED
        or member.role_expires_at is None
        or member.role_reverts_to is None
        or member.role_expires_at > moment
    ):
        return False
    until = member.role_expires_at
    before = OrganizationRole(member.role)
    after = OrganizationRole(member.role_reverts_to)
    reason = await revert_refusal(member, before, after)
    member.role_expires_at = None
    member.role_reverts_to = None
    if reason is not None:
        await member.save(update_fields=["role_expires_at", "role_reverts_to"])
        await events.member_role_revert_refused(SYSTEM, member, after, until, reason)
        return True
    member.set_role(after)
    await member.save(update_fields=["role", "role_rank", "role_expires_at", "role_reverts_to"])
    await events.member_role_reverted(SYSTEM, member, before, until)
    return True


async def _revert_role(member_id: int, organization_id: int) -> bool:
    async with atomic():
        await locked(organization_id)
        member = await Member.get_or_none(id=member_id)
        return member is not None and await settle_role(member)


async def revert_refusal(
    member: Member, before: OrganizationRole, after: OrganizationRole
) -> ErrorCode | None:
    """The guardrail at revert: the role rules for a demotion. A revert that takes the
    last ACTIVE OWNER-or-ADMIN's admin role away (LAST_ADMIN), or that would touch the
    OWNER (OWNER_PROTECTED), is refused."""
    if before == OrganizationRole.OWNER or after == OrganizationRole.OWNER:
        return ErrorCode.OWNER_PROTECTED
    if before in ADMIN_LIKE and after not in ADMIN_LIKE and member.status == MemberStatus.ACTIVE:
        # Who else is OWNER-or-ADMIN right after this instant (roles as they read then,
        # this member's own pending revert aside).
        others = (
            await Member.filter(admin_like_q(), organization_id=member.organization_id)
            .exclude(id=member.id)
            .exists()
        )
        if not others:
            return ErrorCode.LAST_ADMIN
    return None


async def _expire_assignment(assignment_id: int, organization_id: int) -> bool:
    async with atomic():
        await locked(organization_id)
        assignment = await ProjectAssignment.get_or_none(id=assignment_id)
        if assignment is None or assignment_live(assignment, now()):
            return False
        project = await Project.get(id=assignment.project_id)
        await events.project_assignment_expired(SYSTEM, project, assignment)
        await assignment.delete()
    return True


# A pass ----------------------------------------------------------------------------------


async def _due_members(moment: datetime) -> list[tuple[int, int]]:
    rows = (
        await Member.filter(status__in=list(PRESENT), expires_at__lte=moment)
        .exclude(role=OrganizationRole.OWNER)
        .order_by("expires_at", "id")
        .limit(BATCH)
        .values_list("id", "organization_id")
    )
    return [(int(a), int(b)) for a, b in rows]


async def _due_reverts(moment: datetime) -> list[tuple[int, int]]:
    rows = (
        await Member.filter(
            status__in=list(PRESENT), role_expires_at__lte=moment, role_reverts_to__isnull=False
        )
        .order_by("role_expires_at", "id")
        .limit(BATCH)
        .values_list("id", "organization_id")
    )
    return [(int(a), int(b)) for a, b in rows]


async def _due_assignments(moment: datetime) -> list[tuple[int, int]]:
    rows = (
        await ProjectAssignment.filter(expires_at__lte=moment)
        .order_by("expires_at", "id")
        .limit(BATCH)
        .values_list("id", "project__organization_id")
    )
    return [(int(a), int(b)) for a, b in rows]


async def sweep_once() -> int:
    """One pass over what is due now; returns how many changes this process wrote.

    Memberships first: an expired member's assignments and temporary role go with them
    (one `member.expired`, no separate revert or assignment events)."""
    written = 0
    moment = now()
    for member_id, organization_id in await _due_members(moment):
        written += await _expire_member(member_id, organization_id)
    for member_id, organization_id in await _due_reverts(moment):
        written += await _revert_role(member_id, organization_id)
    for assignment_id, organization_id in await _due_assignments(moment):
        written += await _expire_assignment(assignment_id, organization_id)
    return written


class ExpirySweeper:
    """Runs `sweep_once` every `interval` seconds in the server process."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="expiry-sweeper")

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        # The first pass comes one interval after start-up, like every later one: access
        # is refused by the reads meanwhile, so nothing waits on the sweep.
        while True:
            try:
                await asyncio.wait_for(self._stop.wait(), self.interval)
                return
            except TimeoutError:
                pass
            try:
                while True:
                    written = await sweep_once()
                    if written:
                        log.info("expiry sweep: %s change(s) written", written)
                    if written < BATCH:  # else more may be due: go on at once
                        break
            except Exception:
                log.exception("expiry sweep failed")
