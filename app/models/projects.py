from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from app.models.enums import ProjectRole

if TYPE_CHECKING:
    from app.models.invitations import InvitationProjectAssignment
    from app.models.members import Member
    from app.models.organizations import Organization
    from app.models.teams import TeamProjectRole


class Project(Model):
    id: int = fields.BigIntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "models.Organization", related_name="projects", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=200)
    slug = fields.CharField(max_length=64)
    is_default = fields.BooleanField(default=False)
    created_by: fields.ForeignKeyNullableRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="projects_created", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    # Key columns behind the relations, set by Tortoise (declared for type checkers).
    organization_id: int
    created_by_id: int | None

    # Reverse relations, filled in by Tortoise (declared for type checkers).
    assignments: fields.ReverseRelation[ProjectAssignment]
    invitation_assignments: fields.ReverseRelation[InvitationProjectAssignment]
    team_roles: fields.ReverseRelation[TeamProjectRole]

    class Meta:
        table = "projects"
        unique_together = (("organization_id", "slug"),)
        indexes = (("organization_id", "name", "id"),)


class ProjectAssignment(Model):
    id: int = fields.BigIntField(primary_key=True)
    project: fields.ForeignKeyRelation[Project] = fields.ForeignKeyField(
        "models.Project", related_name="assignments", on_delete=fields.CASCADE
    )
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="project_assignments", on_delete=fields.CASCADE
    )
    role = fields.CharEnumField(ProjectRole, max_length=10)
    created_at = fields.DatetimeField(auto_now_add=True)
    # Temporary access: refused from this instant, deleted by the sweeper.
    expires_at = fields.DatetimeField(null=True)

    # Key columns behind the relations, set by Tortoise (declared for type checkers).
    project_id: int
    member_id: int

    class Meta:
        table = "project_assignments"
        unique_together = (("project_id", "member_id"),)
        indexes = (("member_id", "project_id"), ("expires_at",))
