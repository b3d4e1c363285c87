"""`Subscription.organizationEvents`: the events feed, live, over graphql-transport-ws.

The stream is app/services/event_stream.py's broker; the WebSocket protocol and its
sign-in are app/schema/websocket.py.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from typing import Annotated

import strawberry
from graphql import GraphQLError

from app.auth.roles import Permission
from app.models import AuditEvent
from app.resolvers import audit as resolve
from app.schema.audit.types import EVENT_TYPES, AuditEventType
from app.schema.context import Info
from app.schema.errors import FORBIDDEN, UNAUTHENTICATED, guard
from app.schema.extensions import SERVICE_UNAVAILABLE
from app.schema.permissions import OrgArgument
from app.services.event_stream import (
    QUEUE_LIMIT,
    AccessEnded,
    SessionEnded,
    SubscriberTooSlow,
    TooManySubscribers,
)

# The error that ends the subscription of a consumer that fell QUEUE_LIMIT events behind.
SUBSCRIBER_TOO_SLOW = "SUBSCRIBER_TOO_SLOW"


@strawberry.type(
    description="Live streams, over the graphql-transport-ws WebSocket protocol on /graphql "
    "(never over HTTP GET or POST). Sign in with `connection_init`'s payload "
    '`{"Authorization": "Bearer <token>"}` or the upgrade request\'s Authorization header; '
    "an invalid token closes the socket with 4403."
)
class Subscription:
    @strawberry.subscription(
        description="The organization's events as they are committed, by any server "
        "process: the same events, ids and order as `Organization.events` (resume from "
        "there after a disconnection). OWNER and ADMIN (and ADMIN API keys) only: FORBIDDEN "
        "for other roles, NOT_FOUND for anyone not in the organization. The stream ends with "
        "an error within 5 s of the subscriber's session ending (UNAUTHENTICATED) or their "
        f"role no longer allowing it (FORBIDDEN), and with {SUBSCRIBER_TOO_SLOW} when the "
        f"client lets {QUEUE_LIMIT} events pile up unread.",
        extensions=guard(OrgArgument(Permission.READ_PRIVATE, "Organization", "organization_id")),
    )
    async def organization_events(
        self,
        info: Info,
        organization_id: Annotated[
            strawberry.ID, strawberry.argument(description="The organization's id.")
        ],
        types: Annotated[
            list[str] | None,
            strawberry.argument(
                description=f"Only events of these types (actions): {EVENT_TYPES}."
            ),
        ] = None,
    ) -> AsyncGenerator[AuditEventType, None]:
        authz = info.context.require_authz("Organization", "organizationId")
        # NOT_FOUND and a bad `types` are refused here, as the subscription's `error`.
        stream = resolve.organization_event_stream(info.context, authz.organization_id, types=types)
        return _events(stream)


async def _events(stream: AsyncIterator[AuditEvent]) -> AsyncGenerator[AuditEventType, None]:
    try:
        async for event in stream:
            yield AuditEventType.from_model(event)
    except SessionEnded:
        raise GraphQLError(
            "Your session has ended; sign in again.", extensions={"code": UNAUTHENTICATED}
        ) from None
    except AccessEnded:
        raise GraphQLError(
            "Your role in this organization no longer allows reading its events.",
            extensions={"code": FORBIDDEN},
        ) from None
    except SubscriberTooSlow:
        raise GraphQLError(
            f"More than {QUEUE_LIMIT} events were waiting unread; subscribe again and catch "
            "up from Organization.events.",
            extensions={"code": SUBSCRIBER_TOO_SLOW},
        ) from None
    except TooManySubscribers:
        raise GraphQLError(
            "This server has too many open subscriptions; retry later.",
            extensions={"code": SERVICE_UNAVAILABLE},
        ) from None
