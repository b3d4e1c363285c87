"""Tortoise models, one module per domain; all are registered as the `models` app."""

from app.models.accounts import EmailToken, Session, User
from app.models.audit import AuditEvent
from app.models.invitations import Invitation, InvitationProjectAssignment
from app.models.members import Member
from app.models.organizations import ApiKey, Domain, Organization, OwnershipTransfer
from app.models.outbox import OutboxMail, RateLimitHit
from app.models.projects import Project, ProjectAssignment

__all__ = [
    "ApiKey",
    "AuditEvent",
    "Domain",
    "EmailToken",
    "Invitation",
    "InvitationProjectAssignment",
    "Member",
    "Organization",
    "OutboxMail",
    "OwnershipTransfer",
    "Project",
    "ProjectAssignment",
    "RateLimitHit",
    "Session",
    "User",
]
