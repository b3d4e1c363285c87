"""The AuditEvent type, built from the AuditEvent model."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import Private

from app.ids import to_global_id
from app.models import AuditEvent
from app.resolvers import audit as resolve
from app.schema.accounts.types import UserType
from app.schema.context import Info
from app.schema.domains.types import ApiKeyType
from app.schema.node import Node, register_node
from app.schema.scalars import JSON

# The event types, for descriptions: the audit actions of app/services/events.py (its module
# docstring lists each with its data; the README's "Audit actions" too). A test checks that
# this list and that module name the same actions.
EVENT_TYPES = (
    "organization.created, organization.updated, organization.deleted; "
    "member.joined, member.auto_join_skipped, member.role_changed, member.updated, "
    "member.blocked, member.unblocked, member.removed, member.left, "
    "member.password_reset_sent; "
    "invitation.created, invitation.resent, invitation.extended, invitation.updated, "
    "invitation.revoked, invitation.deleted, invitation.accepted, invitation.declined; "
    "project.created, project.updated, project.deleted, project.assignment_set, "
    "project.assignment_changed, project.assignment_removed; "
    "ownership.transfer_requested, ownership.transfer_confirmed, "
    "ownership.transfer_cancelled; "
    "domain.added, domain.verified, domain.removed; "
    "api_key.created, api_key.revoked; "
    "team.created, team.updated, team.deleted, team.members_added, team.members_removed, "
    "team.project_roles_set; "
    "scim_connection.created, scim_connection.updated, scim_connection.revoked; "
    "member.expiry_set, member.expired, member.role_reverted, member.role_revert_refused, "
    "project.assignment_expiry_set, project.assignment_expired; "
    "domain.updated, join_request.created, join_request.approved, join_request.denied, "
    "join_request.withdrawn; "
    "webhook_endpoint.created, webhook_endpoint.updated, webhook_endpoint.secret_rotated, "
    "webhook_endpoint.deleted, webhook_endpoint.disabled"
)


@strawberry.type(
    name="AuditEvent",
    description="One recorded change, written in the same transaction as the change. Visible "
    "to the organization's OWNER and ADMINs.",
)
class AuditEventType(Node):
    id: strawberry.ID = strawberry.field(description="Opaque global id.")
    action: str = strawberry.field(
        description='What happened, as `<object>.<verb>`, e.g. "member.removed".'
    )
    target_type: str = strawberry.field(
        description='The type of the object it happened to, e.g. "Member".'
    )
    data: JSON = strawberry.field(description="Details of the change, depending on the action.")
    ip: str | None = strawberry.field(
        description="The client address of the request; null when unknown."
    )
    created_at: datetime = strawberry.field(description="When it happened.")
    model: Private[AuditEvent]

    @property
    def organization_id(self) -> int | None:
        return self.model.organization_id

    @classmethod
    def from_model(cls, event: AuditEvent) -> AuditEventType:
        return cls(
            id=strawberry.ID(to_global_id("AuditEvent", event.pk)),
            action=event.action,
            target_type=event.target_type,
            data=JSON(event.data),
            ip=event.ip,
            created_at=event.created_at,
            model=event,
        )

    @strawberry.field(
        description="The global id of the object it happened to; null when there is none."
    )
    def target_id(self) -> strawberry.ID | None:
        if self.model.target_id is None:
            return None
        return strawberry.ID(to_global_id(self.target_type, self.model.target_id))

    @strawberry.field(
        description="The user who made the change; null for an API key, the system, or a user "
        "no longer visible."
    )
    async def actor(self, info: Info) -> UserType | None:
        user = await resolve.event_actor(info.context, self.model)
        return None if user is None else UserType.from_model(user)

    @strawberry.field(description="The API key that made the change; null otherwise.")
    async def actor_api_key(self, info: Info) -> ApiKeyType | None:
        key = await resolve.event_api_key(info.context, self.model)
        return None if key is None else ApiKeyType.from_model(key)


register_node("AuditEvent", resolve.event_node, AuditEventType.from_model)
