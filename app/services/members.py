"""Members: roles, profile fields, block, unblock, remove, leave; the owner's guardrails."""

from __future__ import annotations

from datetime import datetime

from app.auth.roles import Permission, can_manage_role
from app.clock import now
from app.errors import DomainError, ErrorCode, not_found
from app.models import Member, Organization, User
from app.models.enums import MemberStatus, OrganizationRole
from app.services import events, rate_limits
from app.services.account_mail import send_reset
from app.services.audit import Actor
from app.services.expiry import (
    admin_like_q,
    check_deadline,
    role_now,
    status_now,
    temporary_role_pending,
)
from app.services.expiry_sweep import settle_role
from app.services.invitations import ensure_seat, username_taken
from app.services.mail import enqueue
from app.services.managed import check_not_managed
from app.services.membership_end import end_membership_rows
from app.services.tx import atomic, locked_for, locked_row_for
from app.services.validation import clean_optional_name, clean_username

ADMIN_LIKE = (OrganizationRole.OWNER, OrganizationRole.ADMIN)


async def _locked_member(actor: Actor, member_id: int) -> tuple[Organization, Member, Actor]:
    """The member and its organization, with the organization locked, and the actor as
    they stand now: still a member (else NOT_FOUND), with their role re-read under the
    lock, which the checks below (`check_can_manage`) then judge."""
    organization, member, actor = await locked_row_for(
        actor, Permission.READ_ORGANIZATION, Member, member_id, "Member", "memberId"
    )
    # A temporary role past its end is written down (and audited) before any change;
    # a refused change rolls it back with everything else.
    await settle_role(member)
    return organization, member, actor


def check_not_removed(member: Member) -> None:
    """REMOVED, or past their `expires_at` (removed from that instant)."""
    if status_now(member) == MemberStatus.REMOVED:
        raise DomainError(
            ErrorCode.MEMBER_REMOVED, "Removed members cannot be changed.", "memberId"
        )


def check_not_owner(member: Member) -> None:
    if member.role == OrganizationRole.OWNER:
        raise DomainError(
            ErrorCode.OWNER_PROTECTED,
            "The owner cannot be changed this way; transfer ownership first.",
            "memberId",
        )


def check_can_manage(actor: Actor, role: OrganizationRole | str) -> None:
    if actor.access is None or not can_manage_role(actor.access.role, role):
        raise DomainError(
            ErrorCode.FORBIDDEN_ROLE,
            f"Your role cannot manage members with role {OrganizationRole(role).value}.",
            "memberId",
        )


def check_not_self(actor: Actor, member: Member) -> None:
    if actor.member_id == member.id:
        raise DomainError(ErrorCode.SELF_ACTION, "You cannot do this to yourself.", "memberId")


async def check_admin_remains(member: Member) -> None:
    """At least one OWNER-or-ADMIN other than `member` must remain, ACTIVE now (roles and
    expiry as they read now: a temporary ADMIN past `until` does not count)."""
    if role_now(member) not in ADMIN_LIKE or status_now(member) != MemberStatus.ACTIVE:
        return
    if not await admin_remains(member):
        raise DomainError(
            ErrorCode.LAST_ADMIN, "The organization needs another active admin first.", "memberId"
        )


async def admin_remains(member: Member, at: datetime | None = None) -> bool:
    """Is there an OWNER-or-ADMIN, ACTIVE at `at`, other than `member`?"""
    return (
        await Member.filter(admin_like_q(at), organization_id=member.organization_id)
        .exclude(id=member.id)
        .exists()
    )


