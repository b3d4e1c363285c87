"""The audit trail: who acts (`Actor`) and the one function that writes an event, in the
caller's transaction.

Services do not call `record` themselves: each action has its function in
app/services/events.py, the vocabulary of actions and their data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.auth.viewer import OrgAccess, Viewer
from app.models import AuditEvent, User


@dataclass(frozen=True)
class Actor:
    """Who makes a change: the viewer, their access to the organization, their address."""

    viewer: Viewer
    access: OrgAccess | None = None
    ip: str | None = None

    @classmethod
    def for_user(cls, user: User | None, ip: str | None) -> Actor:
        """A person acting for themself, with no role in an organization (signing up,
        following a mailed link); None for someone not signed in."""
        return cls(viewer=Viewer(user=user), ip=ip)

    @property
    def user_id(self) -> int | None:
        return self.viewer.user.id if self.viewer.user else None

    @property
    def api_key_id(self) -> int | None:
        return self.viewer.api_key.id if self.viewer.api_key else None

    @property
    def member_id(self) -> int | None:
        return self.access.member_id if self.access else None


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
