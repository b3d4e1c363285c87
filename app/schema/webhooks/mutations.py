"""Webhook endpoint changes: create, update, rotate the secret, delete, send a test
message, redeliver. OWNER and ADMIN, and ADMIN API keys."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.auth.roles import Permission
from app.resolvers import webhooks as resolve
from app.schema.context import Info
from app.schema.errors import INPUT, UserError, errors_field, mutation, object_field, ok_field
from app.schema.permissions import OrgInput
from app.schema.webhooks.types import WebhookDeliveryType, WebhookEndpointType

URL_RULES = (
    "https:// only, and a host that resolves to public addresses only: no loopback, private, "
    "link-local, multicast or unspecified address (INVALID_INPUT; checked again at every "
    "attempt). WEBHOOK_ALLOW_INSECURE=1 lifts both rules."
)


@strawberry.input(description="A new webhook endpoint.")
class CreateWebhookEndpointInput:
    organization_id: strawberry.ID = strawberry.field(description="The organization.")
    url: str = strawberry.field(description=f"Where deliveries are POSTed: {URL_RULES}")
    description: str | None = strawberry.field(
        default=None, description="What it is for, at most 2000 characters."
    )
    event_types: list[str] = strawberry.field(
        default_factory=list,
        description="The event types (audit actions) to send; empty: every type.",
    )


@strawberry.input(description="Changes to a webhook endpoint; omitted fields stay as they are.")
class UpdateWebhookEndpointInput:
    endpoint_id: strawberry.ID = strawberry.field(description="The endpoint.")
    url: str | None = strawberry.field(default=None, description=f"A new URL: {URL_RULES}")
    description: str | None = strawberry.field(
        default=None, description="A new description; an empty string clears it."
    )
    event_types: list[str] | None = strawberry.field(
        default=None, description="The event types to send; empty: every type."
    )
    enabled: bool | None = strawberry.field(
        default=None,
        description="false stops deliveries (they wait, queued); true sends them again and "
        "clears `disabledReason`.",
    )


@strawberry.input(description="The webhook endpoint.")
class WebhookEndpointIdInput:
    endpoint_id: strawberry.ID = strawberry.field(description="The endpoint.")


@strawberry.input(description="The delivery to queue again.")
class RedeliverWebhookInput:
    delivery_id: strawberry.ID = strawberry.field(description="A FAILED or SUCCEEDED delivery.")


@strawberry.type(description="The result of `createWebhookEndpoint` or `rotateWebhookSecret`.")
class WebhookEndpointSecretPayload:
    errors: list[UserError] = errors_field()
    endpoint: WebhookEndpointType | None = object_field("The endpoint.")
    secret: str | None = strawberry.field(
        default=None,
        description="The signing secret (`whsec_…`), for standardwebhooks.Webhook(secret)."
        "verify; shown only in this answer, store it now. Null when refused.",
    )


@strawberry.type(description="The result of `updateWebhookEndpoint`.")
class WebhookEndpointPayload:
    errors: list[UserError] = errors_field()
    endpoint: WebhookEndpointType | None = object_field("The endpoint as it is now.")


@strawberry.type(description="The result of `deleteWebhookEndpoint`.")
class DeleteWebhookEndpointPayload:
    errors: list[UserError] = errors_field()
    ok: bool | None = ok_field()


@strawberry.type(description="The result of `sendTestWebhook` or `redeliverWebhook`.")
class WebhookDeliveryPayload:
    errors: list[UserError] = errors_field()
    delivery: WebhookDeliveryType | None = object_field("The delivery, queued.")


def _manage(type_name: str, field: str) -> OrgInput:
    return OrgInput(Permission.MANAGE_ORGANIZATION, type_name, field)


@strawberry.type
class Mutation:
    @mutation(
        "Add a webhook endpoint; its signing secret is returned once. OWNER and ADMIN, and "
        "ADMIN API keys (FORBIDDEN otherwise); at most 20 per organization. Codes: "
        "NOT_FOUND, INVALID_INPUT (url, eventTypes, the limit).",
        _manage("Organization", "organization_id"),
    )
    async def create_webhook_endpoint(
        self, info: Info, input: Annotated[CreateWebhookEndpointInput, INPUT]
    ) -> WebhookEndpointSecretPayload:
        endpoint, secret = await resolve.create_endpoint(
            info.context, input.url, input.description, input.event_types
        )
        return WebhookEndpointSecretPayload(
            endpoint=WebhookEndpointType.from_model(endpoint), secret=secret
        )

    @mutation(
        "Change a webhook endpoint's URL, description, event types or enabled state. OWNER "
        "and ADMIN (FORBIDDEN otherwise). Codes: NOT_FOUND, INVALID_INPUT.",
        _manage("WebhookEndpoint", "endpoint_id"),
    )
    async def update_webhook_endpoint(
        self, info: Info, input: Annotated[UpdateWebhookEndpointInput, INPUT]
    ) -> WebhookEndpointPayload:
        endpoint = await resolve.update_endpoint(
            info.context, input.url, input.description, input.event_types, input.enabled
        )
        return WebhookEndpointPayload(endpoint=WebhookEndpointType.from_model(endpoint))

    @mutation(
        "Give the endpoint a new signing secret, returned once. For 24 hours deliveries carry "
        "two signatures, with the new and the old secret, so receivers can switch over. "
        "OWNER and ADMIN (FORBIDDEN otherwise). Codes: NOT_FOUND.",
        _manage("WebhookEndpoint", "endpoint_id"),
    )
    async def rotate_webhook_secret(
        self, info: Info, input: Annotated[WebhookEndpointIdInput, INPUT]
    ) -> WebhookEndpointSecretPayload:
        endpoint, secret = await resolve.rotate_secret(info.context)
        return WebhookEndpointSecretPayload(
            endpoint=WebhookEndpointType.from_model(endpoint), secret=secret
        )

    @mutation(
        "Delete a webhook endpoint and its deliveries, queued ones included. OWNER and ADMIN "
        "(FORBIDDEN otherwise). Codes: NOT_FOUND.",
        _manage("WebhookEndpoint", "endpoint_id"),
    )
    async def delete_webhook_endpoint(
        self, info: Info, input: Annotated[WebhookEndpointIdInput, INPUT]
    ) -> DeleteWebhookEndpointPayload:
        await resolve.delete_endpoint(info.context)
        return DeleteWebhookEndpointPayload(ok=True)

    @mutation(
        'Queue a test message (type "webhook.test", no event) to an enabled endpoint. OWNER '
        "and ADMIN (FORBIDDEN otherwise). Codes: NOT_FOUND, INVALID_INPUT (disabled).",
        _manage("WebhookEndpoint", "endpoint_id"),
    )
    async def send_test_webhook(
        self, info: Info, input: Annotated[WebhookEndpointIdInput, INPUT]
    ) -> WebhookDeliveryPayload:
        delivery = await resolve.send_test(info.context)
        return WebhookDeliveryPayload(delivery=WebhookDeliveryType.from_model(delivery))

    @mutation(
        "Queue a FAILED or SUCCEEDED delivery again: the same body and messageId, a fresh "
        "retry schedule. OWNER and ADMIN (FORBIDDEN otherwise). Codes: NOT_FOUND, "
        "INVALID_INPUT (still PENDING).",
        _manage("WebhookDelivery", "delivery_id"),
    )
    async def redeliver_webhook(
        self, info: Info, input: Annotated[RedeliverWebhookInput, INPUT]
    ) -> WebhookDeliveryPayload:
        delivery = await resolve.redeliver(info.context)
        return WebhookDeliveryPayload(delivery=WebhookDeliveryType.from_model(delivery))
