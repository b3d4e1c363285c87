"""The per-request context: who asks, their access, and the request's DataLoaders.

It is plain Python, so resolvers can be typed on it without knowing the
schema; the schema layer names it as `strawberry.Info[Context, None]`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from app import db
from app.auth.viewer import OrgAccess, Viewer
from app.clock import now
from app.errors import not_found
from app.models.enums import OrganizationRole
from app.services.audit import Actor
from app.services.expiry import active_sql, role_from

# The viewer's memberships with access now (app.services.expiry.active_sql).
ACCESS_SQL = (
    'SELECT m."id", m."organization_id", m."role", m."role_expires_at", m."role_reverts_to"'
    f' FROM "members" m WHERE m."user_id" = ? AND {active_sql("m")}'
)


@dataclass(frozen=True)
class Authz:
    """What the permission check of the running mutation found: the organization its
    input points into and the viewer's access there (Polar's AuthzContext)."""

    organization_id: int
    access: OrgAccess
    # The primary key of the node the input named.
    target_id: int


@dataclass
class Context:
    viewer: Viewer
    ip: str | None = None
    request_id: str = "-"
    operation_name: str | None = None
    execution_started: bool = False
    # name → DataLoader, created on first use by app.resolvers.loaders.
    loaders: dict[str, Any] = field(default_factory=dict)
    # Set by the permission class of the mutation that runs now (mutations run one at a
    # time); None when its input names nothing the viewer can see.
    authz: Authz | None = None
    _access: asyncio.Future[dict[int, OrgAccess]] | None = None

    async def accesses(self) -> dict[int, OrgAccess]:
        """Organization id → the viewer's access: memberships ACTIVE now (not past their
        expiry, with a temporary role read as reverted once due), or the API key's org.

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
        moment = now()
        # Every request asks this: SQL written once, rows read as tuples.
        _, rows = await db.connection().execute_query(
            db.placeholders(ACCESS_SQL), [self.viewer.user.id, moment]
        )
        accesses: dict[int, OrgAccess] = {}
        for member_id, org_id, role, until, reverts_to in rows:
            role = role_from(role, db.read_optional_datetime(until), reverts_to, moment)
            accesses[org_id] = OrgAccess(org_id, role, member_id)
        return accesses

    async def access(self, organization_id: int | None) -> OrgAccess | None:
        if organization_id is None:
            return None
        return (await self.accesses()).get(organization_id)

    @property
    def user_id(self) -> int | None:
        return self.viewer.user.id if self.viewer.user else None

    def is_self(self, user_id: int) -> bool:
        return self.user_id == user_id

    def actor(self, access: OrgAccess | None = None) -> Actor:
        return Actor(viewer=self.viewer, access=access, ip=self.ip)

    def require_authz(self, what: str, field: str) -> Authz:
        """The running mutation's organization and access, else NOT_FOUND for `what`: the
        one place a non-member learns nothing about whether the target exists."""
        if self.authz is None:
            raise not_found(what, field)
        return self.authz

    def authz_actor(self, what: str, field: str) -> tuple[int, Actor]:
        """The target's primary key and the viewer as actor in its organization."""
        authz = self.require_authz(what, field)
        return authz.target_id, self.actor(authz.access)

    def after_write(self) -> None:
        """Forget what a mutation may have changed, so its payload reads fresh data."""
        self._access = None
        self.loaders.clear()
