"""Schema extensions: error masking (with the codes of a database that cannot serve and
of unreadable literals) and the marker of "execution started"."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import MaskErrors, SchemaExtension

from app.db import is_unavailable
from app.errors import DomainError, ErrorCode
from app.schema.errors import INTERNAL

log = logging.getLogger("roster.graphql")

# The database cannot serve now (down, unreachable, or locked past its timeout): the
# request may be retried; the HTTP answer is 503 with Retry-After.
SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"


def _is_expected(error: GraphQLError) -> bool:
    """Errors meant for the client: syntax, validation, permission codes, bad variables,
    and domain errors raised while reading (a bad cursor, `first` over 100)."""
    original = error.original_error
    if original is None or isinstance(original, DomainError):
        return True
    if isinstance(original, GraphQLError):
        return _is_expected(original)
    return bool(error.extensions and error.extensions.get("code"))


def _with_code(error: GraphQLError) -> GraphQLError:
    """A DomainError raised by a query field becomes a top-level error with its code."""
    original = error.original_error
    if isinstance(original, DomainError):
        extensions: dict[str, object] = {"code": original.code.value}
        if original.field:
            extensions["field"] = original.field
        return GraphQLError(
            message=original.message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            original_error=None,
            extensions=extensions,
        )
    return error


def _unreadable_literal(error: GraphQLError) -> GraphQLError | None:
    """A literal that validation could not convert (graphql-core's ValueError, e.g. an
    integer of more than 4,300 digits) is the client's INVALID_INPUT, not INTERNAL; the
    message does not repeat the literal."""
    if error.path is not None or not isinstance(error.original_error, ValueError):
        return None
    digits = "integer string conversion" in str(error.original_error)
    return GraphQLError(
        message="An integer literal has too many digits: Int is a 32-bit integer."
        if digits
        else "A value in the document cannot be read.",
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        original_error=None,
        extensions={"code": ErrorCode.INVALID_INPUT.value},
    )


class ErrorMasking(MaskErrors):
    """Known errors pass with their codes; a database that cannot serve (down, or locked
    past the timeout) is SERVICE_UNAVAILABLE; anything else becomes INTERNAL and is logged."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=lambda e: not _is_expected(e))

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        processed: list[GraphQLError] = []
        for error in errors:
            original = error.original_error
            if original is not None and is_unavailable(original):
                processed.append(self.unavailable(error))
            elif (literal := _unreadable_literal(error)) is not None:
                processed.append(literal)
            else:
                processed.extend(_with_code(e) for e in super()._process_errors([error]))
        return processed

    def unavailable(self, error: GraphQLError) -> GraphQLError:
        context = self.execution_context.context
        request_id = getattr(context, "request_id", "-")
        log.warning(
            "database unavailable [request %s] at %s: %s",
            request_id,
            error.path,
            error.original_error,
        )
        return GraphQLError(
            message="The database is unavailable; retry later.",
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            original_error=None,
            extensions={"code": SERVICE_UNAVAILABLE, "requestId": request_id},
        )

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        context = self.execution_context.context
        request_id = getattr(context, "request_id", "-")
        log.error(
            "internal error [request %s] at %s",
            request_id,
            error.path,
            exc_info=error.original_error,
        )
        return GraphQLError(
            message="Internal error.",
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            original_error=None,
            extensions={"code": INTERNAL, "requestId": request_id},
        )


class ExecutionStarted(SchemaExtension):
    """Marks the context once parse and validation passed (GraphQL over HTTP status codes)."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context.context
        if context is not None:
            context.execution_started = True
        yield
