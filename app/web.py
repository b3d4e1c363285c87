"""The aiohttp application: GraphQL over HTTP, health, exports; start-up and shutdown."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson
from aiohttp import web
from graphql import GraphQLError, OperationDefinitionNode, parse
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.graphql import OperationType
from tortoise.functions import Count

from app import config, db, exports, graphiql, pages, scim
from app.auth.viewer import InvalidToken, authenticate
from app.clock import now
from app.config import Settings
from app.http import client_ip
from app.mail.worker import MailWorker
from app.models import OutboxMail, WebhookDelivery
from app.observability import ANONYMOUS, METRICS, OTHER, short_name, watch_slow_queries
from app.resolvers.context import Context
from app.schema import MAX_TOKENS, schema
from app.schema.extensions import SERVICE_UNAVAILABLE
from app.schema.websocket import WebSocketView
from app.services import webhooks as webhook_services
from app.services.event_stream import BROKER
from app.services.expiry_sweep import ExpirySweeper
from app.webhooks.worker import WebhookWorker

log = logging.getLogger("roster.http")
access_log = logging.getLogger("roster.access")

MAX_BODY = 1024 * 1024
GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
WORKER: web.AppKey[MailWorker] = web.AppKey("mail_worker", MailWorker)
SWEEPER: web.AppKey[ExpirySweeper] = web.AppKey("expiry_sweeper", ExpirySweeper)
WEBHOOK_WORKER: web.AppKey[WebhookWorker] = web.AppKey("webhook_worker", WebhookWorker)
SETTINGS: web.AppKey[Settings] = web.AppKey("settings", Settings)
WEBSOCKET: web.AppKey[WebSocketView] = web.AppKey("websocket", WebSocketView)
REQUEST_ID: web.RequestKey[str] = web.RequestKey("request_id", str)
OPERATION: web.RequestKey[str | None] = web.RequestKey("operation_name", str)
OUTCOME: web.RequestKey[str] = web.RequestKey("outcome", str)
# Seconds a client should wait before retrying a request the database could not serve.
RETRY_AFTER = "5"
# Documents longer than this are parsed for their operations without being cached.
CACHED_DOCUMENT_LENGTH = 64 * 1024


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
        return JSON  # GraphQL over HTTP: no Accept is treated as application/json
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
            # A wildcard is a client that did not choose: the JSON every client reads.
            "application/*": JSON,
            "*/*": JSON,
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


@dataclass(frozen=True)
class Operation:
    """One operation of a document: its name (None when anonymous) and type."""

    name: str | None
    type: OperationType


def _parse_operations(query: str) -> tuple[Operation, ...] | None:
    try:
        document = parse(query, no_location=True, max_tokens=MAX_TOKENS)
    except GraphQLError:
        return None
    return tuple(
        Operation(d.name.value if d.name else None, OperationType(d.operation.value))
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
    )


_cached_operations = lru_cache(maxsize=1024)(_parse_operations)


def _operations(query: str) -> tuple[Operation, ...] | None:
    """The document's operations; None when it does not parse (execution says why)."""
    if len(query) > CACHED_DOCUMENT_LENGTH:
        return _parse_operations(query)
    return _cached_operations(query)


def _select(
    operations: tuple[Operation, ...] | None, operation_name: str | None
) -> tuple[Operation | None, RequestError | None]:
    """The operation the request runs (None when the document does not say), or why the
    request is refused before it runs."""
    if operations is None:
        return None, None
    if operation_name is not None:
        for operation in operations:
            if operation.name == operation_name:
                return operation, None
        name = json.dumps(short_name(operation_name))
        return None, RequestError(400, f"The document has no operation named {name}.")
    if len(operations) > 1:
        return None, RequestError(
            400, "The document has several operations: name one in operationName."
        )
    return (operations[0] if operations else None), None


def _label(operation: Operation | None, operation_name: str | None) -> str:
    """The operation's name for logs and metrics: taken from the document, so a client's
    `operationName` that names nothing there never becomes a label."""
    if operation is not None and (operation_name is None or operation.name == operation_name):
        return operation.name or ANONYMOUS
    return OTHER if operation_name is not None else ANONYMOUS


def _wants_ide(request: web.Request) -> bool:
    return (
        request.method == "GET"
        and "query" not in request.query
        and "text/html" in request.headers.get("Accept", "")
    )


