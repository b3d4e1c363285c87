"""The audit trail: one small function writes every event, in the caller's transaction.

Actions are a stable dotted vocabulary, listed in the README: `member.role_changed`,
`invitation.created`, … `data` holds the values that matter (before/after).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.auth.viewer import OrgAccess, Viewer
from app.models import AuditEvent


@dataclass(frozen=True)
class Actor:
    """Who makes a change: the viewer, their access to the organization, their address."""

    viewer: Viewer
    access: OrgAccess | None = None
    ip: str | None = None

    @property
    def user_id(self) -> int | None:
        return self.viewer.user.id if self.viewer.user else None

    @property
    def api_key_id(self) -> int | None:
        return self.viewer.api_key.id if self.viewer.api_key else None

    @property
    def member_id(self) -> int | None:
        return self.access.member_id if self.access else None


SYSTEM = Actor(viewer=Viewer())


async def record(
    actor: Actor,
    action: str,
    *,
    organization_id: int | None,
    target_type: str,
    target_id: int | None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    return await AuditEvent.create(
        organization_id=organization_id,
        action=action,
        actor_user_id=actor.user_id,
        actor_api_key_id=actor.api_key_id,
        target_type=target_type,
        target_id=target_id,
        data=data or {},
        ip=actor.ip,
    )
