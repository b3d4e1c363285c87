from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from app.models.enums import JoinRequestStatus, OrganizationRole

if TYPE_CHECKING:
    from app.models.accounts import User
    from app.models.members import Member
    from app.models.organizations import Organization


class JoinRequest(Model):
    """A person's request to join an organization through its verified REQUEST domain.

    `status` is the stored state; a PENDING row past `expires_at` reads as EXPIRED
    everywhere (services.join_requests.effective_status). A partial unique index
    (scripts/build_initial_migration.py) keeps one stored PENDING row per person and
    organization. `decision_token_hash` opens the decision's landing page, which the
    decision mail links to.
    """

    id: int = fields.BigIntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "models.Organization", related_name="join_requests", on_delete=fields.CASCADE
    )
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="join_requests", on_delete=fields.CASCADE
    )
    status = fields.CharEnumField(JoinRequestStatus, max_length=10, default="PENDING")
    message: str | None = fields.TextField(null=True)
    # Set from app.clock.now() (not auto_now_add), so that expiry follows the one clock.
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    decided_at = fields.DatetimeField(null=True)
    decided_by: fields.ForeignKeyNullableRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="join_requests_decided", null=True, on_delete=fields.SET_NULL
    )
    # The role the person joined with, once APPROVED.
    role: OrganizationRole | None = fields.CharEnumField(  # type: ignore[assignment]
        OrganizationRole, max_length=10, null=True
    )
    decision_token_hash = fields.CharField(max_length=64, null=True, unique=True)

    # Key columns behind the relations, set by Tortoise (declared for type checkers).
    organization_id: int
    user_id: int
    decided_by_id: int | None

    class Meta:
        table = "join_requests"
        indexes = (
            ("organization_id", "status", "created_at", "id"),
            ("organization_id", "created_at", "id"),
            ("user_id", "status"),
        )