def _request_error(error: RequestError, media: str) -> web.Response:
    return _json(
        {"errors": [{"message": error.message, "extensions": {"code": "BAD_REQUEST"}}]},
        error.status,
        media,
        error.headers,
    )


def _check_operation(operation: Operation | None, method: str) -> RequestError | None:
    if operation is None:
        return None
    if operation.type is OperationType.SUBSCRIPTION:
        return RequestError(
            400,
            "Subscriptions use the WebSocket protocol (graphql-transport-ws), not GET or POST; "
            "this endpoint answers queries and mutations.",
        )
    if operation.type is OperationType.MUTATION and method == "GET":
        return RequestError(405, "Mutations are sent with POST.", {"Allow": "POST"})
    return None


def invalid_token(message: str, media: str = JSON) -> web.Response:
    """HTTP 401 for an Authorization header that names no live session or key."""
    return _json(
        {"errors": [{"message": message, "extensions": {"code": "UNAUTHENTICATED"}}]},
        401,
        media,
        {"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


async def graphql(request: web.Request) -> web.StreamResponse:
    websocket = request.app[WEBSOCKET]
    if websocket.accepts(request):  # subscriptions: graphql-transport-ws
        return await websocket(request)
    if _wants_ide(request):
        return graphiql.response(request.host)
    media = JSON
    try:
        media = _response_media_type(request.headers.get("Accept", ""))
        query, variables, operation_name = _check_params(await _read_params(request))
        operation, refused = _select(_operations(query), operation_name)
        request[OPERATION] = _label(operation, operation_name)
        if refused is None:
            refused = _check_operation(operation, request.method)
        if refused is not None:
            raise refused
    except RequestError as error:
        return _request_error(error, media)
    try:
        viewer = await authenticate(request.headers.get("Authorization"))
    except InvalidToken as error:
        return invalid_token(str(error), media)
    context = Context(
        viewer=viewer,
        ip=client_ip(request),
        request_id=request[REQUEST_ID],
        operation_name=operation_name,
    )
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
    except CannotGetOperationTypeError as error:  # _select refuses these first
        return _request_error(RequestError(400, error.as_http_error_reason()), media)
    except InvalidOperationTypeError as error:  # _check_operation refuses these first
        checked = _check_operation(Operation(None, error.operation_type), request.method)
        return _request_error(checked or RequestError(400, "Not allowed."), media)
    errors = [e.formatted for e in result.errors or []]
    request_failed = result.data is None and all(e.get("path") is None for e in errors)
    request[OUTCOME] = "rejected" if request_failed else ("errors" if errors else "ok")
    if any(e.get("extensions", {}).get("code") == SERVICE_UNAVAILABLE for e in errors):
        request[OUTCOME] = "unavailable"
        body: dict[str, Any] = {"errors": errors}
        if not request_failed:
            body = {"data": result.data, **body}
        return _json(body, 503, media, {"Retry-After": RETRY_AFTER})
    if request_failed:
        # Parse, validation or variable errors: no `data` entry (GraphQL spec).
        status = 400 if media == GRAPHQL_RESPONSE else 200
        return _json({"errors": errors}, status, media)
    body = {"data": result.data}
    if errors:
        body["errors"] = errors
    return _json(body, 200, media)


# orjson writes datetimes and dataclasses itself; passed through, they get `default=str`
# as with the standard library's encoder (response data holds only serialized scalars).
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def encode_body(body: Any) -> bytes:
    """The response body as compact UTF-8 JSON (orjson). What orjson refuses (an integer
    past 64 bits, a lone surrogate, a non-string key) is written by the standard library
    as before, with non-ASCII escaped, so nothing a resolver returns becomes a 500."""
    try:
        return orjson.dumps(body, default=str, option=_ORJSON_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json.dumps(body, separators=(",", ":"), default=str).encode()


def _json(
    body: Any, status: int, media: str, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=encode_body(body),
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
    try:
        gauges.update(await _webhook_gauges())
    except Exception:
        log.warning("metrics: webhook query failed", exc_info=True)
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


async def _webhook_gauges() -> dict[str, tuple[str, list[tuple[dict[str, str], float]]]]:
    rows = (
        await WebhookDelivery.all()
        .group_by("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    counts = {"PENDING": 0, "SUCCEEDED": 0, "FAILED": 0} | {str(s): n for s, n in rows}
    due = await WebhookDelivery.filter(status="PENDING", next_attempt_at__lte=now()).count()
    return {
        "roster_webhook_deliveries": (
            "Webhook deliveries by status.",
            [({"status": status}, n) for status, n in sorted(counts.items())],
        ),
        "roster_webhook_queue_depth": (
            "Webhook deliveries due now and not yet attempted (PENDING, next attempt reached).",
            [({}, due)],
        ),
    }


async def healthz(request: web.Request) -> web.Response:
    if await db.ping():
        return web.json_response({"status": "ok"})
    return web.json_response(
        {"status": "database unavailable"}, status=503, headers={"Retry-After": RETRY_AFTER}
    )


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _preflight(request: web.Request) -> web.Response | None:
    """OPTIONS on a route: 204 with the methods it takes. CORS headers are added for
    allowed origins only, so a preflight from any other origin (or with no CORS_ORIGINS
    configured) is answered, and the browser refuses the cross-origin call itself."""
    if request.method != "OPTIONS":
        return None
    refusal = request.match_info.http_exception
    if not isinstance(refusal, web.HTTPMethodNotAllowed):
        return None  # an unknown path: 404 as usual
    methods = sorted({*refusal.allowed_methods, "OPTIONS"})
    return web.Response(status=204, headers={"Allow": ", ".join(methods)})


def unavailable(request_id: str) -> web.Response:
    """The database cannot serve now: 503 with Retry-After."""
    error = {
        "message": "The database is unavailable; retry later.",
        "extensions": {"code": SERVICE_UNAVAILABLE, "requestId": request_id},
    }
    return _json({"errors": [error]}, 503, JSON, {"Retry-After": RETRY_AFTER})


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
        response: web.StreamResponse | None = _preflight(request)
        if response is None:
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
        if request.writer is not None and request.writer.output_size > 0:
            # The answer has begun (a streamed export): breaking the connection is the
            # only way left to tell the client it is incomplete.
            raise
        if db.is_unavailable(exc):
            # Down, unreachable, or locked by another process past the timeout (the
            # session lookup, an export, a link page).
            log.warning("database unavailable [request %s]: %s", request_id, exc)
            response = unavailable(request_id)
        else:
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
    # A name from the document (never the client's operationName unchecked), cut short.
    operation = short_name(request.get(OPERATION) or ANONYMOUS)
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
    if request.path == "/graphql" and request.method in ("GET", "POST") and response.status != 101:
        if response.status == 503:
            outcome = "unavailable"
        else:
            outcome = request.get(OUTCOME) or ("ok" if response.status < 400 else "rejected")
        METRICS.request(operation, outcome, elapsed)
    if elapsed * 1000 >= settings.slow_request_ms and response.status != 101:  # not a WebSocket
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
    await db.init_db(settings.database_url, settings.db_pool_size, settings.db_timeout_ms)
    worker = MailWorker(settings)
    worker.start()
    app[WORKER] = worker
    sweeper = ExpirySweeper(settings.expiry_sweep_seconds)
    sweeper.start()
    app[SWEEPER] = sweeper
    if settings.webhook_worker:
        webhooks = WebhookWorker(settings, on_disabled=webhook_services.endpoint_disabled)
        webhooks.start()
        app[WEBHOOK_WORKER] = webhooks
    await BROKER.start(settings.database_url)


async def _close_websockets(app: web.Application) -> None:
    await app[WEBSOCKET].close_all()


async def _stop(app: web.Application) -> None:
    sweeper = app.get(SWEEPER)
    if sweeper is not None:
        await sweeper.stop()
    webhooks = app.get(WEBHOOK_WORKER)
    if webhooks is not None:
        await webhooks.stop()
    await BROKER.stop()
    worker = app.get(WORKER)
    if worker is not None:
        await worker.stop()
    await db.close_db()
    log.info("stopped: mail worker drained, database connections closed")


def create_app(settings: Settings | None = None) -> web.Application:
    settings = settings or Settings.from_env()
    app = web.Application(client_max_size=MAX_BODY, middlewares=[request_context])
    app[SETTINGS] = settings
    app[WEBSOCKET] = WebSocketView(settings.cors_origins)
    app.router.add_route("GET", "/graphql", graphql)
    app.router.add_route("POST", "/graphql", graphql)
    app.router.add_route("GET", "/healthz", healthz)
    app.router.add_route("GET", "/metrics", metrics)
    exports.add_routes(app)
    pages.add_routes(app)
    graphiql.add_routes(app)
    scim.add_routes(app)
    app.on_startup.append(_start)
    app.on_shutdown.append(_close_websockets)
    app.on_cleanup.append(_stop)
    return app
