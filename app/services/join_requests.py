"""Join requests: people whose verified email is at an organization's verified REQUEST
domain ask to join; the organization's OWNER and ADMINs approve or deny; the requester
may withdraw. The whole lifecycle and the suggestions that lead to it.

A PENDING request past `expires_at` (30 days after it was made) reads as EXPIRED
everywhere (`effective_status`, `pending_requests`) and can no longer be decided.
One stored PENDING request per person and organization: the organization lock
serializes the check, and a partial unique index backs it.
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
from app.errors import DomainError, ErrorCode, not_found
from app.models import Domain, JoinRequest, Member, Organization, User
from app.models.enums import DomainJoinPolicy, JoinRequestStatus, MemberStatus, OrganizationRole
from app.services import events, managed, rate_limits
from app.services.audit import Actor
from app.services.expiry import member_expired, status_now
from app.services.expiry_sweep import expire_member_row
from app.services.invitations import check_role_grantable, ensure_seat
from app.services.mail import enqueue
from app.services.tx import atomic, locked, locked_row, locked_row_for
from app.services.validation import clean_message, clean_token, email_domain

REQUEST_TTL = timedelta(days=30)
DECISION_PATH = "/join-requests/decision"
# requestToJoin per account: enough for every suggestion a person could have, not a flood
# of requests (and the admins' mail they lead to) from one account.
JOIN_REQUESTS = rate_limits.Limit("join_requests", 20, timedelta(hours=1))
# Suggestions are bounded: a domain is verified by one organization, so a person has at
# most one per domain in practice; this caps what a list can cost.
MAX_SUGGESTIONS = 50


def pending_requests() -> Q:
    """PENDING and unexpired: the requests that can still be decided or withdrawn."""
    return Q(status=JoinRequestStatus.PENDING, expires_at__gt=now())


def effective_status(request: JoinRequest) -> JoinRequestStatus:
    """The status as it reads: a PENDING request past its expiry is EXPIRED."""
    status = JoinRequestStatus(request.status)
    if status == JoinRequestStatus.PENDING and request.expires_at <= now():
        return JoinRequestStatus.EXPIRED
    return status


def status_filter(statuses: list[JoinRequestStatus]) -> Q:
    """Filter on the status as it reads (PENDING past expiry is EXPIRED)."""
    clauses = []
    for status in set(statuses):
        if status == JoinRequestStatus.PENDING:
            clauses.append(pending_requests())
        elif status == JoinRequestStatus.EXPIRED:
            clauses.append(Q(status=JoinRequestStatus.EXPIRED))
            clauses.append(Q(status=JoinRequestStatus.PENDING, expires_at__lte=now()))
        else:
            clauses.append(Q(status=status))
    return Q(*clauses, join_type="OR")


# Who may ask -----------------------------------------------------------------------------


def _request_domains(user: User) -> Q:
    """Verified REQUEST domains matching the user's address, if it is verified."""
    if not user.email_verified:
        return Q(id__in=[])
    return Q(
        domain=email_domain(user.email),
        verified_at__not_isnull=True,
        join_policy=DomainJoinPolicy.REQUEST,
    )


async def suggested_organizations(user: User) -> list[Organization]:
    """Organizations the user may ask to join: a verified REQUEST domain matches their
    verified email, and they have no membership there of any status (members, and the
    removed and the blocked, get none) nor a pending request."""
    org_ids = await Domain.filter(_request_domains(user)).values_list("organization_id", flat=True)
    if not org_ids:
        return []
    excluded = set(
        await Member.filter(user_id=user.id, organization_id__in=org_ids).values_list(
            "organization_id", flat=True
        )
    )
    excluded |= set(
        await JoinRequest.filter(
            pending_requests(), user_id=user.id, organization_id__in=org_ids
        ).values_list("organization_id", flat=True)
    )
    wanted = [pk for pk in org_ids if pk not in excluded]
    return list(
        await Organization.filter(id__in=wanted).order_by("name", "id").limit(MAX_SUGGESTIONS)
    )


async def is_suggested(user: User, organization_id: int) -> bool:
    return any(org.id == organization_id for org in await suggested_organizations(user))


