"""Permission classes: one per kind of check, all reading the role table.

`HasOrgPermission(perm, locate)` finds the organization a field is about
(from the parent object, or from an id in the mutation's input), loads the
viewer's access through the request's cache and checks the role table. When
the organization cannot be found, or the viewer is not in it, a mutation's
check lets the resolver answer NOT_FOUND, so that nobody learns whether an
organization they cannot see exists.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import strawberry
from strawberry.extensions.field_extension import FieldExtension
from strawberry.permission import BasePermission, PermissionExtension

from app.auth.roles import Permission, has_permission
from app.ids import pk_of
from app.schema.errors import FORBIDDEN, unauthenticated
from app.schema.loaders import organization_id_of

Locator = Callable[[Any, strawberry.Info, dict[str, Any]], Awaitable[int | None]]


async def org_of_source(source: Any, info: strawberry.Info, kwargs: dict[str, Any]) -> int | None:
    return source.organization_id


def org_of_input(type_name: str, field: str) -> Locator:
    """The organization of the node whose global id is `input.<field>`."""

    async def locate(source: Any, info: strawberry.Info, kwargs: dict[str, Any]) -> int | None:
        value = getattr(kwargs.get("input"), field, None)
        pk = pk_of(value, type_name)
        if pk is None:
            return None
        return await organization_id_of(info, type_name, pk)

    return locate


class IsAuthenticated(BasePermission):
    """Any signed-in user or API key."""

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        if info.context.viewer.is_anonymous:
            raise unauthenticated()
        return True


class IsUser(BasePermission):
    """A person signed in with a session; API keys are refused."""

    message = "This needs a signed-in user, not an API key."
    error_extensions = {"code": FORBIDDEN}

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        viewer = info.context.viewer
        if viewer.is_anonymous:
            raise unauthenticated()
        return viewer.user is not None


class HasOrgPermission(BasePermission):
    message = "Your role does not allow this."
    error_extensions = {"code": FORBIDDEN}

    def __init__(self, permission: Permission, locate: Locator = org_of_source):
        self.permission = permission
        self.locate = locate
        # Fields on a visible parent must find the viewer's access; mutations
        # whose target is unknown let the resolver answer NOT_FOUND.
        self.unknown_passes = locate is not org_of_source

    async def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        context = info.context
        if context.viewer.is_anonymous:
            raise unauthenticated()
        access = await context.access(await self.locate(source, info, kwargs))
        if access is None:
            return self.unknown_passes
        return has_permission(access.role, self.permission)


def guard(*permissions: BasePermission) -> list[FieldExtension]:
    """Field extensions for `strawberry.field(extensions=guard(...))`."""
    return [PermissionExtension(permissions=list(permissions), use_directives=False)]
