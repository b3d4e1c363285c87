"""Teams: named groups of members whose project roles their members inherit.

A team is `managed_by` SCIM when a SCIM connection created it (a SCIM Group); its
membership then changes only through SCIM.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from app.models.enums import ManagedBy, ProjectRole

if TYPE_CHECKING:
    from app.models.members import Member
    from app.models.organizations import Organization
    from app.models.projects import Project
    from app.models.scim import ScimConnection


class Team(Model):
    id: int = fields.BigIntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "models.Organization", related_name="teams", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=200)
    slug = fields.CharField(max_length=64)
    description: str | None = fields.TextField(null=True)
    managed_by = fields.CharEnumField(ManagedBy, max_length=10, default="ROSTER")
    scim_connection: fields.ForeignKeyNullableRelation[ScimConnection] = fields.ForeignKeyField(
        "models.ScimConnection", related_name="teams", null=True, on_delete=fields.SET_NULL
    )
    external_id = fields.CharField(max_length=255, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    # Key columns behind the relations, set by Tortoise (declared for type checkers).
    organization_id: int
    scim_connection_id: int | None

    # Reverse relations, filled in by Tortoise (declared for type checkers).
    memberships: fields.ReverseRelation[TeamMember]
    project_roles: fields.ReverseRelation[TeamProjectRole]

    class Meta:
        table = "teams"
        unique_together = (("organization_id", "slug"),)
        indexes = (("organization_id", "name", "id"), ("organization_id", "external_id"))


class TeamMember(Model):
    id: int = fields.BigIntField(primary_key=True)
    team: fields.ForeignKeyRelation[Team] = fields.ForeignKeyField(
        "models.Team", related_name="memberships", on_delete=fields.CASCADE
    )
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="team_memberships", on_delete=fields.CASCADE
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    # Key columns behind the relations, set by Tortoise (declared for type checkers).
    team_id: int
    member_id: int

    class Meta:
        table = "team_members"
        unique_together = (("team_id", "member_id"),)
        indexes = (("member_id", "team_id"),)


class TeamProjectRole(Model):
    id: int = fields.BigIntField(primary_key=True)
    team: fields.ForeignKeyRelation[Team] = fields.ForeignKeyField(
        "models.Team", related_name="project_roles", on_delete=fields.CASCADE
    )
    project: fields.ForeignKeyRelation[Project] = fields.ForeignKeyField(
        "models.Project", related_name="team_roles", on_delete=fields.CASCADE
    )
    role = fields.CharEnumField(ProjectRole, max_length=10)

    # Key columns behind the relations, set by Tortoise (declared for type checkers).
    team_id: int
    project_id: int

    class Meta:
        table = "team_project_roles"
        unique_together = (("team_id", "project_id"),)
        indexes = (("project_id", "team_id"),)
