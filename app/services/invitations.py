"""Invitations: the whole lifecycle, and what pending invitations hold: seats and
usernames.

A PENDING invitation past its expiry reads as EXPIRED everywhere
(`effective_status`, `pending_invitations`); it holds no seat and no username.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from app import config
from app.auth.roles import Permission, can_manage_role
from app.auth.tokens import hash_token, new_token
from app.clock import now
from app.errors import DomainError, ErrorCode, not_found
from app.mail.templates import Html
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
from app.services import events, expiry, managed, rate_limits
from app.services.accounts import require_verified
from app.services.audit import Actor
from app.services.expiry import member_expired, present_q, status_now
from app.services.expiry_sweep import expire_member_row
from app.services.mail import enqueue
from app.services.projects import AssignmentSpec
from app.services.tx import atomic, locked_for, locked_row, locked_row_for
from app.services.validation import (
    clean_days,
    clean_email,
    clean_message,
    clean_token,
    clean_username,
    email_domain,
)

MAX_PROJECT_ASSIGNMENTS = 100
# The statuses of members who are in the organization. A member past `expires_at` is not,
# whatever their stored status: filter with `expiry.present_q()`, not with these alone.
PRESENT = expiry.PRESENT


def pending_invitations() -> Q:
    """PENDING and unexpired: the invitations that can be accepted, and that hold a seat
    and a username. A filter for `Invitation.filter(pending_invitations(), …)`."""
    return Q(status=InvitationStatus.PENDING, expires_at__gt=now())


def effective_status(invitation: Invitation) -> InvitationStatus:
    """The status as it reads: a PENDING invitation past its expiry is EXPIRED."""
    return effective_status_from(invitation.status, invitation.expires_at)


def effective_status_from(
    status: InvitationStatus | str, expires_at: datetime, at: datetime | None = None
) -> InvitationStatus:
    """`effective_status` from an invitation's columns, at `at` (default: now)."""
    read = InvitationStatus(status)
    if read == InvitationStatus.PENDING and expires_at <= (now() if at is None else at):
        return InvitationStatus.EXPIRED
    return read


async def pending_for_email(email: str) -> list[Invitation]:
    """The pending invitations to `email`, newest first."""
    return await Invitation.filter(pending_invitations(), email=email).order_by("-id")


# Seats and usernames ---------------------------------------------------------------------


async def seats_used(organization_id: int) -> int:
    """ACTIVE + BLOCKED members not past their expiry (owner included) + PENDING
    unexpired invitations: an expired member frees their seat at that instant."""
    members = await Member.filter(present_q(), organization_id=organization_id).count()
    invitations = await Invitation.filter(
        pending_invitations(), organization_id=organization_id
    ).count()
    return members + invitations


async def ensure_seat(organization: Organization, needed: int = 1) -> None:
    """Refuse when `needed` more seats would pass the limit (call with the org locked)."""
    if organization.seat_limit is None:
        return
    if await seats_used(organization.id) + needed > organization.seat_limit:
        raise DomainError(
            ErrorCode.SEAT_LIMIT_REACHED,
            f"All {organization.seat_limit} seats are taken.",
        )


async def username_taken(
    organization_id: int,
    username: str,
    *,
    except_member: int | None = None,
    except_invitation: int | None = None,
) -> bool:
    """Usernames are unique among the organization's members and pending invitations."""
    members = Member.filter(present_q(), organization_id=organization_id, username__iexact=username)
    if except_member is not None:
        members = members.exclude(id=except_member)
    invitations = Invitation.filter(
        pending_invitations(), organization_id=organization_id, username__iexact=username
    )
    if except_invitation is not None:
        invitations = invitations.exclude(id=except_invitation)
    return await members.exists() or await invitations.exists()


# The lifecycle ---------------------------------------------------------------------------


@dataclass
class InviteRequest:
    email: str
    role: OrganizationRole = OrganizationRole.USER
    username: str | None = None
    project_assignments: list[AssignmentSpec] | None = None
    expires_in_days: int | None = None
    message: str | None = None
    add_to_default_projects: bool = False
    # False: no mail; the accept link is handed back once, to the inviter.
    send_email: bool = True
    # Becomes the member's `expires_at` on acceptance.
    membership_expires_at: datetime | None = None


# How far ahead a membership granted by invitation may end.
MAX_MEMBERSHIP_TERM = timedelta(days=5 * 365)


