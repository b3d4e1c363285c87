"""Webhook endpoints and their deliveries: lists, nodes and the management changes.

Resolvers return models and raise DomainError; the schema wraps what they return.
"""

from __future__ import annotations

from app.errors import DomainError, ErrorCode
from app.models import AuditEvent, WebhookDelivery, WebhookEndpoint
from app.models.webhooks import WebhookDeliveryStatus
from app.resolvers.context import Context
from app.resolvers.loaders import load_one
from app.resolvers.paging import Order, Page, Window, paginate
from app.services import webhooks as service
from app.services.visibility import reads_private


async def organization_endpoints(ctx: Context, organization_id: int) -> list[WebhookEndpoint]:
    """Oldest first (at most service.MAX_ENDPOINTS)."""
    return list(await WebhookEndpoint.filter(organization_id=organization_id).order_by("id"))


async def endpoint_deliveries(
    ctx: Context,
    endpoint_id: int,
    *,
    window: Window,
    statuses: list[WebhookDeliveryStatus] | None,
) -> Page[WebhookDelivery]:
    """Newest first."""
    queryset = WebhookDelivery.filter(endpoint_id=endpoint_id)
    if statuses is not None:
        if len(statuses) > len(WebhookDeliveryStatus):
            raise DomainError(ErrorCode.INVALID_INPUT, "Too many statuses.", "statuses")
        queryset = queryset.filter(status__in=[s.value for s in statuses])
    return await paginate(queryset, Order((), descending=True), window)


async def endpoint_node(ctx: Context, pk: int) -> WebhookEndpoint | None:
    """The endpoint, if the viewer reads its organization's private data (OWNER, ADMIN)."""
    endpoint = await load_one(ctx, WebhookEndpoint, pk)
    if endpoint is None or not reads_private(await ctx.access(endpoint.organization_id)):
        return None
    return endpoint


async def delivery_node(ctx: Context, pk: int) -> WebhookDelivery | None:
    delivery = await load_one(ctx, WebhookDelivery, pk)
    if delivery is None or await endpoint_node(ctx, delivery.endpoint_id) is None:
        return None
    return delivery


async def delivery_endpoint(ctx: Context, delivery: WebhookDelivery) -> WebhookEndpoint:
    endpoint = await load_one(ctx, WebhookEndpoint, delivery.endpoint_id)
    assert endpoint is not None  # a delivery goes with its endpoint
    return endpoint


async def delivery_event(ctx: Context, delivery: WebhookDelivery) -> AuditEvent | None:
    return await load_one(ctx, AuditEvent, delivery.event_id)


# Changes: the permission class found the target's organization and the viewer's access.


async def create_endpoint(
    ctx: Context, url: str, description: str | None, event_types: list[str]
) -> tuple[WebhookEndpoint, str]:
    organization_id, actor = ctx.authz_actor("Organization", "organizationId")
    return await service.create_endpoint(actor, organization_id, url, description, event_types)


async def update_endpoint(
    ctx: Context,
    url: str | None,
    description: str | None,
    event_types: list[str] | None,
    enabled: bool | None,
) -> WebhookEndpoint:
    endpoint_id, actor = ctx.authz_actor("WebhookEndpoint", "endpointId")
    return await service.update_endpoint(
        actor, endpoint_id, url=url, description=description, types=event_types, enabled=enabled
    )


async def rotate_secret(ctx: Context) -> tuple[WebhookEndpoint, str]:
    endpoint_id, actor = ctx.authz_actor("WebhookEndpoint", "endpointId")
    return await service.rotate_secret(actor, endpoint_id)


async def delete_endpoint(ctx: Context) -> None:
    endpoint_id, actor = ctx.authz_actor("WebhookEndpoint", "endpointId")
    await service.delete_endpoint(actor, endpoint_id)


async def send_test(ctx: Context) -> WebhookDelivery:
    endpoint_id, actor = ctx.authz_actor("WebhookEndpoint", "endpointId")
    return await service.send_test(actor, endpoint_id)


async def redeliver(ctx: Context) -> WebhookDelivery:
    delivery_id, actor = ctx.authz_actor("WebhookDelivery", "deliveryId")
    return await service.redeliver(actor, delivery_id)
