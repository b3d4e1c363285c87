"""Temporary access as it reads at an instant: the one place for each predicate.

A member whose `expires_at` has come is REMOVED from that instant (no access, no seat,
listed and counted as REMOVED), a temporary role whose `role_expires_at` has come reads
as `role_reverts_to`, and a project assignment whose `expires_at` has come does not
exist. The sweeper (app/services/expiry_sweep.py) later writes these changes with their
audit events; every read and every access check applies the predicates below with
`app.clock.now()` so that nothing depends on when the sweep ran.

Python predicates take a model (or its columns) and an instant; query predicates return
a Tortoise `Q` for the same rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from tortoise.expressions import Q

from app.auth.viewer import Viewer
from app.clock import now
from app.errors import DomainError, ErrorCode
from app.models import Member, ProjectAssignment
from app.models.enums import MemberStatus, OrganizationRole
from app.services.audit import Actor

# Members who hold a seat and may be addressed (not REMOVED).
PRESENT = (MemberStatus.ACTIVE, MemberStatus.BLOCKED)
# The system acts when access ends on its own: no user, no API key (a null actor).
SYSTEM_ACTOR = Actor(viewer=Viewer())


class Unset:
    """An argument not given (distinct from None, which clears)."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET = Unset()


# Enum members by stored value: a dict lookup, not the Enum call (a list page reads both per row).
_STATUSES = {status.value: status for status in MemberStatus}
_ROLES = {role.value: role for role in OrganizationRole}


def _read_role(value: OrganizationRole | str) -> OrganizationRole:
    return _ROLES.get(value) or OrganizationRole(value)


def _moment(at: datetime | None) -> datetime:
    return now() if at is None else at


def _due(deadline: datetime | None, at: datetime) -> bool:
    return deadline is not None and deadline <= at


# Members ---------------------------------------------------------------------------------


def expired_from(
    status: MemberStatus | str,
    role: OrganizationRole | str,
    expires_at: datetime | None,
    at: datetime | None = None,
) -> bool:
    """From a member's columns: not yet swept, and their membership has come to its end
    (never the OWNER's)."""
    return (
        status != MemberStatus.REMOVED
        and role != OrganizationRole.OWNER
        and _due(expires_at, _moment(at))
    )


def member_expired(member: Member, at: datetime | None = None) -> bool:
    return expired_from(member.status, member.role, member.expires_at, at)


def status_now(member: Member, at: datetime | None = None) -> MemberStatus:
    """The status as it reads: REMOVED from `expires_at` on."""
    return status_from(member.status, member.role, member.expires_at, at)


def removed_at_now(member: Member, at: datetime | None = None) -> datetime | None:
    """When they were removed: an unswept expiry counts from `expires_at`."""
    return removed_at_from(member.status, member.role, member.expires_at, member.removed_at, at)


def removed_at_from(
    status: MemberStatus | str,
    role: OrganizationRole | str,
    expires_at: datetime | None,
    removed_at: datetime | None,
    at: datetime | None = None,
) -> datetime | None:
    """`removed_at_now` from a member's columns."""
    return expires_at if expired_from(status, role, expires_at, at) else removed_at


def status_from(
    status: MemberStatus | str,
    role: OrganizationRole | str,
    expires_at: datetime | None,
    at: datetime | None = None,
) -> MemberStatus:
    """`status_now` from a member's columns."""
    if expired_from(status, role, expires_at, at):
        return MemberStatus.REMOVED
    return _STATUSES.get(status) or MemberStatus(status)


def role_from(
    role: OrganizationRole | str,
    role_expires_at: datetime | None,
    role_reverts_to: OrganizationRole | str | None,
    at: datetime | None = None,
) -> OrganizationRole:
    """The role as it reads: `role_reverts_to` from `role_expires_at` on."""
    if role_reverts_to is not None and _due(role_expires_at, _moment(at)):
        return _read_role(role_reverts_to)
    return _read_role(role)


def role_now(member: Member, at: datetime | None = None) -> OrganizationRole:
    return role_from(member.role, member.role_expires_at, member.role_reverts_to, at)


def temporary_role_pending(member: Member, at: datetime | None = None) -> bool:
    """The member holds a temporary role that has not reverted yet."""
    return temporary_role_pending_from(member.role_expires_at, member.role_reverts_to, at)


def temporary_role_pending_from(
    role_expires_at: datetime | None,
    role_reverts_to: OrganizationRole | str | None,
    at: datetime | None = None,
) -> bool:
    """`temporary_role_pending` from a member's columns."""
    return (
        role_expires_at is not None
        and role_reverts_to is not None
        and not _due(role_expires_at, _moment(at))
    )


