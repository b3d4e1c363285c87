"""The end of a membership, written: the one place that says what REMOVED takes away.

A removal (`members.remove`), leaving (`members.leave`), SCIM's DELETE (through
`members.end_membership`) and the expiry sweep (`expiry_sweep.expire_member_row`) all
end a membership here; each writes its own audit event and mail.
"""

from __future__ import annotations

from datetime import datetime

from app.models import Member, ProjectAssignment, TeamMember
from app.models.enums import MemberStatus
from app.services import ownership
from app.services.expiry import role_now


async def end_membership_rows(member: Member, removed_at: datetime | None) -> int:
    """REMOVED as of `removed_at`: project assignments go (their count is returned), the
    member leaves every team, pending ownership transfers involving them are cancelled,
    the role as it reads is kept and no end date or temporary role survives into a later
    rejoining. Call with the organization locked and `member` read under the lock."""
    dropped = await ProjectAssignment.filter(member_id=member.id).delete()
    await TeamMember.filter(member_id=member.id).delete()
    await ownership.cancel_involving(member)
    member.set_role(role_now(member))
    member.status = MemberStatus.REMOVED
    member.removed_at = removed_at
    member.blocked_at = None
    member.expires_at = None
    member.role_expires_at = None
    member.role_reverts_to = None
    await member.save(
        update_fields=[
            "role",
            "role_rank",
            "status",
            "removed_at",
            "blocked_at",
            "expires_at",
            "role_expires_at",
            "role_reverts_to",
        ]
    )
    return int(dropped)
