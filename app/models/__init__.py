"""Tortoise models, one module per domain; all are registered as the `models` app.

Typing, so that mypy sees what an instance holds:
- Tortoise's field descriptors type most columns (`member.role` is an OrganizationRole,
  `member.title` a `str | None`). Where they do not (BigIntField and SmallIntField read
  as Any, a nullable TextField as `str`, JSONField as Any), the attribute is annotated
  with the value's type: `id: int = fields.BigIntField(primary_key=True)`.
- A foreign key is annotated `fields.ForeignKeyRelation[Target]` (or
  `ForeignKeyNullableRelation`), and its key column, which Tortoise adds as
  `<name>_id`, is declared as `organization_id: int` (`int | None` when nullable).
- The reverse side (`related_name`) is declared as `fields.ReverseRelation[Source]`.
  Models of other modules are imported under TYPE_CHECKING only: these annotations are
  never evaluated at run time, and the model modules do not import one another.
"""

from app.models.accounts import EmailToken, Session, User
from app.models.audit import AuditEvent
from app.models.invitations import Invitation, InvitationProjectAssignment
from app.models.join_requests import JoinRequest
from app.models.members import Member
from app.models.organizations import ApiKey, Domain, Organization, OwnershipTransfer
from app.models.outbox import OutboxMail, RateLimitHit
from app.models.projects import Project, ProjectAssignment
from app.models.scim import ScimConnection
from app.models.teams import Team, TeamMember, TeamProjectRole
from app.models.webhooks import WebhookDelivery, WebhookEndpoint

__all__ = [
    "ApiKey",
    "AuditEvent",
    "Domain",
    "EmailToken",
    "Invitation",
    "InvitationProjectAssignment",
    "JoinRequest",
    "Member",
    "Organization",
    "OutboxMail",
    "OwnershipTransfer",
    "Project",
    "ProjectAssignment",
    "RateLimitHit",
    "ScimConnection",
    "Session",
    "Team",
    "TeamMember",
    "TeamProjectRole",
    "User",
    "WebhookDelivery",
    "WebhookEndpoint",
]