def clean_membership_expiry(value: datetime | None) -> datetime | None:
    """A membership end must lie in the future, at most five years ahead."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise DomainError(
            ErrorCode.INVALID_INPUT, "Give a time with its UTC offset.", "membershipExpiresAt"
        )
    moment = now()
    if value <= moment or value > moment + MAX_MEMBERSHIP_TERM:
        raise DomainError(
            ErrorCode.INVALID_INPUT,
            "The membership must end in the future, at most five years from now.",
            "membershipExpiresAt",
        )
    return value


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
    found: list[Any] = await Project.filter(
        id__in=list(by_project), organization_id=organization_id
    ).values_list("id", flat=True)
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
        expires_at__lte=now(),
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
    if await Member.filter(present_q(), organization_id=organization.id, email=email).exists():
        raise DomainError(ErrorCode.ALREADY_MEMBER, "This person is a member.", "email")
    await _expire_stale(organization.id, email)
    # The stored status: the one-pending-invitation-per-address index reads it.
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


async def _inviter(invitation: Invitation) -> Member | None:
    if invitation.invited_by_id is None:
        return None
    return await Member.get_or_none(id=invitation.invited_by_id)


async def _assign_projects(invitation: Invitation, specs: list[AssignmentSpec]) -> None:
    """The project roles the invitee gets on joining."""
    await InvitationProjectAssignment.bulk_create(
        [
            InvitationProjectAssignment(
                invitation_id=invitation.id, project_id=s.project_id, role=s.role
            )
            for s in specs
        ]
    )


async def _end(invitation: Invitation, status: InvitationStatus) -> None:
    """REVOKED or DECLINED: the link stops working."""
    invitation.status = status
    invitation.token_hash = None
    invitation.ended_at = now()
    await invitation.save(update_fields=["status", "token_hash", "ended_at"])


def message_blocks(inviter: str, message: str | None) -> tuple[str, Html]:
    """The inviter's message as the mail shows it, after the real link: labelled as
    theirs and quoted, so that nothing in it passes for Roster's own words or link.
    (text, HTML); both empty without a message."""
    if not message:
        return "", Html("")
    quoted = "\n".join(f"> {line}" for line in message.splitlines())
    text = f"\nMessage from {inviter}:\n\n{quoted}\n"
    page = Html(
        f"<p>Message from <strong>{escape(inviter)}</strong>:</p>\n"
        '<blockquote style="margin:0 0 1em;padding:0 1em;border-left:3px solid #ccc;'
        f'color:#444;white-space:pre-wrap">{escape(message)}</blockquote>\n'
    )
    return text, page


async def _send(invitation: Invitation, organization: Organization) -> None:
    """A fresh token and mail; older links stop working."""
    token = new_token()
    inviter = await _inviter(invitation)
    inviter_name = inviter.name if inviter else organization.name
    message_text, message_html = message_blocks(inviter_name, invitation.message)
    mail = await enqueue(
        "invitation",
        invitation.email,
        organization=organization.name,
        inviter=inviter_name,
        role=invitation.role,
        expires_at=invitation.expires_at.strftime("%Y-%m-%d %H:%M UTC"),
        message_block=message_text,
        message_html=message_html,
        link=config.current().link("/invitations/accept", token),
    )
    invitation.token_hash = hash_token(token)
    invitation.send_count += 1
    invitation.last_mail_id = mail.id
    invitation.send_email = True  # a resend of a mail-less invitation mails it
    await invitation.save(update_fields=["token_hash", "send_count", "last_mail_id", "send_email"])


async def _issue_link(invitation: Invitation) -> str:
    """A fresh token, mailed to nobody: the accept link to hand to the inviter once."""
    token = new_token()
    invitation.token_hash = hash_token(token)
    await invitation.save(update_fields=["token_hash"])
    return config.current().link("/invitations/accept", token)


async def invite(actor: Actor, organization_id: int, request: InviteRequest) -> Invitation:
    return (await invite_with_link(actor, organization_id, request))[0]


async def invite_with_link(
    actor: Actor, organization_id: int, request: InviteRequest
) -> tuple[Invitation, str | None]:
    """inviteMember: the invitation, and its accept link when it was not mailed
    (`send_email` false): the one time the link is handed out. None when mailed."""
    require_verified(actor)
    return await _invite(actor, organization_id, request)


async def invite_many(
    actor: Actor, organization_id: int, requests: list[InviteRequest]
) -> list[tuple[str, Invitation | DomainError]]:
    """Each address on its own: one refusal does not stop the rest. A refusal of the
    inviter (EMAIL_NOT_VERIFIED) refuses the whole request, before anything is written."""
    require_verified(actor)
    results: list[tuple[str, Invitation | DomainError]] = []
    for request in requests:
        try:
            invitation, _ = await _invite(actor, organization_id, request)
            results.append((request.email, invitation))
        except DomainError as error:
            results.append((request.email, error))
    return results


async def _take_invitation_mail(actor: Actor, organization_id: int) -> None:
    """Count one invitation mail against the organization's and the inviter's limits."""
    await rate_limits.take(
        rate_limits.invitation_subjects(organization_id, actor.user_id, actor.api_key_id)
    )


async def _invite(
    actor: Actor, organization_id: int, request: InviteRequest
) -> tuple[Invitation, str | None]:
    email = clean_email(request.email)
    username = clean_username(request.username)
    message = clean_message(request.message)
    membership_expires_at = clean_membership_expiry(request.membership_expires_at)
    role = OrganizationRole(request.role)
    check_role_grantable(actor, role)
    async with atomic():
        organization, actor = await locked_for(actor, organization_id, Permission.MANAGE_MEMBERS)
        check_role_grantable(actor, role)  # again, with the role as it is now
        ttl = organization.invitation_ttl_days
        if request.expires_in_days is not None:
            ttl = clean_days(request.expires_in_days, "expiresInDays")
        specs = await _check_projects(organization.id, request.project_assignments or [])
        if request.add_to_default_projects:
            chosen = {s.project_id for s in specs}
            defaults: list[Any] = await Project.filter(
                organization_id=organization.id, is_default=True
            ).values_list("id", flat=True)
            specs += [AssignmentSpec(pid, ProjectRole.USE) for pid in defaults if pid not in chosen]
        await _check_invitable(organization, email, username)
        await _take_invitation_mail(actor, organization.id)
        try:
            invitation = await Invitation.create(
                organization=organization,
                email=email,
                username=username,
                role=role,
                message=message,
                expires_at=now() + timedelta(days=ttl),
                invited_by_id=actor.member_id,
                send_email=request.send_email,
                membership_expires_at=membership_expires_at,
            )
        except IntegrityError as exc:  # a concurrent invitation of the same email won
            raise DomainError(
                ErrorCode.ALREADY_INVITED, "This email has a pending invitation.", "email"
            ) from exc
        await _assign_projects(invitation, specs)
        link = None
        if request.send_email:
            await _send(invitation, organization)
        else:
            link = await _issue_link(invitation)
        await events.invitation_created(actor, invitation, specs)
    return invitation, link


async def _locked_invitation(invitation_id: int) -> tuple[Organization, Invitation]:
    return await locked_row(Invitation, invitation_id, "Invitation", "invitationId")


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
) -> tuple[Organization, Invitation, InvitationStatus, Actor]:
    """The invitation with its organization locked, if its status is one of `allowed`
    and the actor (as they stand now, re-read under the lock) may manage invitations of
    its role."""
    organization, invitation, actor = await locked_row_for(
        actor, Permission.MANAGE_MEMBERS, Invitation, invitation_id, "Invitation", "invitationId"
    )
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
    return organization, invitation, status, actor


async def resend(actor: Actor, invitation_id: int) -> Invitation:
    async with atomic():
        organization, invitation, status, actor = await _managed(actor, invitation_id, OPEN)
        was_expired = status == InvitationStatus.EXPIRED
        if was_expired:
            # It takes a seat again, with a fresh lifetime.
            await _reopen(organization, invitation)
            invitation.expires_at = now() + timedelta(days=organization.invitation_ttl_days)
        await _take_invitation_mail(actor, organization.id)
        if was_expired:
            await invitation.save(update_fields=["status", "expires_at"])
        await _send(invitation, organization)
        await events.invitation_resent(actor, invitation, was_expired)
    return invitation


async def revoke(actor: Actor, invitation_id: int) -> Invitation:
    async with atomic():
        _, invitation, _, actor = await _managed(actor, invitation_id, OPEN)
        await _end(invitation, InvitationStatus.REVOKED)
        await events.invitation_revoked(actor, invitation)
    return invitation


async def delete(actor: Actor, invitation_id: int) -> None:
    async with atomic():
        _, invitation, status, actor = await _managed(actor, invitation_id, DELETABLE)
        await events.invitation_deleted(actor, invitation, status)
        await invitation.delete()


async def extend(actor: Actor, invitation_id: int, days: int) -> Invitation:
    days = clean_days(days, "days")
    async with atomic():
        organization, invitation, status, actor = await _managed(actor, invitation_id, OPEN)
        if status == InvitationStatus.EXPIRED:
            await _reopen(organization, invitation)
        before = invitation.expires_at
        invitation.expires_at = max(now(), before) + timedelta(days=days)
        await invitation.save(update_fields=["status", "expires_at"])
        await events.invitation_extended(actor, invitation, before)
    return invitation


async def update(
    actor: Actor,
    invitation_id: int,
    role: OrganizationRole | None,
    project_assignments: list[AssignmentSpec] | None,
) -> Invitation:
    async with atomic():
        organization, invitation, _, actor = await _managed(
            actor, invitation_id, (InvitationStatus.PENDING,)
        )
        role_before = None
        if role is not None and role != invitation.role:
            check_role_grantable(actor, OrganizationRole(role))
            role_before = invitation.role
            invitation.role = role
            await invitation.save(update_fields=["role"])
        specs = None
        if project_assignments is not None:
            specs = await _check_projects(organization.id, project_assignments)
            await InvitationProjectAssignment.filter(invitation_id=invitation.id).delete()
            await _assign_projects(invitation, specs)
        if role_before is not None or specs is not None:
            await events.invitation_updated(
                actor, invitation, role_before=role_before, projects=specs
            )
    return invitation


# Links -----------------------------------------------------------------------------------


def _invalid_link() -> DomainError:
    return DomainError(ErrorCode.INVALID_TOKEN, "This invitation link is not valid.", "token")


async def by_token(token: str) -> Invitation | None:
    """The invitation a mailed token opens, in whatever status, or None."""
    try:
        token = clean_token(token)
    except DomainError:
        return None
    return await Invitation.get_or_none(token_hash=hash_token(token))


@dataclass(frozen=True)
class InvitationLink:
    """What an invitation link shows: the invitation (in whatever status), its
    organization, and the member who sent it (None when gone or never known)."""

    invitation: Invitation
    organization: Organization
    inviter: Member | None


async def link_by_token(token: str) -> InvitationLink | None:
    invitation = await by_token(token)
    if invitation is None:
        return None
    organization = await Organization.get(id=invitation.organization_id)
    return InvitationLink(invitation, organization, await _inviter(invitation))


async def pending_by_token(token: str) -> Invitation:
    """The invitation a token opens, or INVALID_TOKEN / INVITATION_EXPIRED."""
    invitation = await by_token(token)
    if invitation is None or invitation.status != InvitationStatus.PENDING:
        raise _invalid_link()
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
    have replaced it since it was looked up). The user's address counts as
    verified from here on: app/services/onboarding.py records that.
    """
    async with atomic():
        organization, invitation = await _locked_invitation(invitation_id)
        if invitation.status != InvitationStatus.PENDING or (
            token_hash is not None and invitation.token_hash != token_hash
        ):
            raise _invalid_link()
        if effective_status(invitation) == InvitationStatus.EXPIRED:
            raise DomainError(ErrorCode.INVITATION_EXPIRED, "This invitation has expired.", "token")
        if invitation.email != user.email:
            raise DomainError(
                ErrorCode.INVITATION_EMAIL_MISMATCH,
                "This invitation was sent to another address.",
                "token",
            )
        if (
            invitation.membership_expires_at is not None
            and invitation.membership_expires_at <= now()
        ):
            raise DomainError(
                ErrorCode.INVITATION_EXPIRED,
                "The membership this invitation offers has already ended; ask for a new one.",
                "token",
            )
        member = await Member.get_or_none(organization_id=organization.id, user_id=user.id)
        if member is not None and status_now(member) != MemberStatus.REMOVED:
            raise DomainError(ErrorCode.ALREADY_MEMBER, "You are a member already.", "token")
        if member is not None and member_expired(member):
            # Past its end but not swept yet: write the expiry first, then rejoin.
            await expire_member_row(member, organization)
        if member is None:
            member = Member(organization_id=organization.id, user_id=user.id)
        managed.release(member)
        member.name = user.name
        member.email = user.email
        member.username = invitation.username
        member.title = None
        member.set_role(OrganizationRole(invitation.role))
        member.status = MemberStatus.ACTIVE
        member.joined_at = now()
        member.blocked_at = None
        member.removed_at = None
        member.invited_by_id = invitation.invited_by_id
        member.expires_at = invitation.membership_expires_at
        member.role_expires_at = None  # a temporary role of an earlier membership ends here
        member.role_reverts_to = None
        await member.save()
        specs = await InvitationProjectAssignment.filter(invitation_id=invitation.id)
        await ProjectAssignment.bulk_create(
            [
                ProjectAssignment(project_id=s.project_id, member_id=member.id, role=s.role)
                for s in specs
            ]
        )
        invitation.status = InvitationStatus.ACCEPTED
        invitation.accepted_at = now()
        invitation.token_hash = None
        await invitation.save(update_fields=["status", "accepted_at", "token_hash"])
        actor = Actor.for_user(user, ip)
        await events.invitation_accepted(actor, invitation, member)
        await events.member_joined_by_invitation(actor, member, len(specs))
    return member


async def decline(token: str, ip: str | None) -> None:
    found = await pending_by_token(token)
    async with atomic():
        _, invitation = await _locked_invitation(found.id)
        if (
            effective_status(invitation) != InvitationStatus.PENDING
            or invitation.token_hash != found.token_hash
        ):
            raise _invalid_link()
        await _end(invitation, InvitationStatus.DECLINED)
        await events.invitation_declined(Actor.for_user(None, ip), invitation)
