"""Schema extensions: error masking and the marker of "execution started"."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import MaskErrors, SchemaExtension

from app.errors import DomainError
from app.schema.errors import INTERNAL

log = logging.getLogger("roster.graphql")


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


class ErrorMasking(MaskErrors):
    """Known errors pass with their codes; anything else becomes INTERNAL and is logged."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=lambda e: not _is_expected(e))

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        return [_with_code(error) for error in super()._process_errors(errors)]

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
