"""What SCIM manages: the one rule for changes Roster's own API may not make.

A member or team a SCIM connection provisioned (`managed_by` SCIM) changes role and team
membership only through SCIM (API.md, "SCIM 2.0 provisioning"). Every GraphQL path that
would change them calls `check_not_managed`; the SCIM service passes `via_scim=True`,
which is the one way past it. What stays open to ADMIN+ through GraphQL: blocking,
unblocking and removing a SCIM member (an emergency stop), their profile fields, and a
SCIM team's project roles (project roles are Roster's own, the identity provider knows
nothing of them).
"""

from __future__ import annotations

from app.errors import DomainError, ErrorCode
from app.models import Member, Team
from app.models.enums import ManagedBy


def is_managed(row: Member | Team) -> bool:
    return row.managed_by == ManagedBy.SCIM


def check_not_managed(
    row: Member | Team, field: str | list[str] | None, *, via_scim: bool = False
) -> None:
    """SCIM_MANAGED when `row` is SCIM's and the change does not come from SCIM."""
    if via_scim or not is_managed(row):
        return
    what = "member" if isinstance(row, Member) else "team"
    raise DomainError(
        ErrorCode.SCIM_MANAGED,
        f"This {what} is managed by the identity provider (SCIM): change it there.",
        field,
    )


def release(member: Member) -> None:
    """A member who joins again through Roster (accepting an invitation after being
    removed) is Roster's, whatever provisioned their earlier membership."""
    member.managed_by = ManagedBy.ROSTER
    member.scim_connection_id = None
    member.external_id = None