def not_expired_q(at: datetime | None = None) -> Q:
    """Members whose membership has not ended (the OWNER's never does)."""
    return Q(expires_at=None) | Q(expires_at__gt=_moment(at)) | Q(role=OrganizationRole.OWNER)


def not_expired_sql(alias: str) -> str:
    """`not_expired_q` as an SQL condition on the members table named `alias`, for the
    few statements written by hand. Its one `?` parameter is the instant (`now()`)."""
    return (
        f'({alias}."expires_at" IS NULL OR {alias}."expires_at" > ? '
        f"OR {alias}.\"role\" = '{OrganizationRole.OWNER.value}')"
    )


def active_q(at: datetime | None = None) -> Q:
    """Members with access now: ACTIVE and not past their `expires_at`."""
    return Q(status=MemberStatus.ACTIVE) & not_expired_q(at)


def active_sql(alias: str) -> str:
    """`active_q` as an SQL condition on the members table named `alias` (its one `?`
    parameter is the instant, as for `not_expired_sql`)."""
    return f"{alias}.\"status\" = '{MemberStatus.ACTIVE.value}' AND {not_expired_sql(alias)}"


def present_q(at: datetime | None = None) -> Q:
    """Members holding a seat now: ACTIVE or BLOCKED, not past their `expires_at`."""
    return Q(status__in=list(PRESENT)) & not_expired_q(at)


_EVERY_STATUS = frozenset(MemberStatus)


def _every_member() -> Q:
    """A condition every row meets: filtering by every status or every role needs no
    other (an empty Q would vanish inside an OR, so this one is explicit)."""
    return Q(id__isnull=False)


def status_q(statuses: Iterable[MemberStatus], at: datetime | None = None) -> Q:
    """Members whose status as it reads (`status_now`) is one of `statuses`."""
    wanted = set(statuses)
    if wanted >= _EVERY_STATUS:
        return _every_member()  # each member reads as one of them
    moment = _moment(at)
    clauses: list[Q] = []
    present = sorted(status for status in wanted if status != MemberStatus.REMOVED)
    if present:  # one IN for those that read as they are stored, unless ended
        clauses.append(Q(status__in=present) & not_expired_q(moment))
    if MemberStatus.REMOVED in wanted:
        clauses.append(Q(status=MemberStatus.REMOVED))
        clauses.append(
            Q(status__in=list(PRESENT), expires_at__lte=moment) & ~Q(role=OrganizationRole.OWNER)
        )
    if not clauses:
        return Q(id__in=[])
    return Q(*clauses, join_type=Q.OR)


def role_q(roles: Iterable[OrganizationRole], at: datetime | None = None) -> Q:
    """Members whose role as it reads (`role_now`) is one of `roles`."""
    wanted = [OrganizationRole(r).value for r in set(roles)]
    if not wanted:
        return Q(id__in=[])
    if len(wanted) == len(OrganizationRole):
        return _every_member()  # each member's role reads as one of them
    moment = _moment(at)
    unchanged = Q(role__in=wanted) & (
        Q(role_expires_at=None) | Q(role_reverts_to=None) | Q(role_expires_at__gt=moment)
    )
    reverted = Q(role_reverts_to__in=wanted, role_expires_at__lte=moment)
    return unchanged | reverted


def admin_like_q(at: datetime | None = None) -> Q:
    """Members who are OWNER or ADMIN now (role as it reads) and ACTIVE now."""
    return active_q(at) & role_q((OrganizationRole.OWNER, OrganizationRole.ADMIN), at)


# Project assignments ------------------------------------------------------------------


def live_at(expires_at: datetime | None, at: datetime | None = None) -> bool:
    """Something ending at `expires_at` (None: never) still counts at `at`."""
    return not _due(expires_at, _moment(at))


def assignment_live(assignment: ProjectAssignment, at: datetime | None = None) -> bool:
    """An assignment counts until its `expires_at`."""
    return live_at(assignment.expires_at, at)


def assignment_live_q(at: datetime | None = None) -> Q:
    return Q(expires_at=None) | Q(expires_at__gt=_moment(at))


# Grants ----------------------------------------------------------------------------------

# How far ahead an end date may be set.
MAX_AHEAD = timedelta(days=5 * 365)


def check_deadline(value: datetime, field: str) -> datetime:
    """An end date a grant may carry: in the future and at most MAX_AHEAD from now (an
    instant without a UTC offset is UTC), else INVALID_INPUT."""
    moment = now()
    instant = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if instant <= moment:
        raise DomainError(ErrorCode.INVALID_INPUT, "Give an instant in the future.", field)
    if instant > moment + MAX_AHEAD:
        raise DomainError(ErrorCode.INVALID_INPUT, "Give an instant within 5 years.", field)
    return instant.astimezone(UTC)
