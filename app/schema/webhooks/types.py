"""The WebhookEndpoint and WebhookDelivery types and the WebhookDeliveryStatus enum; both
types are nodes that OWNER and ADMIN of their organization may fetch."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry import Private

from app.ids import to_global_id
from app.models import WebhookDelivery, WebhookEndpoint
from app.models.webhooks import WebhookDeliveryStatus as DeliveryStatusModel
from app.resolvers import webhooks as resolve
from app.resolvers.paging import Window
from app.schema.audit.types import AuditEventType
from app.schema.context import Info
from app.schema.enums import _described
from app.schema.node import Node, register_node
from app.schema.pagination import After, Before, Connection, First, Last, connection

WebhookDeliveryStatus = _described(
    DeliveryStatusModel,
    "Where a webhook delivery stands.",
    {
        "PENDING": "Queued: the next attempt is due at `nextAttemptAt`.",
        "SUCCEEDED": "The receiver answered 2xx.",
        "FAILED": "The retry schedule is spent, or the receiver answered 410 Gone.",
    },
)


@strawberry.type(
    name="WebhookEndpoint",
    description="A URL that receives the organization's events as signed POSTs (Standard "
    "Webhooks 1.0). Its secret is shown only by `createWebhookEndpoint` and "
    "`rotateWebhookSecret`. Visible to the organization's OWNER and ADMINs.",
)
class WebhookEndpointType(Node):
    id: strawberry.ID = strawberry.field(description="Opaque global id.")
    url: str = strawberry.field(description="Where deliveries are POSTed (https://).")
    description: str | None = strawberry.field(description="What it is for; null when unset.")
    event_types: list[str] = strawberry.field(
        description="The event types (audit actions) sent here; empty: every type."
    )
    enabled: bool = strawberry.field(
        description="Whether deliveries go out; while false they wait, queued."
    )
    disabled_reason: str | None = strawberry.field(
        description="Why it was disabled (a 410 answer, 20 failed deliveries in a row, an "
        "administrator); null while enabled."
    )
    created_at: datetime = strawberry.field(description="When it was created.")
    model: Private[WebhookEndpoint]

    @classmethod
    def from_model(cls, endpoint: WebhookEndpoint) -> WebhookEndpointType:
        return cls(
            id=strawberry.ID(to_global_id("WebhookEndpoint", endpoint.pk)),
            url=endpoint.url,
            description=endpoint.description,
            event_types=list(endpoint.event_types or []),
            enabled=endpoint.enabled,
            disabled_reason=endpoint.disabled_reason,
            created_at=endpoint.created_at,
            model=endpoint,
        )

    @strawberry.field(description="Its deliveries, newest first.")
    async def deliveries(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        statuses: Annotated[
            list[WebhookDeliveryStatus] | None,  # type: ignore[valid-type]
            strawberry.argument(description="Only deliveries with these statuses."),
        ] = None,
    ) -> Connection[WebhookDeliveryType]:
        page = await resolve.endpoint_deliveries(
            info.context,
            self.model.id,
            window=Window(first, after, last, before),
            statuses=statuses,
        )
        return connection(page, WebhookDeliveryType.from_model)


@strawberry.type(
    name="WebhookDelivery",
    description="One message to one endpoint: an event (or a test message), its attempts "
    "and their outcome. Visible to the organization's OWNER and ADMINs.",
)
class WebhookDeliveryType(Node):
    id: strawberry.ID = strawberry.field(description="Opaque global id.")
    event_type: str = strawberry.field(
        description='The event type, e.g. "member.removed"; "webhook.test" for a test message.'
    )
    message_id: str = strawberry.field(
        description="The `webhook-id` header: the same on every attempt and redelivery."
    )
    status: WebhookDeliveryStatus = strawberry.field(  # type: ignore[valid-type]
        description="Where it stands."
    )
    attempts: int = strawberry.field(description="Attempts made so far.")
    response_status: int | None = strawberry.field(
        description="The HTTP status of the last attempt; null when none answered."
    )
    last_attempt_at: datetime | None = strawberry.field(
        description="When the last attempt began; null before the first."
    )
    next_attempt_at: datetime | None = strawberry.field(
        description="When the next attempt is due; null once SUCCEEDED or FAILED."
    )
    created_at: datetime = strawberry.field(description="When it was queued.")
    model: Private[WebhookDelivery]

    @classmethod
    def from_model(cls, delivery: WebhookDelivery) -> WebhookDeliveryType:
        return cls(
            id=strawberry.ID(to_global_id("WebhookDelivery", delivery.pk)),
            event_type=delivery.event_type,
            message_id=delivery.message_id,
            status=DeliveryStatusModel(delivery.status),
            attempts=delivery.attempts,
            response_status=delivery.response_status,
            last_attempt_at=delivery.last_attempt_at,
            next_attempt_at=delivery.next_attempt_at
            if delivery.status == DeliveryStatusModel.PENDING
            else None,
            created_at=delivery.created_at,
            model=delivery,
        )

    @strawberry.field(description="The endpoint it goes to.")
    async def endpoint(self, info: Info) -> WebhookEndpointType:
        return WebhookEndpointType.from_model(
            await resolve.delivery_endpoint(info.context, self.model)
        )

    @strawberry.field(description="The event it carries; null for a test message.")
    async def event(self, info: Info) -> AuditEventType | None:
        event = await resolve.delivery_event(info.context, self.model)
        return None if event is None else AuditEventType.from_model(event)


register_node("WebhookEndpoint", resolve.endpoint_node, WebhookEndpointType.from_model)
register_node("WebhookDelivery", resolve.delivery_node, WebhookDeliveryType.from_model)
