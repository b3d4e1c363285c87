"""What every SCIM request shares: the bearer token, bounded JSON bodies, the
`application/scim+json` answers and RFC 7644 §3.12 error bodies."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from scim2_models import (
    Error,
    InvalidSyntaxException,
    InvalidValueException,
    NotFoundException,
    NotImplementedException,
    PayloadTooLargeException,
    SCIMException,
)

from app.auth.viewer import InvalidToken, bearer_token
from app.errors import DomainError, ErrorCode
from app.http import client_ip
from app.models import ScimConnection
from app.services import scim as connections
from app.services.audit import Actor

log = logging.getLogger("roster.scim")

PREFIX = "/scim/v2"
MEDIA_TYPE = "application/scim+json"
# Bodies above this answer 413: a group of a few thousand members fits.
MAX_BODY = 512 * 1024
ACCEPTED_TYPES = ("application/scim+json", "application/json", "")

Handler = Callable[[web.Request, ScimConnection, Actor], Awaitable[web.StreamResponse]]


def scim_response(payload: dict[str, Any], status: int = 200, **headers: str) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(payload, separators=(",", ":")).encode(),
        content_type=MEDIA_TYPE,
        charset="utf-8",
        headers=headers or None,
    )


def error_response(exc: SCIMException, **headers: str) -> web.Response:
    error: Error = exc.to_error()
    return scim_response(error.model_dump(), exc.status, **headers)


# Roster's rules, as SCIM errors: the detail starts with Roster's code.
_STATUS_OF: dict[ErrorCode, tuple[int, str | None]] = {
    ErrorCode.SEAT_LIMIT_REACHED: (403, None),
    ErrorCode.OWNER_PROTECTED: (403, None),
    ErrorCode.FORBIDDEN_ROLE: (403, None),
    ErrorCode.NOT_FOUND: (404, None),
    ErrorCode.MEMBER_REMOVED: (404, None),
}


def domain_error_response(exc: DomainError) -> web.Response:
    status, scim_type = _STATUS_OF.get(exc.code, (400, "invalidValue"))
    error = Error(status=status, scim_type=scim_type, detail=f"{exc.code.value}: {exc.message}")
    return scim_response(error.model_dump(), status)


def unauthorized(detail: str) -> web.Response:
    error = Error(status=401, detail=detail)
    return scim_response(
        error.model_dump(),
        401,
        **{"WWW-Authenticate": 'Bearer realm="SCIM", error="invalid_token"'},
    )


async def connection_of(request: web.Request) -> ScimConnection | None:
    try:
        token = bearer_token(request.headers.get("Authorization"))
    except InvalidToken:
        return None
    if token is None:
        return None
    return await connections.authenticate(token)


def scim_handler(handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Authenticate the connection, run `handler`, and turn refusals into SCIM errors."""

    async def run(request: web.Request) -> web.StreamResponse:
        connection = await connection_of(request)
        if connection is None:
            return unauthorized("A valid SCIM connection token is required.")
        actor = connections.actor_for(connection, client_ip(request))
        try:
            return await handler(request, connection, actor)
        except SCIMException as exc:
            return error_response(exc)
        except DomainError as exc:
            return domain_error_response(exc)

    run.__name__ = handler.__name__
    run.__doc__ = handler.__doc__
    return run


async def read_json(request: web.Request) -> dict[str, Any]:
    """The JSON object of the body: 413 past MAX_BODY, 400 invalidSyntax otherwise wrong."""
    # No Content-Type at all is taken as JSON; a different one is refused.
    media = request.content_type.lower() if "Content-Type" in request.headers else ""
    if media not in ACCEPTED_TYPES:
        raise InvalidSyntaxException(detail="Send application/scim+json or application/json.")
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise PayloadTooLargeException(detail=f"Bodies are at most {MAX_BODY} bytes.")
    body = bytearray()
    async for chunk in request.content.iter_chunked(64 * 1024):
        body.extend(chunk)
        if len(body) > MAX_BODY:
            raise PayloadTooLargeException(detail=f"Bodies are at most {MAX_BODY} bytes.")
    try:
        payload = json.loads(body or b"null")
    except (ValueError, RecursionError):
        raise InvalidSyntaxException(detail="The body is not valid JSON.") from None
    if not isinstance(payload, dict):
        raise InvalidSyntaxException(detail="The body must be a JSON object.")
    return payload


def refuse_sorting(request: web.Request) -> None:
    """ServiceProviderConfig says sort is not supported: sortBy answers 501."""
    if request.query.get("sortBy"):
        raise NotImplementedException(detail="Sorting is not supported.")


def query_int(request: web.Request, name: str, default: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise InvalidValueException(detail=f"{name} must be an integer.") from None


@scim_handler
async def not_implemented(
    request: web.Request, connection: ScimConnection, actor: Actor
) -> web.StreamResponse:
    """Bulk and cross-type search: not offered (ServiceProviderConfig says so)."""
    raise NotImplementedException(detail="Not supported by this service provider.")


@scim_handler
async def method_not_allowed(
    request: web.Request, connection: ScimConnection, actor: Actor
) -> web.StreamResponse:
    error = Error(status=405, detail=f"{request.method} is not allowed on {request.path}.")
    return scim_response(error.model_dump(), 405)


@scim_handler
async def not_found_route(
    request: web.Request, connection: ScimConnection, actor: Actor
) -> web.StreamResponse:
    raise NotFoundException(detail=f"No SCIM endpoint {request.path}.")