def _not_allowed() -> DomainError:
    return DomainError(
        ErrorCode.JOIN_NOT_ALLOWED,
        "You cannot ask to join this organization: it accepts requests only from verified "
        "addresses at its domain.",
        "organizationId",
    )


async def _check_may_request(user: User, organization: Organization) -> None:
    """Call with the organization locked."""
    member = await Member.get_or_none(organization_id=organization.id, user_id=user.id)
    if member is not None:
        if status_now(member) == MemberStatus.ACTIVE:
            raise DomainError(
                ErrorCode.ALREADY_MEMBER, "You are a member already.", "organizationId"
            )
        raise _not_allowed()  # removed or blocked: never by request
    if not await Domain.filter(_request_domains(user), organization_id=organization.id).exists():
        raise _not_allowed()
    # Store EXPIRED on a stale row, so that the one-pending index lets a new one in.
    await JoinRequest.filter(
        organization_id=organization.id,
        user_id=user.id,
        status=JoinRequestStatus.PENDING,
        expires_at__lte=now(),
    ).update(status=JoinRequestStatus.EXPIRED)
    if await JoinRequest.exists(
        organization_id=organization.id, user_id=user.id, status=JoinRequestStatus.PENDING
    ):
        raise _already_requested()


def _already_requested() -> DomainError:
    return DomainError(
        ErrorCode.ALREADY_REQUESTED,
        "You have asked to join this organization already; the request is pending.",
        "organizationId",
    )


# The lifecycle ---------------------------------------------------------------------------


async def request_to_join(
    user: User, organization_id: int, message: str | None, ip: str | None
) -> JoinRequest:
    """requestToJoin: a PENDING request, valid 30 days."""
    message = clean_message(message)
    async with atomic():
        organization = await locked(organization_id)
        await _check_may_request(user, organization)
        await rate_limits.take([(JOIN_REQUESTS, f"user:{user.id}")])
        moment = now()
        try:
            request = await JoinRequest.create(
                organization_id=organization.id,
                user_id=user.id,
                message=message,
                created_at=moment,
                expires_at=moment + REQUEST_TTL,
            )
        except IntegrityError as exc:  # a concurrent request won (SQLite has no row lock)
            raise _already_requested() from exc
        await events.join_request_created(Actor.for_user(user, ip), request, user)
    return request


def _not_pending(status: JoinRequestStatus) -> DomainError:
    return DomainError(
        ErrorCode.REQUEST_NOT_PENDING,
        f"This join request is {status.value.lower()}; it can no longer change.",
        "joinRequestId",
    )


async def _decidable(
    actor: Actor, request_id: int
) -> tuple[Organization, JoinRequest, User, Actor]:
    """The PENDING request with its organization locked, and the actor as they stand now
    (ADMIN+)."""
    organization, request, actor = await locked_row_for(
        actor, Permission.MANAGE_MEMBERS, JoinRequest, request_id, "JoinRequest", "joinRequestId"
    )
    status = effective_status(request)
    if status != JoinRequestStatus.PENDING:
        raise _not_pending(status)
    return organization, request, await User.get(id=request.user_id), actor


async def _join_role(organization: Organization, user: User) -> OrganizationRole:
    """The role of the verified REQUEST domain that matches the user, else USER (the
    domain may have been removed or its policy changed since the request was made)."""
    domain = (
        await Domain.filter(
            organization_id=organization.id,
            domain=email_domain(user.email),
            verified_at__not_isnull=True,
        )
        .order_by("id")
        .first()
    )
    return OrganizationRole(domain.auto_join_role) if domain else OrganizationRole.USER


async def _decide(
    request: JoinRequest, status: JoinRequestStatus, actor: Actor, role: OrganizationRole | None
) -> str:
    """Store the decision; returns the token of its landing page (only its hash is kept)."""
    token = new_token()
    request.status = status
    request.decided_at = now()
    request.decided_by_id = actor.member_id
    request.role = role
    request.decision_token_hash = hash_token(token)
    await request.save(
        update_fields=["status", "decided_at", "decided_by_id", "role", "decision_token_hash"]
    )
    return token


