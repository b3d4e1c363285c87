"""Errors as GraphQL sees them: top-level codes, payload UserErrors, and `mutation()`.

Every mutation is declared with `mutation(description, *permissions)`: its
permission classes run first, then its body, which reads its input, calls a
resolver and wraps the result in its payload. A `DomainError` raised anywhere
below becomes the payload's `errors` in one place, `UserErrors`, with the
payload's object fields null.
"""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions.field_extension import AsyncExtensionResolver, FieldExtension
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.types.field import StrawberryField

from app.errors import DomainError

UNAUTHENTICATED = "UNAUTHENTICATED"
FORBIDDEN = "FORBIDDEN"
INTERNAL = "INTERNAL"
BAD_REQUEST = "BAD_REQUEST"

# The description of every mutation's one argument: `input: Annotated[XInput, INPUT]`.
INPUT = strawberry.argument(description="The mutation's fields; each is described on its type.")


@strawberry.type(
    description="A rule refused the change, inside a mutation payload; nothing was written "
    "and the payload's object fields are null."
)
class UserError:
    code: str = strawberry.field(
        description="A stable machine-readable code such as NOT_FOUND or SEAT_LIMIT_REACHED "
        "(the list is in docs/errors.md)."
    )
    message: str = strawberry.field(
        description="A sentence for people; may change between versions."
    )
    field: list[str] | None = strawberry.field(
        default=None,
        description='The path of the input field at fault (e.g. ["email"]); null when no '
        "single field is.",
    )

    @classmethod
    def from_domain(cls, error: DomainError) -> UserError:
        return cls(code=error.code.value, message=error.message, field=error.field)


def errors_field() -> Any:
    """`errors`, as every payload has it: empty unless the change was refused."""
    return strawberry.field(
        default_factory=list, description="Why the change was refused; empty on success."
    )


def ok_field() -> Any:
    """`ok`, for payloads of changes that return no object."""
    return strawberry.field(default=None, description="true on success; null when refused.")


def object_field(description: str) -> Any:
    """A payload's object: set on success, null when refused."""
    return strawberry.field(default=None, description=f"{description} Null when refused.")


@strawberry.type(description="The result of a change that returns no object.")
class OkPayload:
    errors: list[UserError] = errors_field()
    ok: bool | None = ok_field()


def unauthenticated() -> GraphQLError:
    return GraphQLError("Sign in first.", extensions={"code": UNAUTHENTICATED})


class UserErrors(FieldExtension):
    """A refusal (`DomainError`) becomes the payload's `errors`; a success makes the
    request's loaders forget what the change may have touched."""

    payload: Any = None

    def apply(self, field: StrawberryField) -> None:
        self.payload = field.type

    async def resolve_async(
        self, next_: AsyncExtensionResolver, source: Any, info: strawberry.Info, **kwargs: Any
    ) -> Any:
        try:
            result = await next_(source, info, **kwargs)
        except DomainError as error:
            return self.payload(errors=[UserError.from_domain(error)])
        info.context.after_write()
        return result


def mutation(description: str, *permissions: BasePermission) -> Any:
    """`@mutation(...)`: a Strawberry mutation whose permission classes run before it and
    whose refusals become payload errors."""
    extensions: list[FieldExtension] = [UserErrors()]
    if permissions:
        extensions.insert(
            0, PermissionExtension(permissions=list(permissions), use_directives=False)
        )
    return strawberry.mutation(description=description, extensions=extensions)


def guard(*permissions: BasePermission) -> list[FieldExtension]:
    """Field extensions for `strawberry.field(extensions=guard(...))`."""
    return [PermissionExtension(permissions=list(permissions), use_directives=False)]
