"""The aiohttp application: GraphQL over HTTP, health, exports; start-up and shutdown."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from functools import lru_cache
from typing import Any

from aiohttp import web
from graphql import GraphQLError, OperationDefinitionNode, parse
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types.graphql import OperationType
from tortoise.functions import Count

from app import config, db, graphiql
from app.auth.viewer import authenticate
from app.config import Settings
from app.http import client_ip
from app.mail.worker import MailWorker
from app.models import OutboxMail
from app.observability import METRICS, watch_slow_queries
from app.resolvers.context import Context
from app.schema import schema

log = logging.getLogger("roster.http")
access_log = logging.getLogger("roster.access")

MAX_BODY = 1024 * 1024
GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
WORKER: web.AppKey[MailWorker] = web.AppKey("mail_worker", MailWorker)
SETTINGS: web.AppKey[Settings] = web.AppKey("settings", Settings)
REQUEST_ID: web.RequestKey[str] = web.RequestKey("request_id", str)
OPERATION: web.RequestKey[str | None] = web.RequestKey("operation_name", str)
OUTCOME: web.RequestKey[str] = web.RequestKey("outcome", str)


class RequestError(Exception):
    """A request that is not a well-formed GraphQL-over-HTTP request."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def _response_media_type(accept: str) -> str:
    """Pick the response media type from Accept (GraphQL over HTTP, "Accept")."""
    if not accept.strip():
        return GRAPHQL_RESPONSE
    best: tuple[float, str] | None = None
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        candidates = {
            GRAPHQL_RESPONSE: GRAPHQL_RESPONSE,
            JSON: JSON,
            "application/*": GRAPHQL_RESPONSE,
            "*/*": GRAPHQL_RESPONSE,
        }
        chosen = candidates.get(media.lower())
        if chosen and q > 0 and (best is None or q > best[0]):
            best = (q, chosen)
    if best is None:
        raise RequestError(406, f"Accept {GRAPHQL_RESPONSE} or {JSON}.")
    return best[1]


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _loads(text: str | bytes, message: str) -> Any:
    """JSON, or a 400: also for nesting too deep to decode and for unpaired surrogates
    (`"\\ud800"` decodes to a str that can be neither stored, hashed nor mailed)."""
    try:
        value = json.loads(text)
        raw = text.encode() if isinstance(text, str) else text
        if _SURROGATE_ESCAPE.search(raw):
            json.dumps(value, ensure_ascii=False).encode()
    except (ValueError, RecursionError) as exc:  # UnicodeError is a ValueError
        raise RequestError(400, message) from exc
    return value


async def _read_params(request: web.Request) -> dict[str, Any]:
    if request.method == "GET":
        params: dict[str, Any] = {
            "query": request.query.get("query"),
            "operationName": request.query.get("operationName"),
        }
        for key in ("variables", "extensions"):
            raw = request.query.get(key)
            if raw:
                params[key] = _loads(raw, f"`{key}` is not valid JSON.")
        return params
    media = request.content_type.lower()
    if media not in (JSON, GRAPHQL_RESPONSE):
        raise RequestError(415, "Send the request as application/json.")
    params = _loads(await request.read(), "The body is not valid JSON.")
    if not isinstance(params, dict):
        raise RequestError(400, "The body must be a JSON object.")
    return params


def _check_params(params: dict[str, Any]) -> tuple[str, dict[str, Any] | None, str | None]:
    query = params.get("query")
    if not isinstance(query, str) or not query.strip():
        raise RequestError(400, "`query` must be a non-empty string.")
    variables = params.get("variables")
    if variables is not None and not isinstance(variables, dict):
        raise RequestError(400, "`variables` must be an object.")
    operation_name = params.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        raise RequestError(400, "`operationName` must be a string.")
    extensions = params.get("extensions")
    if extensions is not None and not isinstance(extensions, dict):
        raise RequestError(400, "`extensions` must be an object.")
    return query, variables, operation_name


@lru_cache(maxsize=1024)
def _operation_count(query: str) -> int:
    """How many operations a document holds (0 when it does not parse: execution says why)."""
    try:
        document = parse(query)
    except GraphQLError:
        return 0
    return sum(isinstance(d, OperationDefinitionNode) for d in document.definitions)


def _wants_ide(request: web.Request) -> bool:
    return (
        request.method == "GET"
        and "query" not in request.query
        and "text/html" in request.headers.get("Accept", "")
    )


async def graphql(request: web.Request) -> web.StreamResponse:
    if _wants_ide(request):
        return web.Response(text=graphiql.page(), content_type="text/html")
    media = JSON
    try:
        media = _response_media_type(request.headers.get("Accept", ""))
        query, variables, operation_name = _check_params(await _read_params(request))
        if operation_name is None and _operation_count(query) > 1:
            raise RequestError(
                400, "The document has several operations: name one in operationName."
            )
    except RequestError as error:
        return _json(
            {"errors": [{"message": error.message, "extensions": {"code": "BAD_REQUEST"}}]},
            error.status,
            media,
            error.headers,
        )
    context = Context(
        viewer=await authenticate(request.headers.get("Authorization")),
        ip=client_ip(request),
        request_id=request[REQUEST_ID],
        operation_name=operation_name,
    )
    request[OPERATION] = operation_name
    allowed = (
        {OperationType.QUERY}
        if request.method == "GET"
        else {OperationType.QUERY, OperationType.MUTATION}
    )
    try:
        result = await schema.execute(
            query,
            variable_values=variables,
            context_value=context,
            operation_name=operation_name,
            allowed_operation_types=allowed,
        )
    except InvalidOperationTypeError:
        return _json(
            {"errors": [{"message": "Mutations are sent with POST."}]},
            405,
            media,
            {"Allow": "POST"},
        )
    errors = [e.formatted for e in result.errors or []]
    request_failed = result.data is None and all(e.get("path") is None for e in errors)
    request[OUTCOME] = "rejected" if request_failed else ("errors" if errors else "ok")
    if request_failed:
        # Parse, validation or variable errors: no `data` entry (GraphQL spec).
        status = 400 if media == GRAPHQL_RESPONSE else 200
        return _json({"errors": errors}, status, media)
    body: dict[str, Any] = {"data": result.data}
    if errors:
        body["errors"] = errors
    return _json(body, 200, media)