async def approve(actor: Actor, request_id: int, role: OrganizationRole | None) -> Member:
    """approveJoinRequest: the requester joins with `role` or the domain's autoJoinRole,
    within the limits of invitations (never OWNER, ADMIN only by the OWNER), seats
    permitting."""
    if role is not None:
        check_role_grantable(actor, OrganizationRole(role))
    async with atomic():
        organization, request, user, actor = await _decidable(actor, request_id)
        granted = (
            OrganizationRole(role) if role is not None else await _join_role(organization, user)
        )
        check_role_grantable(actor, granted)  # again, with the actor's role as it is now
        member = await Member.get_or_none(organization_id=organization.id, user_id=user.id)
        status = None if member is None else status_now(member)
        if status == MemberStatus.ACTIVE:
            raise DomainError(
                ErrorCode.ALREADY_MEMBER, "This person is a member already.", "joinRequestId"
            )
        if status == MemberStatus.BLOCKED:
            raise DomainError(
                ErrorCode.JOIN_NOT_ALLOWED, "This person is blocked here.", "joinRequestId"
            )
        await ensure_seat(organization)
        if member is not None and member_expired(member):
            # Past its end but not swept yet: write the expiry first, then rejoin.
            await expire_member_row(member, organization)
        if member is None:
            member = Member(organization_id=organization.id, user_id=user.id)
        # Joining through Roster makes the membership Roster's, whatever provisioned an
        # earlier one (as an accepted invitation does).
        managed.release(member)
        member.name = user.name
        member.email = user.email
        member.username = None
        member.title = None
        member.set_role(granted)
        member.status = MemberStatus.ACTIVE
        member.joined_at = now()
        member.blocked_at = None
        member.removed_at = None
        member.invited_by_id = actor.member_id
        # A membership that comes back starts afresh: no end or temporary role carried over.
        member.expires_at = None
        member.role_expires_at = None
        member.role_reverts_to = None
        await member.save()
        token = await _decide(request, JoinRequestStatus.APPROVED, actor, granted)
        await _mail_decision("join_request_approved", organization, user, token, granted)
        await events.join_request_approved(actor, request, user, member)
        await events.member_joined_by_request(actor, member, request)
    return member


async def deny(actor: Actor, request_id: int) -> JoinRequest:
    async with atomic():
        organization, request, user, actor = await _decidable(actor, request_id)
        token = await _decide(request, JoinRequestStatus.DENIED, actor, None)
        await _mail_decision("join_request_denied", organization, user, token, None)
        await events.join_request_denied(actor, request, user)
    return request


async def withdraw(user: User, request_id: int, ip: str | None) -> JoinRequest:
    """withdrawJoinRequest: the requester only; for anyone else it does not exist."""
    async with atomic():
        missing = not_found("JoinRequest", "joinRequestId")
        found = await JoinRequest.get_or_none(id=request_id)
        if found is None or found.user_id != user.id:
            raise missing
        _, request = await locked_row(JoinRequest, request_id, "JoinRequest", "joinRequestId")
        status = effective_status(request)
        if status != JoinRequestStatus.PENDING:
            raise _not_pending(status)
        request.status = JoinRequestStatus.WITHDRAWN
        request.decided_at = now()
        await request.save(update_fields=["status", "decided_at"])
        await events.join_request_withdrawn(Actor.for_user(user, ip), request, user)
    return request


async def _mail_decision(
    kind: str, organization: Organization, user: User, token: str, role: OrganizationRole | None
) -> None:
    await enqueue(
        kind,
        user.email,
        name=user.name,
        organization=organization.name,
        role=role.value if role else "",
        link=config.current().link(DECISION_PATH, token),
    )


# The decision's landing page ---------------------------------------------------------------


@dataclass(frozen=True)
class DecisionLink:
    """What a decision mail's link shows: the request and its organization."""

    request: JoinRequest
    organization: Organization


async def decision_by_token(token: str) -> DecisionLink | None:
    """The decided request a mailed token opens (read only), or None."""
    try:
        token_hash = hash_token(clean_token(token))
    except DomainError:
        return None
    request = await JoinRequest.get_or_none(decision_token_hash=token_hash)
    if request is None:
        return None
    return DecisionLink(request, await Organization.get(id=request.organization_id))
