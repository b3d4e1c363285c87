"""Permission classes: one per kind of check, all reading the role table.

`HasOrgPermission(perm)` guards a field of an object that belongs to an
organization (`source.organization_id`). `OrgInput(perm, type, field)` guards a
mutation whose input names a node by global id: it finds that node's
organization and the viewer's access there once, hands both to the resolver on
`context.authz`, and checks the role table. When the node does not exist or the
viewer is not in its organization, `context.authz` stays None and the resolver
answers NOT_FOUND (`Context.require_authz`), so nobody learns whether something
they cannot see exists.
"""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission

from app.auth.roles import Permission, has_permission
from app.ids import pk_of
from app.resolvers.context import Authz
from app.resolvers.loaders import organization_id_of
from app.schema.context import Info
from app.schema.errors import FORBIDDEN, unauthenticated


def _require_signed_in(info: Info) -> None:
    if info.context.viewer.is_anonymous:
        raise unauthenticated()


class IsAuthenticated(BasePermission):
    """Any signed-in user or API key."""

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        _require_signed_in(info)
        return True


class IsUser(BasePermission):
    """A person signed in with a session; API keys are refused."""

    message = "This needs a signed-in user, not an API key."
    error_extensions = {"code": FORBIDDEN}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        _require_signed_in(info)
        return info.context.viewer.user is not None


class HasOrgPermission(BasePermission):
    """The viewer's role in the organization of `source` grants `permission`."""

    message = "Your role does not allow this."
    error_extensions = {"code": FORBIDDEN}

    def __init__(self, permission: Permission):
        self.permission = permission

    async def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        _require_signed_in(info)
        access = await info.context.access(source.organization_id)
        return access is not None and has_permission(access.role, self.permission)


class OrgInput(BasePermission):
    """The viewer's role in the organization of the node `input.<field>` names grants
    `permission`; the access found is handed to the resolver on `context.authz`."""

    message = "Your role does not allow this."
    error_extensions = {"code": FORBIDDEN}

    def __init__(self, permission: Permission, type_name: str, field: str):
        self.permission = permission
        self.type_name = type_name
        self.field = field

    def global_id(self, kwargs: dict[str, Any]) -> object:
        return getattr(kwargs.get("input"), self.field, None)

    async def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        _require_signed_in(info)
        context = info.context
        context.authz = None
        pk = pk_of(self.global_id(kwargs), self.type_name)
        organization_id = await organization_id_of(context, self.type_name, pk)
        access = await context.access(organization_id)
        if pk is None or organization_id is None or access is None:
            return True  # the resolver answers NOT_FOUND
        context.authz = Authz(organization_id, access, pk)
        return has_permission(access.role, self.permission)


class FirstOfInput(OrgInput):
    """As OrgInput, for the first id of the list `input.<field>`."""

    def global_id(self, kwargs: dict[str, Any]) -> object:
        ids = getattr(kwargs.get("input"), self.field, None) or []
        return ids[0] if ids else None


class OrgArgument(OrgInput):
    """As OrgInput, for an id given as the field's own argument `<field>` (a subscription's
    `organizationId`) rather than inside `input`."""

    def global_id(self, kwargs: dict[str, Any]) -> object:
        return kwargs.get(self.field)
