"""Invitations: the whole lifecycle, seats, and joining by invitation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tortoise.exceptions import IntegrityError

from app import config
from app.auth.roles import can_manage_role
from app.auth.tokens import hash_token, new_token
from app.auth.viewer import Viewer
from app.errors import DomainError, ErrorCode, not_found
from app.mail.outbox import enqueue
from app.models import (
    Invitation,
    InvitationProjectAssignment,
    Member,
    Organization,
    Project,
    ProjectAssignment,
    User,
)
from app.models.enums import InvitationStatus, MemberStatus, OrganizationRole, ProjectRole
from app.services import audit, rate_limits
from app.services.audit import Actor
from app.services.members import username_taken
from app.services.organizations import ensure_seat, locked
from app.services.tx import atomic
from app.services.validation import (
    clean_days,
    clean_email,
    clean_message,
    clean_token,
    clean_username,
    email_domain,
)

MAX_PROJECT_ASSIGNMENTS = 100


def _now() -> datetime:
    return datetime.now(UTC)


def effective_status(invitation: Invitation, now: datetime | None = None) -> InvitationStatus:
    """A PENDING invitation past its expiry reads as EXPIRED everywhere."""
    status = InvitationStatus(invitation.status)
    if status == InvitationStatus.PENDING and invitation.expires_at <= (now or _now()):
        return InvitationStatus.EXPIRED
    return status


@dataclass(frozen=True)
class AssignmentSpec:
    project_id: int
    role: ProjectRole


@dataclass
class InviteRequest:
    email: str
    role: OrganizationRole = OrganizationRole.USER
    username: str | None = None
    project_assignments: list[AssignmentSpec] | None = None
    expires_in_days: int | None = None
    message: str | None = None
    add_to_default_projects: bool = False


def check_role_grantable(actor: Actor, role: OrganizationRole) -> None:
    if role == OrganizationRole.OWNER:
        raise DomainError(
            ErrorCode.ROLE_NOT_ALLOWED, "Nobody is invited as OWNER; transfer it later.", "role"
        )
    if actor.access is None or not can_manage_role(actor.access.role, role):
        raise DomainError(ErrorCode.FORBIDDEN_ROLE, "Only the owner invites ADMINs.", "role")


def check_domain_allowed(organization: Organization, email: str) -> None:
    allowed = organization.allowed_email_domains or []
    if allowed and email_domain(email) not in allowed:
        raise DomainError(
            ErrorCode.DOMAIN_NOT_ALLOWED,
            "This organization only invites addresses at: " + ", ".join(allowed),
            "email",
        )


async def _check_projects(
    organization_id: int, specs: list[AssignmentSpec]
) -> list[AssignmentSpec]:
    if len(specs) > MAX_PROJECT_ASSIGNMENTS:
        raise DomainError(
            ErrorCode.INVALID_INPUT, "Too many project assignments.", "projectAssignments"
        )
    by_project = {spec.project_id: spec for spec in specs}
    found = set(
        await Project.filter(id__in=list(by_project), organization_id=organization_id).values_list(
            "id", flat=True
        )
    )
    for index, spec in enumerate(specs):
        if spec.project_id not in found:
            raise not_found("Project", ["projectAssignments", str(index), "projectId"])
    return list(by_project.values())


async def _expire_stale(organization_id: int, email: str) -> None:
    """Store EXPIRED on pending rows past expiry, so a new invitation may be PENDING."""
    await Invitation.filter(
        organization_id=organization_id,
        email=email,
        status=InvitationStatus.PENDING,
        expires_at__lte=_now(),
    ).update(status=InvitationStatus.EXPIRED)


async def _check_invitable(
    organization: Organization,
    email: str,
    username: str | None,
    except_invitation: int | None = None,
) -> None:
    """What a new (or reopened) PENDING invitation needs: a free address, username and seat.

    Call with the organization locked. Stale pending rows of the address are stored
    EXPIRED first, so the one-pending-per-address index lets the new one in.
    """
    check_domain_allowed(organization, email)
    if await Member.filter(
        organization_id=organization.id,
        email=email,
        status__in=[MemberStatus.ACTIVE, MemberStatus.BLOCKED],
    ).exists():
        raise DomainError(ErrorCode.ALREADY_MEMBER, "This person is a member.", "email")
    await _expire_stale(organization.id, email)
    if await Invitation.filter(
        organization_id=organization.id, email=email, status=InvitationStatus.PENDING
    ).exists():
        raise DomainError(
            ErrorCode.ALREADY_INVITED, "This email has a pending invitation.", "email"
        )
    if username and await username_taken(
        organization.id, username, except_invitation=except_invitation
    ):
        raise DomainError(ErrorCode.USERNAME_TAKEN, "This username is taken.", "username")
    await ensure_seat(organization)


async def _reopen(organization: Organization, invitation: Invitation) -> None:
    """An expired invitation becomes PENDING again: it takes a seat, so it is checked."""
    await _check_invitable(
        organization, invitation.email, invitation.username, except_invitation=invitation.id
    )
    invitation.status = InvitationStatus.PENDING


async def _send(invitation: Invitation, organization: Organization, actor: Actor) -> None:
    """A fresh token and mail; older links stop working."""
    token = new_token()
    inviter = (
        await Member.get_or_none(id=invitation.invited_by_id) if invitation.invited_by_id else None
    )
    message = invitation.message
    mail = await enqueue(
        "invitation",
        invitation.email,
        organization=organization.name,
        inviter=inviter.name if inviter else organization.name,
        role=invitation.role,
        expires_at=invitation.expires_at.strftime("%Y-%m-%d %H:%M UTC"),
        message=message or "",
        message_block=f"\n{message}\n" if message else "",
        link=config.current().link("/invitations/accept", token),
    )
    invitation.token_hash = hash_token(token)
    invitation.send_count += 1
    invitation.last_mail_id = mail.id
    await invitation.save(update_fields=["token_hash", "send_count", "last_mail_id"])


async def invite(actor: Actor, organization_id: int, request: InviteRequest) -> Invitation:
    email = clean_email(request.email)
    username = clean_username(request.username)
    message = clean_message(request.message)
    role = OrganizationRole(request.role)
    check_role_grantable(actor, role)
    async with atomic():
        organization = await locked(organization_id)
        ttl = organization.invitation_ttl_days
        if request.expires_in_days is not None:
            ttl = clean_days(request.expires_in_days, "expiresInDays")
        specs = await _check_projects(organization.id, request.project_assignments or [])
        if request.add_to_default_projects:
            chosen = {s.project_id for s in specs}
            defaults = await Project.filter(
                organization_id=organization.id, is_default=True
            ).values_list("id", flat=True)
            specs += [AssignmentSpec(pid, ProjectRole.USE) for pid in defaults if pid not in chosen]
        await _check_invitable(organization, email, username)
        await rate_limits.check_and_record(rate_limits.INVITATIONS, str(organization.id))
        try:
            invitation = await Invitation.create(
                organization=organization,
                email=email,
                username=username,
                role=role,
                message=message,
                expires_at=_now() + timedelta(days=ttl),
                invited_by_id=actor.member_id,
            )
        except IntegrityError as exc:  # a concurrent invitation of the same email won
            raise DomainError(
                ErrorCode.ALREADY_INVITED, "This email has a pending invitation.", "email"
            ) from exc
        await InvitationProjectAssignment.bulk_create(
            [
                InvitationProjectAssignment(
                    invitation_id=invitation.id, project_id=s.project_id, role=s.role
                )
                for s in specs
            ]
        )
        await _send(invitation, organization, actor)
        await audit.record(
            actor,
            "invitation.created",
            organization_id=organization.id,
            target_type="Invitation",
            target_id=invitation.id,
            data={
                "email": email,
                "role": role.value,
                "expiresAt": invitation.expires_at.isoformat(),
                "projects": [{"projectId": s.project_id, "role": s.role.value} for s in specs],
            },
        )
    return invitation


async def _locked_invitation(invitation_id: int) -> tuple[Organization, Invitation]:
    invitation = await Invitation.get_or_none(id=invitation_id)
    if invitation is None:
        raise not_found("Invitation", "invitationId")
    organization = await locked(invitation.organization_id)
    invitation = await Invitation.get_or_none(id=invitation_id)  # it may be gone meanwhile
    if invitation is None:
        raise not_found("Invitation", "invitationId")
    return organization, invitation


def _not_pending(status: InvitationStatus) -> DomainError:
    return DomainError(
        ErrorCode.INVITATION_NOT_PENDING,
        f"This invitation is {status.value.lower()}.",
        "invitationId",
    )


OPEN = (InvitationStatus.PENDING, InvitationStatus.EXPIRED)
DELETABLE = (InvitationStatus.EXPIRED, InvitationStatus.REVOKED, InvitationStatus.DECLINED)


async def _managed(
    actor: Actor, invitation_id: int, allowed: tuple[InvitationStatus, ...]
) -> tuple[Organization, Invitation, InvitationStatus]:
    """The invitation with its organization locked, if its status is one of `allowed`
    and the actor may manage invitations of its role."""
    organization, invitation = await _locked_invitation(invitation_id)
    status = effective_status(invitation)
    if status not in allowed:
        if allowed is DELETABLE:
            raise DomainError(
                ErrorCode.INVITATION_NOT_DELETABLE,
                "Only expired, revoked or declined invitations can be deleted.",
                "invitationId",
            )
        raise _not_pending(status)
    check_role_grantable(actor, OrganizationRole(invitation.role))
    return organization, invitation, status


async def resend(actor: Actor, invitation_id: int) -> Invitation:
    async with atomic():
        organization, invitation, status = await _managed(actor, invitation_id, OPEN)
        update = []
        if status == InvitationStatus.EXPIRED:
            # It takes a seat again, with a fresh lifetime.
            await _reopen(organization, invitation)
            invitation.expires_at = _now() + timedelta(days=organization.invitation_ttl_days)
            update = ["status", "expires_at"]
        await rate_limits.check_and_record(rate_limits.INVITATIONS, str(organization.id))
        if update:
            await invitation.save(update_fields=update)
        await _send(invitation, organization, actor)
        await audit.record(
            actor,
            "invitation.resent",
            organization_id=organization.id,
            target_type="Invitation",
            target_id=invitation.id,
            data={"sendCount": invitation.send_count, "wasExpired": bool(update)},
        )
    return invitation


async def revoke(actor: Actor, invitation_id: int) -> Invitation:
    async with atomic():
        organization, invitation, _ = await _managed(actor, invitation_id, OPEN)
        invitation.status = InvitationStatus.REVOKED
        invitation.token_hash = None
        invitation.ended_at = _now()
        await invitation.save(update_fields=["status", "token_hash", "ended_at"])
        await audit.record(
            actor,
            "invitation.revoked",
            organization_id=organization.id,
            target_type="Invitation",
            target_id=invitation.id,
            data={"email": invitation.email},
        )
    return invitation


async def delete(actor: Actor, invitation_id: int) -> None:
    async with atomic():
        organization, invitation, status = await _managed(actor, invitation_id, DELETABLE)
        await audit.record(
            actor,
            "invitation.deleted",
            organization_id=organization.id,
            target_type="Invitation",
            target_id=invitation.id,
            data={"email": invitation.email, "status": status.value},
        )
        await invitation.delete()


async def extend(actor: Actor, invitation_id: int, days: int) -> Invitation:
    days = clean_days(days, "days")
    async with atomic():
        organization, invitation, status = await _managed(actor, invitation_id, OPEN)
        if status == InvitationStatus.EXPIRED:
            await _reopen(organization, invitation)
        before = invitation.expires_at
        invitation.expires_at = max(_now(), before) + timedelta(days=days)
        await invitation.save(update_fields=["status", "expires_at"])
        await audit.record(
            actor,
            "invitation.extended",
            organization_id=organization.id,
            target_type="Invitation",
            target_id=invitation.id,
            data={"before": before.isoformat(), "after": invitation.expires_at.isoformat()},
        )
    return invitation


async def update(
    actor: Actor,
    invitation_id: int,
    role: OrganizationRole | None,
    project_assignments: list[AssignmentSpec] | None,
) -> Invitation:
    async with atomic():
        organization, invitation, _ = await _managed(
            actor, invitation_id, (InvitationStatus.PENDING,)
        )
        data: dict[str, object] = {}
        if role is not None and role != invitation.role:
            check_role_grantable(actor, OrganizationRole(role))
            data["role"] = {"before": invitation.role, "after": role.value}
            invitation.role = role
            await invitation.save(update_fields=["role"])
        if project_assignments is not None:
            specs = await _check_projects(organization.id, project_assignments)
            await InvitationProjectAssignment.filter(invitation_id=invitation.id).delete()
            await InvitationProjectAssignment.bulk_create(
                [
                    InvitationProjectAssignment(
                        invitation_id=invitation.id, project_id=s.project_id, role=s.role
                    )
                    for s in specs
                ]
            )
            data["projects"] = [{"projectId": s.project_id, "role": s.role.value} for s in specs]
        if data:
            await audit.record(
                actor,
                "invitation.updated",
                organization_id=organization.id,
                target_type="Invitation",
                target_id=invitation.id,
                data=data,
            )
    return invitation


async def by_token(token: str) -> Invitation | None:
    try:
        token = clean_token(token)
    except DomainError:
        return None
    return await Invitation.get_or_none(token_hash=hash_token(token))


async def pending_by_token(token: str) -> Invitation:
    """The invitation a token opens, or INVALID_TOKEN / INVITATION_EXPIRED."""
    invitation = await by_token(token)
    if invitation is None or invitation.status != InvitationStatus.PENDING:
        raise DomainError(ErrorCode.INVALID_TOKEN, "This invitation link is not valid.", "token")
    if effective_status(invitation) == InvitationStatus.EXPIRED:
        raise DomainError(
            ErrorCode.INVITATION_EXPIRED, "This invitation has expired; ask for a new one.", "token"
        )
    return invitation


async def accept(
    invitation_id: int, user: User, ip: str | None, token_hash: str | None = None
) -> Member:
    """Join by invitation (inside the caller's transaction or a new one).

    The invitation already holds a seat, so accepting never fails for seats.
    With `token_hash`, the token must still be the invitation's (a resend may
    have replaced it since it was looked up).
    """
    async with atomic():
        organization, invitation = await _locked_invitation(invitation_id)
        if invitation.status != InvitationStatus.PENDING or (
            token_hash is not None and invitation.token_hash != token_hash
        ):
            raise DomainError(
                ErrorCode.INVALID_TOKEN, "This invitation link is not valid.", "token"
            )
        if effective_status(invitation) == InvitationStatus.EXPIRED:
            raise DomainError(ErrorCode.INVITATION_EXPIRED, "This invitation has expired.", "token")
        if invitation.email != user.email:
            raise DomainError(
                ErrorCode.INVITATION_EMAIL_MISMATCH,
                "This invitation was sent to another address.",
                "token",
            )
        member = await Member.get_or_none(organization_id=organization.id, user_id=user.id)
        if member is not None and member.status != MemberStatus.REMOVED:
            raise DomainError(ErrorCode.ALREADY_MEMBER, "You are a member already.", "token")
        if member is None:
            member = Member(organization_id=organization.id, user_id=user.id)
        member.name = user.name
        member.email = user.email
        member.username = invitation.username
        member.title = None
        member.set_role(OrganizationRole(invitation.role))
        member.status = MemberStatus.ACTIVE
        member.joined_at = _now()
        member.blocked_at = None
        member.removed_at = None
        member.invited_by_id = invitation.invited_by_id
        await member.save()
        specs = await InvitationProjectAssignment.filter(invitation_id=invitation.id)
        await ProjectAssignment.bulk_create(
            [
                ProjectAssignment(project_id=s.project_id, member_id=member.id, role=s.role)
                for s in specs
            ]
        )
        invitation.status = InvitationStatus.ACCEPTED
        invitation.accepted_at = _now()
        invitation.token_hash = None
        await invitation.save(update_fields=["status", "accepted_at", "token_hash"])
        newly_verified = user.email_verified_at is None
        if newly_verified:
            # Holding the mailed token proves the address.
            user.email_verified_at = _now()
            await user.save(update_fields=["email_verified_at"])
        actor = Actor(viewer=Viewer(user=user), ip=ip)
        await audit.record(
            actor,
            "invitation.accepted",
            organization_id=organization.id,
            target_type="Invitation",
            target_id=invitation.id,
            data={"email": invitation.email, "memberId": member.id},
        )
        await audit.record(
            actor,
            "member.joined",
            organization_id=organization.id,
            target_type="Member",
            target_id=member.id,
            data={"role": member.role, "via": "invitation", "projects": len(specs)},
        )
        if newly_verified:
            from app.services import domains  # domains build on invitations' seats

            await domains.auto_join(user, ip=ip)
    return member


async def accept_by_token(token: str, user: User, ip: str | None) -> Member:
    invitation = await pending_by_token(token)
    return await accept(invitation.id, user, ip, token_hash=invitation.token_hash)


async def decline(token: str, ip: str | None) -> None:
    found = await pending_by_token(token)
    async with atomic():
        organization, invitation = await _locked_invitation(found.id)
        if (
            effective_status(invitation) != InvitationStatus.PENDING
            or invitation.token_hash != found.token_hash
        ):
            raise DomainError(
                ErrorCode.INVALID_TOKEN, "This invitation link is not valid.", "token"
            )
        invitation.status = InvitationStatus.DECLINED
        invitation.token_hash = None
        invitation.ended_at = _now()
        await invitation.save(update_fields=["status", "token_hash", "ended_at"])
        await audit.record(
            Actor(viewer=Viewer(), ip=ip),
            "invitation.declined",
            organization_id=organization.id,
            target_type="Invitation",
            target_id=invitation.id,
            data={"email": invitation.email},
        )


async def pending_for_email(email: str) -> list[Invitation]:
    return await Invitation.filter(
        email=email, status=InvitationStatus.PENDING, expires_at__gt=_now()
    ).order_by("-id")