def _json(
    body: Any, status: int, media: str, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=json.dumps(body, separators=(",", ":"), default=str).encode(),
        status=status,
        headers={"Content-Type": f"{media}; charset=utf-8", **(headers or {})},
    )


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text format; behind METRICS_TOKEN when it is set."""
    token = request.app[SETTINGS].metrics_token
    if token is not None:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            return web.Response(status=401, text="metrics need the METRICS_TOKEN bearer token")
    gauges: dict[str, tuple[str, list[tuple[dict[str, str], float]]]] = {}
    try:
        rows = (
            await OutboxMail.all()
            .group_by("status")
            .annotate(n=Count("id"))
            .values_list("status", "n")
        )
        gauges["roster_outbox_mails"] = (
            "Mails in the outbox by delivery status (FAILED: delivery failures).",
            [({"status": str(status)}, n) for status, n in rows],
        )
    except Exception:  # the database may be down; metrics still answer
        log.warning("metrics: outbox query failed", exc_info=True)
    pool = getattr(db.connection(), "_pool", None)
    if pool is not None:
        gauges["roster_db_pool_connections"] = (
            "Database pool connections by state.",
            [({"state": "open"}, pool.get_size()), ({"state": "idle"}, pool.get_idle_size())],
        )
    return web.Response(
        text=METRICS.render(gauges),
        content_type="text/plain",
        charset="utf-8",
        headers={"Cache-Control": "no-store"},
    )


async def healthz(request: web.Request) -> web.Response:
    if await db.ping():
        return web.json_response({"status": "ok"})
    return web.json_response({"status": "database unavailable"}, status=503)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def request_context(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Request id, CORS, body limit errors, access log; nothing unexpected escapes."""
    request_id = request.headers.get("X-Request-Id", "")[:64] or uuid.uuid4().hex
    request[REQUEST_ID] = request_id
    started = time.perf_counter()
    origin = request.headers.get("Origin")
    settings = request.app[SETTINGS]
    cors_ok = origin is not None and origin.rstrip("/") in settings.cors_origins
    try:
        if request.method == "OPTIONS" and cors_ok:
            response: web.StreamResponse = web.Response(status=204)
        else:
            response = await handler(request)
    except web.HTTPException as exc:  # 413 from the body limit, 404, 405 …
        response = web.Response(status=exc.status, text=exc.text, headers=exc.headers)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        if isinstance(exc, ConnectionResetError) and (
            request.transport is None or request.transport.is_closing()
        ):
            raise  # the client hung up: nobody to answer
        # Anything else, a database connection reset by its server included.
        log.exception("unhandled error [request %s]", request_id)
        response = web.json_response(
            {"errors": [{"message": "Internal error.", "extensions": {"code": "INTERNAL"}}]},
            status=500,
        )
    response.headers["X-Request-Id"] = request_id
    if cors_ok and origin is not None:
        response.headers["Access-Control-Allow-Origin"] = origin.rstrip("/")
        response.headers["Vary"] = "Origin"
        response.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response.headers["Access-Control-Max-Age"] = "600"
    elapsed = time.perf_counter() - started
    operation = request.get(OPERATION) or "-"
    fields = {
        "request_id": request_id,
        "method": request.method,
        "path": request.path,
        "operation": operation,
        "status": response.status,
        "duration_ms": round(elapsed * 1000, 1),
    }
    access_log.info(
        "%s %s %s op=%s status=%s %.1fms",
        request_id,
        request.method,
        request.path,
        operation,
        response.status,
        elapsed * 1000,
        extra=fields,
    )
    if request.path == "/graphql" and request.method in ("GET", "POST"):
        outcome = request.get(OUTCOME) or ("ok" if response.status < 400 else "rejected")
        METRICS.request(operation, outcome, elapsed)
    if elapsed * 1000 >= settings.slow_request_ms:
        log.warning(
            "slow request %.1f ms: %s %s op=%s",
            elapsed * 1000,
            request.method,
            request.path,
            operation,
            extra=fields,
        )
    return response


async def _start(app: web.Application) -> None:
    settings = app[SETTINGS]
    config.set_current(settings)
    watch_slow_queries(settings.slow_query_ms)
    await db.init_db(settings.database_url, settings.db_pool_size)
    worker = MailWorker(settings)
    worker.start()
    app[WORKER] = worker
    log.info("ready: process %s accepts requests", os.getpid())


async def _stop(app: web.Application) -> None:
    worker = app.get(WORKER)
    if worker is not None:
        await worker.stop()
    await db.close_db()
    log.info("stopped: mail worker drained, database connections closed")


def create_app(settings: Settings | None = None) -> web.Application:
    settings = settings or Settings.from_env()
    app = web.Application(client_max_size=MAX_BODY, middlewares=[request_context])
    app[SETTINGS] = settings
    app.router.add_route("GET", "/graphql", graphql)
    app.router.add_route("POST", "/graphql", graphql)
    app.router.add_route("GET", "/healthz", healthz)
    app.router.add_route("GET", "/metrics", metrics)
    from app import exports, pages

    exports.add_routes(app)
    pages.add_routes(app)
    graphiql.add_routes(app)
    app.on_startup.append(_start)
    app.on_cleanup.append(_stop)
    return app
