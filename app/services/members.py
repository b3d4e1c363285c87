"""Members: roles, profile fields, block, unblock, remove, leave; the owner's guardrails."""

from __future__ import annotations

from app.auth.roles import Permission, can_manage_role
from app.clock import now
from app.errors import DomainError, ErrorCode, not_found
from app.models import Member, Organization, ProjectAssignment, TeamMember, User
from app.models.enums import MemberStatus, OrganizationRole
from app.services import events, ownership, rate_limits
from app.services.account_mail import send_reset
from app.services.audit import Actor
from app.services.invitations import username_taken
from app.services.mail import enqueue
from app.services.managed import check_not_managed
from app.services.tx import atomic, locked_for, locked_row_for
from app.services.validation import clean_optional_name, clean_username

ADMIN_LIKE = (OrganizationRole.OWNER, OrganizationRole.ADMIN)


async def _locked_member(actor: Actor, member_id: int) -> tuple[Organization, Member, Actor]:
    """The member and its organization, with the organization locked, and the actor as
    they stand now: still a member (else NOT_FOUND), with their role re-read under the
    lock, which the checks below (`check_can_manage`) then judge."""
    return await locked_row_for(
        actor, Permission.READ_ORGANIZATION, Member, member_id, "Member", "memberId"
    )


def check_not_removed(member: Member) -> None:
    if member.status == MemberStatus.REMOVED:
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
    """At least one ACTIVE OWNER-or-ADMIN other than `member` must remain."""
    if member.role not in ADMIN_LIKE or member.status != MemberStatus.ACTIVE:
        return
    others = (
        await Member.filter(
            organization_id=member.organization_id,
            status=MemberStatus.ACTIVE,
            role__in=list(ADMIN_LIKE),
        )
        .exclude(id=member.id)
        .exists()
    )
    if not others:
        raise DomainError(
            ErrorCode.LAST_ADMIN, "The organization needs another active admin first.", "memberId"
        )


async def update_role(
    actor: Actor, member_id: int, role: OrganizationRole, *, via_scim: bool = False
) -> Member:
    """A SCIM member's role follows their groups: only SCIM changes it (`via_scim`)."""
    async with atomic():
        _, member, actor = await _locked_member(actor, member_id)
        check_not_removed(member)
        check_not_owner(member)
        check_not_managed(member, "memberId", via_scim=via_scim)
        if role == OrganizationRole.OWNER:
            raise DomainError(
                ErrorCode.ROLE_NOT_ALLOWED, "Ownership moves only by transfer.", "role"
            )
        check_can_manage(actor, member.role)
        if actor.access is None or not can_manage_role(actor.access.role, role):
            raise DomainError(ErrorCode.FORBIDDEN_ROLE, "Only the owner grants ADMIN.", "role")
        if member.role == role:
            return member
        if role not in ADMIN_LIKE:
            await check_admin_remains(member)
        before = member.role
        member.set_role(role)
        await member.save(update_fields=["role", "role_rank"])
        await events.member_role_changed(actor, member, before)
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
            check_can_manage(actor, member.role)
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
    check_can_manage(actor, member.role)


async def block(actor: Actor, member_id: int) -> Member:
    async with atomic():
        _, member, actor = await _locked_member(actor, member_id)
        await _guard_action(actor, member)
        if member.status == MemberStatus.BLOCKED:
            return member
        await check_admin_remains(member)
        member.status = MemberStatus.BLOCKED
        member.blocked_at = now()
        await member.save(update_fields=["status", "blocked_at"])
        await events.member_blocked(actor, member)
    return member


async def unblock(actor: Actor, member_id: int) -> Member:
    async with atomic():
        _, member, actor = await _locked_member(actor, member_id)
        await _guard_action(actor, member)
        if member.status != MemberStatus.BLOCKED:
            return member
        member.status = MemberStatus.ACTIVE
        member.blocked_at = None
        await member.save(update_fields=["status", "blocked_at"])
        await events.member_unblocked(actor, member)
    return member


async def _end_membership(
    actor: Actor, member: Member, organization: Organization, *, removed: bool
) -> None:
    """REMOVED at once: access ends, assignments go, they leave every team; a removed
    member is mailed a notice, one who leaves (`removed` false) knows already."""
    dropped = await ProjectAssignment.filter(member_id=member.id).delete()
    await TeamMember.filter(member_id=member.id).delete()
    await ownership.cancel_involving(member)
    member.status = MemberStatus.REMOVED
    member.removed_at = now()
    member.blocked_at = None
    await member.save(update_fields=["status", "removed_at", "blocked_at"])
    if removed:
        await events.member_removed(actor, member, dropped)
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
        await _end_membership(actor, member, organization, removed=True)
    return member


async def leave(actor: Actor, organization_id: int, user: User) -> None:
    async with atomic():
        organization, actor = await locked_for(actor, organization_id, Permission.READ_ORGANIZATION)
        member = await Member.get_or_none(id=actor.member_id, user_id=user.id)
        if member is None:  # an API key, or someone else's membership
            raise not_found("Organization", "organizationId")
        check_not_owner(member)
        await check_admin_remains(member)
        await _end_membership(actor, member, organization, removed=False)


async def send_password_reset(actor: Actor, member_id: int) -> None:
    member = await Member.get_or_none(id=member_id)
    if member is None:
        raise not_found("Member", "memberId")
    check_not_removed(member)
    if actor.member_id != member.id:
        check_can_manage(actor, member.role)
    user = await User.get(id=member.user_id)
    await rate_limits.check_and_record(rate_limits.ACCOUNT_MAIL, user.email)
    async with atomic():
        await send_reset(user)
        await events.member_password_reset_sent(actor, member)