async def update_role(
    actor: Actor,
    member_id: int,
    role: OrganizationRole,
    until: datetime | None = None,
    *,
    via_scim: bool = False,
) -> Member:
    """A lasting role, or with `until` a temporary one that reverts to the member's
    lasting role at that instant. The role rules apply to the role granted. A change
    without `until` is lasting and clears any pending revert; a new temporary grant
    replaces the pending one and keeps the lasting role underneath. A SCIM member's role
    follows their groups: only SCIM changes it (`via_scim`)."""
    deadline = None if until is None else check_deadline(until, "until")
    async with atomic():
        _, member, actor = await _locked_member(actor, member_id)
        check_not_removed(member)
        check_not_owner(member)
        check_not_managed(member, "memberId", via_scim=via_scim)
        if role == OrganizationRole.OWNER:
            raise DomainError(
                ErrorCode.ROLE_NOT_ALLOWED, "Ownership moves only by transfer.", "role"
            )
        current = role_now(member)
        check_can_manage(actor, current)
        if actor.access is None or not can_manage_role(actor.access.role, role):
            raise DomainError(ErrorCode.FORBIDDEN_ROLE, "Only the owner grants ADMIN.", "role")
        pending = temporary_role_pending(member)
        lasting = member.role_reverts_to if pending and member.role_reverts_to else current
        if deadline is not None and role == lasting:
            raise DomainError(
                ErrorCode.INVALID_INPUT,
                f"{role.value} is the member's lasting role; a temporary role must differ.",
                "until",
            )
        if current == role and deadline is None and not pending:
            return member
        if role not in ADMIN_LIKE:
            await check_admin_remains(member)
        cleared = member.role_expires_at if pending and deadline is None else None
        member.set_role(role)
        member.role_expires_at = deadline
        member.role_reverts_to = lasting if deadline is not None else None
        await member.save(update_fields=["role", "role_rank", "role_expires_at", "role_reverts_to"])
        if deadline is None and cleared is None:
            await events.member_role_changed(actor, member, current)
        else:
            await events.member_role_changed_until(actor, member, current, cleared)
    return member


async def set_expiry(actor: Actor, member_id: int, expires_at: datetime | None) -> Member:
    """When the membership ends (None: never). The rules of a removal apply: not the
    OWNER (who never expires), not yourself, a role you manage, an admin remains."""
    deadline = None if expires_at is None else check_deadline(expires_at, "expiresAt")
    async with atomic():
        _, member, actor = await _locked_member(actor, member_id)
        check_not_removed(member)
        check_not_owner(member)
        check_not_self(actor, member)
        check_can_manage(actor, role_now(member))
        if member.expires_at == deadline:
            return member
        if deadline is not None:
            await check_admin_remains(member)
        before = member.expires_at
        member.expires_at = deadline
        await member.save(update_fields=["expires_at"])
        await events.member_expiry_set(actor, member, before)
    return member


async def update_profile(actor: Actor, member_id: int, changes: dict[str, str | None]) -> Member:
    cleaned: dict[str, str | None] = {}
    if "username" in changes:
        cleaned["username"] = clean_username(changes["username"])
    if "title" in changes:
        cleaned["title"] = clean_optional_name(changes["title"], "title")
    async with atomic():
        # Anyone edits their own profile; others' need the role to manage theirs.
        _, member, actor = await _locked_member(actor, member_id)
        check_not_removed(member)
        if actor.member_id != member.id:
            check_can_manage(actor, role_now(member))
        username = cleaned.get("username")
        if username and await username_taken(
            member.organization_id, username, except_member=member.id
        ):
            raise DomainError(ErrorCode.USERNAME_TAKEN, "This username is taken.", "username")
        changed = {k: v for k, v in cleaned.items() if getattr(member, k) != v}
        if changed:
            before = {k: getattr(member, k) for k in changed}
            for key, value in changed.items():
                setattr(member, key, value)
            await member.save(update_fields=list(changed))
            await events.member_updated(actor, member, before, changed)
    return member


async def _guard_action(actor: Actor, member: Member) -> None:
    check_not_removed(member)
    check_not_owner(member)
    check_not_self(actor, member)
    check_can_manage(actor, role_now(member))


