from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

from app.models.enums import ManagedBy, MemberStatus, OrganizationRole

if TYPE_CHECKING:
    from app.models.accounts import User
    from app.models.invitations import Invitation
    from app.models.organizations import Organization, OwnershipTransfer
    from app.models.projects import Project, ProjectAssignment
    from app.models.scim import ScimConnection
    from app.models.teams import TeamMember


class Member(Model):
    """A user's membership of one organization.

    `name` and `email` are copied from the user when they join so that the
    members list filters, sorts and pages on indexed columns of one table.
    `role_rank` mirrors `role` (0 = OWNER) for ordering by role; set both
    through `set_role`.
    """

    id: int = fields.BigIntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "models.Organization", related_name="members", on_delete=fields.CASCADE
    )
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="memberships", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=200)
    email = fields.CharField(max_length=254)
    username = fields.CharField(max_length=64, null=True)
    title = fields.CharField(max_length=200, null=True)
    role = fields.CharEnumField(OrganizationRole, max_length=10)
    role_rank: int = fields.SmallIntField()
    status = fields.CharEnumField(MemberStatus, max_length=10, default="ACTIVE")
    joined_at = fields.DatetimeField(auto_now_add=True)
    blocked_at = fields.DatetimeField(null=True)
    removed_at = fields.DatetimeField(null=True)
    invited_by: fields.ForeignKeyNullableRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="invitees", null=True, on_delete=fields.SET_NULL
    )
    # SCIM: a member a SCIM connection provisioned changes role and teams only through it.
    managed_by = fields.CharEnumField(ManagedBy, max_length=10, default="ROSTER")
    scim_connection: fields.ForeignKeyNullableRelation[ScimConnection] = fields.ForeignKeyField(
        "models.ScimConnection", related_name="members", null=True, on_delete=fields.SET_NULL
    )
    external_id = fields.CharField(max_length=255, null=True)
    # What the identity provider calls the member (SCIM `userName`, compared
    # case-insensitively; null: their email) and the SCIM attributes Roster keeps for it
    # alone (name parts, displayName, emails), as the provider last sent them.
    scim_user_name = fields.CharField(max_length=254, null=True)
    scim_profile: dict[str, Any] | None = fields.JSONField(null=True)
    # Temporary access: at `expires_at` the member is removed; at `role_expires_at` the
    # role reverts to `role_reverts_to`. Access checks compare these with the clock.
    expires_at = fields.DatetimeField(null=True)
    role_expires_at = fields.DatetimeField(null=True)
    role_reverts_to: OrganizationRole | None = fields.CharEnumField(  # type: ignore[assignment]
        OrganizationRole, max_length=10, null=True
    )

    # Key columns behind the relations, set by Tortoise (declared for type checkers).
    organization_id: int
    user_id: int
    invited_by_id: int | None
    scim_connection_id: int | None

    # Reverse relations, filled in by Tortoise (declared for type checkers).
    invitees: fields.ReverseRelation[Member]
    invitations_sent: fields.ReverseRelation[Invitation]
    project_assignments: fields.ReverseRelation[ProjectAssignment]
    projects_created: fields.ReverseRelation[Project]
    transfers_from: fields.ReverseRelation[OwnershipTransfer]
    transfers_to: fields.ReverseRelation[OwnershipTransfer]
    team_memberships: fields.ReverseRelation[TeamMember]

    class Meta:
        table = "members"
        unique_together = (("organization_id", "user_id"),)
        indexes = (
            ("organization_id", "status", "name", "id"),
            ("organization_id", "name", "id"),
            ("organization_id", "email", "id"),
            ("organization_id", "joined_at", "id"),
            ("organization_id", "role_rank", "id"),
            ("organization_id", "username"),
            ("user_id", "status"),
            ("organization_id", "external_id"),
            ("organization_id", "scim_user_name"),
            ("expires_at",),
            ("role_expires_at",),
        )

    def set_role(self, role: OrganizationRole) -> None:
        self.role = role
        self.role_rank = OrganizationRole(role).rank
