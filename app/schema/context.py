"""The per-request context: who asks, their access, and the request's DataLoaders."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from app.auth.viewer import OrgAccess, Viewer
from app.models import Member
from app.models.enums import MemberStatus, OrganizationRole
from app.services.audit import Actor


@dataclass
class Context:
    request: web.Request | None
    viewer: Viewer
    ip: str | None = None
    request_id: str = "-"
    operation_name: str | None = None
    execution_started: bool = False
    # Loaders are created lazily per request by app.schema.loaders.
    loaders: dict[str, Any] = field(default_factory=dict)
    _access: asyncio.Future[dict[int, OrgAccess]] | None = None

    async def accesses(self) -> dict[int, OrgAccess]:
        """Organization id → the viewer's access: ACTIVE memberships, or the API key's org.

        Loaded once per request; concurrent resolvers share the one query.
        """
        if self._access is None:
            self._access = asyncio.ensure_future(self._load_accesses())
        return await asyncio.shield(self._access)

    async def _load_accesses(self) -> dict[int, OrgAccess]:
        if self.viewer.api_key is not None:
            key = self.viewer.api_key
            return {key.organization_id: OrgAccess(key.organization_id, OrganizationRole(key.role))}
        if self.viewer.user is None:
            return {}
        rows = await Member.filter(
            user_id=self.viewer.user.id, status=MemberStatus.ACTIVE
        ).values_list("id", "organization_id", "role")
        return {
            org_id: OrgAccess(org_id, OrganizationRole(role), member_id)
            for member_id, org_id, role in rows
        }

    async def access(self, organization_id: int | None) -> OrgAccess | None:
        if organization_id is None:
            return None
        return (await self.accesses()).get(organization_id)

    def actor(self, access: OrgAccess | None = None) -> Actor:
        return Actor(viewer=self.viewer, access=access, ip=self.ip)

    def after_write(self) -> None:
        """Forget what a mutation may have changed, so its payload reads fresh data."""
        self._access = None
        self.loaders.clear()