async def block(actor: Actor, member_id: int) -> Member:
    async with atomic():
        _, member, actor = await _locked_member(actor, member_id)
        await _guard_action(actor, member)
        await block_locked(actor, member)
    return member


async def unblock(actor: Actor, member_id: int) -> Member:
    async with atomic():
        organization, member, actor = await _locked_member(actor, member_id)
        await _guard_action(actor, member)
        await unblock_locked(actor, member, organization)
    return member


# The changes themselves, shared by GraphQL and SCIM (app/services/scim_users.py). Call
# them in a transaction with the organization locked and `member` read under the lock,
# once the caller's own checks have passed: GraphQL's judge the actor's role
# (`_guard_action`); an identity provider acts on any member below the OWNER. `via`
# names where the change came from in the events ("scim").


async def block_locked(actor: Actor, member: Member, *, via: str | None = None) -> bool:
    """BLOCKED: no access, the seat kept, assignments and teams inert. An active admin
    must remain. False when they were blocked already (nothing written)."""
    if member.status == MemberStatus.BLOCKED:
        return False
    await check_admin_remains(member)
    member.status = MemberStatus.BLOCKED
    member.blocked_at = now()
    await member.save(update_fields=["status", "blocked_at"])
    await events.member_blocked(actor, member, via=via)
    return True


async def unblock_locked(
    actor: Actor, member: Member, organization: Organization, *, via: str | None = None
) -> bool:
    """ACTIVE again. A blocked member holds their seat, so unblocking takes no new one;
    but while the organization is over a lowered `seatLimit` nobody comes back
    (SEAT_LIMIT_REACHED) until usage drops to the limit, as for new invitations. False
    when they were not blocked (nothing written)."""
    if member.status != MemberStatus.BLOCKED:
        return False
    await ensure_seat(organization, needed=0)
    member.status = MemberStatus.ACTIVE
    member.blocked_at = None
    await member.save(update_fields=["status", "blocked_at"])
    await events.member_unblocked(actor, member, via=via)
    return True


async def end_membership(
    actor: Actor,
    member: Member,
    organization: Organization,
    *,
    removed: bool,
    via: str | None = None,
    notify: bool = True,
) -> None:
    """REMOVED at once (app/services/membership_end.py says what goes). A removed member
    is mailed a notice unless `notify` is false (an identity provider deprovisioned them:
    their organization told them); one who leaves (`removed` false) knows already."""
    dropped = await end_membership_rows(member, now())
    if removed:
        await events.member_removed(actor, member, dropped, via=via)
        if notify:
            await enqueue(
                "member_removed", member.email, name=member.name, organization=organization.name
            )
    else:
        await events.member_left(actor, member, dropped)


async def remove(actor: Actor, member_id: int) -> Member:
    async with atomic():
        organization, member, actor = await _locked_member(actor, member_id)
        await _guard_action(actor, member)
        await check_admin_remains(member)
        await end_membership(actor, member, organization, removed=True)
    return member


async def leave(actor: Actor, organization_id: int, user: User) -> None:
    async with atomic():
        organization, actor = await locked_for(actor, organization_id, Permission.READ_ORGANIZATION)
        member = await Member.get_or_none(id=actor.member_id, user_id=user.id)
        if member is None:  # an API key, or someone else's membership
            raise not_found("Organization", "organizationId")
        check_not_owner(member)
        await check_admin_remains(member)
        await end_membership(actor, member, organization, removed=False)


async def send_password_reset(actor: Actor, member_id: int) -> None:
    member = await Member.get_or_none(id=member_id)
    if member is None:
        raise not_found("Member", "memberId")
    check_not_removed(member)
    if actor.member_id != member.id:
        check_can_manage(actor, role_now(member))
    user = await User.get(id=member.user_id)
    await rate_limits.check_and_record(rate_limits.ACCOUNT_MAIL, user.email)
    async with atomic():
        await send_reset(user)
        await events.member_password_reset_sent(actor, member)
