from tortoise import fields
from tortoise.models import Model

from app.models.enums import ProjectRole


class Project(Model):
    id = fields.BigIntField(primary_key=True)
    organization = fields.ForeignKeyField(
        "models.Organization", related_name="projects", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=200)
    slug = fields.CharField(max_length=64)
    is_default = fields.BooleanField(default=False)
    created_by = fields.ForeignKeyField(
        "models.Member", related_name="projects_created", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "projects"
        unique_together = (("organization_id", "slug"),)
        indexes = (("organization_id", "name", "id"),)


class ProjectAssignment(Model):
    id = fields.BigIntField(primary_key=True)
    project = fields.ForeignKeyField(
        "models.Project", related_name="assignments", on_delete=fields.CASCADE
    )
    member = fields.ForeignKeyField(
        "models.Member", related_name="project_assignments", on_delete=fields.CASCADE
    )
    role = fields.CharEnumField(ProjectRole, max_length=10)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "project_assignments"
        unique_together = (("project_id", "member_id"),)
        indexes = (("member_id", "project_id"),)
