"""Errors as GraphQL sees them: top-level codes and payload UserErrors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import strawberry
from graphql import GraphQLError

from app.errors import BatchErrors, DomainError, ErrorCode

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
    """`errors`, as every payload has it."""
    return strawberry.field(description="Why the change was refused; empty on success.")


def ok_field() -> Any:
    """`ok`, for payloads of changes that return no object."""
    return strawberry.field(default=None, description="true on success; null when refused.")


def object_field(description: str) -> Any:
    """A payload's object: set on success, null when refused."""
    return strawberry.field(default=None, description=f"{description} Null when refused.")


def unauthenticated() -> GraphQLError:
    return GraphQLError("Sign in first.", extensions={"code": UNAUTHENTICATED})


def forbidden() -> GraphQLError:
    return GraphQLError("Your role does not allow this.", extensions={"code": FORBIDDEN})


P = TypeVar("P")


async def mutate(
    info: strawberry.Info, payload: type[P], change: Callable[[], Awaitable[dict[str, Any]]]
) -> P:
    """Run a change; its objects on success, or UserErrors with the objects null."""
    try:
        values = await change()
    except DomainError as error:
        return payload(errors=[UserError.from_domain(error)])  # type: ignore[call-arg]
    except BatchErrors as batch:
        return payload(errors=[UserError.from_domain(e) for e in batch.errors])  # type: ignore[call-arg]
    info.context.after_write()
    return payload(errors=[], **values)  # type: ignore[call-arg]


def not_found_error(field: str) -> UserError:
    return UserError(code=ErrorCode.NOT_FOUND.value, message="Not found.", field=[field])
