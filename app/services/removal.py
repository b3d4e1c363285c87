"""What ending a membership writes, whoever ends it (a removal, leaving, SCIM, the expiry
sweep): the one place for "a REMOVED member keeps no access".

The caller holds the organization lock, has read `member` under it, and writes the audit
event and any mail itself (they differ by cause).
"""

from __future__ import annotations

from datetime import datetime

from app.models import Member, ProjectAssignment, TeamMember
from app.models.enums import MemberStatus
from app.services import ownership
from app.services.expiry import role_now


async def write_removal(member: Member, at: datetime) -> int:
    """REMOVED as of `at`: project assignments go, they leave every team, transfers to or
    from them are cancelled, and no end date or temporary role survives into a later
    rejoining (the role kept is the one in force). Returns the assignments dropped."""
    role = role_now(member)
    dropped = await ProjectAssignment.filter(member_id=member.id).delete()
    await TeamMember.filter(member_id=member.id).delete()
    await ownership.cancel_involving(member)
    member.set_role(role)
    member.status = MemberStatus.REMOVED
    member.removed_at = at
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
    return dropped
