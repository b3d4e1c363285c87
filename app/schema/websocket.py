"""GraphQL over WebSocket: the graphql-transport-ws protocol on /graphql, with Strawberry's
aiohttp view, for subscriptions only (queries and mutations go over HTTP, app/web.py).

Sign-in: the token is `connection_init`'s payload `{"Authorization": "Bearer <token>"}`, or
else the upgrade request's Authorization header, resolved to a viewer exactly as on HTTP
(`app.auth.viewer.authenticate`); an invalid one closes the socket with 4403 (Strawberry's
ConnectionRejectionError). No token at all is an anonymous viewer, whom the permission
classes answer UNAUTHENTICATED. Each subscription runs with its own request Context, and
the schema's validation rules, depth and cost limits and permission classes apply as for
queries.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, cast

from aiohttp import web
from strawberry.aiohttp.views import GraphQLView
from strawberry.exceptions import ConnectionRejectionError
from strawberry.schema import BaseSchema
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UNSET, UnsetType

from app.auth.viewer import InvalidToken, Viewer, authenticate
from app.db import is_unavailable
from app.http import client_ip
from app.resolvers.context import Context
from app.schema import schema

log = logging.getLogger("roster.websocket")

# Operations one connection may run at once (Strawberry answers "Subscription limit
# reached" past it); the process-wide bound is app/services/event_stream.py's.
MAX_SUBSCRIPTIONS_PER_CONNECTION = 20
# Seconds between the server's WebSocket pings.
HEARTBEAT_SECONDS = 30.0
# Seconds a client has after the upgrade to send connection_init (then 4408).
CONNECTION_INIT_TIMEOUT = timedelta(seconds=10)


@dataclass
class Connection:
    """What one WebSocket connection knows: its upgrade request, connection_init's payload,
    and the viewer its token named."""

    request: web.Request
    socket: web.WebSocketResponse | None = None
    connection_params: dict[str, Any] = field(default_factory=dict)
    viewer: Viewer = field(default_factory=Viewer)


def _authorization(connection: Connection) -> str | None:
    params = connection.connection_params
    for key in ("Authorization", "authorization"):
        if key in params:
            value = params[key]
            return value if isinstance(value, str) else "-"  # not a string: invalid
    return connection.request.headers.get("Authorization")


class _SubscriptionsOnly:
    """The schema as the protocol handler sees it: subscriptions only, each with a fresh
    Context (its own loaders and access, not the connection's)."""

    def __init__(self, schema: BaseSchema) -> None:
        self.schema = schema

    async def stream(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        operation_extensions: dict[str, Any] | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
    ) -> Any:
        connection = cast(Connection, context_value)
        context = Context(
            viewer=connection.viewer,
            ip=client_ip(connection.request),
            request_id=uuid.uuid4().hex,
            operation_name=operation_name,
        )
        return await self.schema.stream(
            query,
            variable_values=variable_values,
            context_value=context,
            root_value=root_value,
            operation_name=operation_name,
            operation_extensions=operation_extensions,
            allowed_operation_types=(OperationType.SUBSCRIPTION,),
        )


class WebSocketView(GraphQLView):
    """graphql-transport-ws only; origins other than the server's own must be listed in
    CORS_ORIGINS (browsers do not apply CORS to WebSocket handshakes)."""

    def __init__(self, allowed_origins: Iterable[str] = ()) -> None:
        super().__init__(
            schema=cast(BaseSchema, _SubscriptionsOnly(schema)),
            graphql_ide=None,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=CONNECTION_INIT_TIMEOUT,
            max_subscriptions_per_connection=MAX_SUBSCRIPTIONS_PER_CONNECTION,
            allowed_origins=tuple(allowed_origins),
        )
        self._open: weakref.WeakSet[web.WebSocketResponse] = weakref.WeakSet()

    async def create_websocket_response(
        self, request: web.Request, subprotocol: str | None
    ) -> web.WebSocketResponse:
        response = web.WebSocketResponse(
            protocols=[subprotocol] if subprotocol else [],
            # Each event goes out once per subscriber: no per-message deflate for small
            # JSON messages.
            compress=False,
            # WebSocket pings: a peer gone silent (no pong) is closed and its
            # subscriptions end; proxies see traffic on idle connections.
            heartbeat=HEARTBEAT_SECONDS,
        )
        await response.prepare(request)
        self._open.add(response)
        return response

    async def close_all(self) -> None:
        """Close every open connection with 1001 (going away): the server is stopping, and
        it would otherwise wait for them. Clients reconnect to another process."""
        sockets = [s for s in self._open if not s.closed]
        await asyncio.gather(
            *(s.close(code=1001, message=b"Server shutting down") for s in sockets),
            return_exceptions=True,
        )

    def accepts(self, request: web.Request) -> bool:
        """A valid WebSocket upgrade (with or without a subprotocol this view speaks: 4406
        closes the other). Anything else, a malformed handshake included, is the HTTP
        handler's."""
        return request.method == "GET" and bool(self.is_websocket_request(request))

    async def get_context(  # type: ignore[override]
        self, request: web.Request, response: web.Response | web.WebSocketResponse
    ) -> Connection:
        socket = response if isinstance(response, web.WebSocketResponse) else None
        return Connection(request, socket)

    async def on_ws_connect(  # type: ignore[override]
        self, context: Connection
    ) -> UnsetType | Mapping[str, object] | None:
        try:
            context.viewer = await authenticate(_authorization(context))
        except InvalidToken:
            raise ConnectionRejectionError from None
        except Exception as error:
            if not is_unavailable(error) or context.socket is None:
                raise
            log.warning("database unavailable at connection_init: %s", error)
            # 1013: try again later (the rejection's 4403 that follows is then a no-op).
            await context.socket.close(code=1013, message=b"The database is unavailable")
            raise ConnectionRejectionError from None
        unset: UnsetType = UNSET
        return unset
