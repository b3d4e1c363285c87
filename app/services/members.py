"""Members: roles, profile fields, block, unblock, remove, leave; the owner's guardrails."""

from __future__ import annotations

from datetime import UTC, datetime

from app.auth.roles import can_manage_role
from app.errors import DomainError, ErrorCode, not_found
from app.mail.outbox import enqueue
from app.models import Invitation, Member, Organization, ProjectAssignment, User
from app.models.enums import InvitationStatus, MemberStatus, OrganizationRole
from app.services import accounts, audit, rate_limits
from app.services.audit import Actor
from app.services.organizations import locked
from app.services.tx import atomic
from app.services.validation import clean_optional_name, clean_username

ADMIN_LIKE = (OrganizationRole.OWNER, OrganizationRole.ADMIN)


def _now() -> datetime:
    return datetime.now(UTC)


async def _load(member_id: int, organization_id: int | None = None) -> Member:
    member = await Member.get_or_none(id=member_id)
    if member is None or (
        organization_id is not None and member.organization_id != organization_id
    ):
        raise not_found("Member", "memberId")
    return member


async def _locked_member(member_id: int) -> tuple[Organization, Member]:
    """The member and its organization, with the organization locked."""
    member = await _load(member_id)
    organization = await locked(member.organization_id)
    return organization, await _load(member_id, organization.id)


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


async def username_taken(
    organization_id: int,
    username: str,
    *,
    except_member: int | None = None,
    except_invitation: int | None = None,
) -> bool:
    """Usernames are unique among the organization's members and pending invitations."""
    members = Member.filter(
        organization_id=organization_id,
        username__iexact=username,
        status__in=[MemberStatus.ACTIVE, MemberStatus.BLOCKED],
    )
    if except_member is not None:
        members = members.exclude(id=except_member)
    invitations = Invitation.filter(
        organization_id=organization_id,
        username__iexact=username,
        status=InvitationStatus.PENDING,
        expires_at__gt=_now(),
    )
    if except_invitation is not None:
        invitations = invitations.exclude(id=except_invitation)
    return await members.exists() or await invitations.exists()


async def update_role(actor: Actor, member_id: int, role: OrganizationRole) -> Member:
    async with atomic():
        _, member = await _locked_member(member_id)
        check_not_removed(member)
        check_not_owner(member)
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
        await audit.record(
            actor,
            "member.role_changed",
            organization_id=member.organization_id,
            target_type="Member",
            target_id=member.id,
            data={"before": before, "after": role.value},
        )
    return member


async def update_profile(actor: Actor, member_id: int, changes: dict[str, str | None]) -> Member:
    cleaned: dict[str, str | None] = {}
    if "username" in changes:
        cleaned["username"] = clean_username(changes["username"])
    if "title" in changes:
        cleaned["title"] = clean_optional_name(changes["title"], "title")
    async with atomic():
        _, member = await _locked_member(member_id)
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
            await audit.record(
                actor,
                "member.updated",
                organization_id=member.organization_id,
                target_type="Member",
                target_id=member.id,
                data={"before": before, "after": changed},
            )
    return member


async def _guard_action(actor: Actor, member: Member) -> None:
    check_not_removed(member)
    check_not_owner(member)
    check_not_self(actor, member)
    check_can_manage(actor, member.role)


async def block(actor: Actor, member_id: int) -> Member:
    async with atomic():
        _, member = await _locked_member(member_id)
        await _guard_action(actor, member)
        if member.status == MemberStatus.BLOCKED:
            return member
        await check_admin_remains(member)
        member.status = MemberStatus.BLOCKED
        member.blocked_at = _now()
        await member.save(update_fields=["status", "blocked_at"])
        await audit.record(
            actor,
            "member.blocked",
            organization_id=member.organization_id,
            target_type="Member",
            target_id=member.id,
        )
    return member


async def unblock(actor: Actor, member_id: int) -> Member:
    async with atomic():
        _, member = await _locked_member(member_id)
        await _guard_action(actor, member)
        if member.status != MemberStatus.BLOCKED:
            return member
        member.status = MemberStatus.ACTIVE
        member.blocked_at = None
        await member.save(update_fields=["status", "blocked_at"])
        await audit.record(
            actor,
            "member.unblocked",
            organization_id=member.organization_id,
            target_type="Member",
            target_id=member.id,
        )
    return member


async def _end_membership(
    actor: Actor, member: Member, organization: Organization, action: str, *, notify: bool
) -> None:
    """REMOVED at once: access ends, assignments go; a removed member is mailed a notice
    (`notify`), one who leaves knows already."""
    from app.services import ownership

    dropped = await ProjectAssignment.filter(member_id=member.id).delete()
    await ownership.cancel_involving(member)
    member.status = MemberStatus.REMOVED
    member.removed_at = _now()
    member.blocked_at = None
    await member.save(update_fields=["status", "removed_at", "blocked_at"])
    await audit.record(
        actor,
        action,
        organization_id=member.organization_id,
        target_type="Member",
        target_id=member.id,
        data={"role": member.role, "assignmentsDropped": dropped},
    )
    if notify:
        await enqueue(
            "member_removed", member.email, name=member.name, organization=organization.name
        )


async def remove(actor: Actor, member_id: int) -> Member:
    async with atomic():
        organization, member = await _locked_member(member_id)
        await _guard_action(actor, member)
        await check_admin_remains(member)
        await _end_membership(actor, member, organization, "member.removed", notify=True)
    return member


async def leave(actor: Actor, organization_id: int, user: User) -> None:
    async with atomic():
        organization = await locked(organization_id)
        member = await Member.get_or_none(
            organization_id=organization.id, user_id=user.id, status=MemberStatus.ACTIVE
        )
        if member is None:
            raise not_found("Organization", "organizationId")
        check_not_owner(member)
        await check_admin_remains(member)
        await _end_membership(actor, member, organization, "member.left", notify=False)


async def send_password_reset(actor: Actor, member_id: int) -> None:
    member = await _load(member_id)
    check_not_removed(member)
    if actor.member_id != member.id:
        check_can_manage(actor, member.role)
    user = await User.get(id=member.user_id)
    await rate_limits.check_and_record(rate_limits.ACCOUNT_MAIL, user.email)
    async with atomic():
        await accounts.send_reset(user)
        await audit.record(
            actor,
            "member.password_reset_sent",
            organization_id=member.organization_id,
            target_type="Member",
            target_id=member.id,
        )
