from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from app.models.enums import InvitationStatus, OrganizationRole, ProjectRole

if TYPE_CHECKING:
    from app.models.members import Member
    from app.models.organizations import Organization
    from app.models.outbox import OutboxMail
    from app.models.projects import Project


class Invitation(Model):
    """An invitation by email.

    `status` is the stored state; a PENDING row past `expires_at` reads as
    EXPIRED everywhere (see services.invitations.effective_status).
    """

    id: int = fields.BigIntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "models.Organization", related_name="invitations", on_delete=fields.CASCADE
    )
    email = fields.CharField(max_length=254)
    username = fields.CharField(max_length=64, null=True)
    role = fields.CharEnumField(OrganizationRole, max_length=10)
    status = fields.CharEnumField(InvitationStatus, max_length=10, default="PENDING")
    message: str | None = fields.TextField(null=True)
    token_hash = fields.CharField(max_length=64, null=True, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    accepted_at = fields.DatetimeField(null=True)
    ended_at = fields.DatetimeField(null=True)
    invited_by: fields.ForeignKeyNullableRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="invitations_sent", null=True, on_delete=fields.SET_NULL
    )
    send_count = fields.IntField(default=0)
    # False for an invitation whose link was handed to the inviter instead of mailed
    # (`inviteMember(sendEmail: false)`); a resend mails it and turns this on.
    send_email = fields.BooleanField(default=True)
    # Becomes the member's `expires_at` on acceptance (temporary access).
    membership_expires_at = fields.DatetimeField(null=True)
    last_mail: fields.ForeignKeyNullableRelation[OutboxMail] = fields.ForeignKeyField(
        "models.OutboxMail", related_name="invitations", null=True, on_delete=fields.SET_NULL
    )

    # Key columns behind the relations, set by Tortoise (declared for type checkers).
    organization_id: int
    invited_by_id: int | None
    last_mail_id: int | None

    # Reverse relations, filled in by Tortoise (declared for type checkers).
    project_assignments: fields.ReverseRelation[InvitationProjectAssignment]

    class Meta:
        table = "invitations"
        indexes = (
            ("organization_id", "status", "expires_at", "id"),
            ("organization_id", "email", "id"),
            ("organization_id", "created_at", "id"),
            ("organization_id", "expires_at", "id"),
            ("email", "status"),
        )


class InvitationProjectAssignment(Model):
    id: int = fields.BigIntField(primary_key=True)
    invitation: fields.ForeignKeyRelation[Invitation] = fields.ForeignKeyField(
        "models.Invitation", related_name="project_assignments", on_delete=fields.CASCADE
    )
    project: fields.ForeignKeyRelation[Project] = fields.ForeignKeyField(
        "models.Project", related_name="invitation_assignments", on_delete=fields.CASCADE
    )
    role = fields.CharEnumField(ProjectRole, max_length=10)

    # Key columns behind the relations, set by Tortoise (declared for type checkers).
    invitation_id: int
    project_id: int

    class Meta:
        table = "invitation_project_assignments"
        unique_together = (("invitation_id", "project_id"),)
