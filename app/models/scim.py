"""SCIM 2.0 connections: an identity provider's credentials for one organization."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

from app.models.enums import OrganizationRole

if TYPE_CHECKING:
    from app.models.members import Member
    from app.models.organizations import Organization
    from app.models.teams import Team


class ScimConnection(Model):
    """The token is shown once and stored as its SHA-256 hash, like an API key's.

    Who created it is in the audit trail (a column would make a foreign-key cycle with
    `Member.scim_connection`).

    `role_mappings` is a list of `{"group": <SCIM group displayName>, "role": <role>}`.
    """

    id: int = fields.BigIntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "models.Organization", related_name="scim_connections", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=200)
    token_hash = fields.CharField(max_length=64, unique=True)
    default_role = fields.CharEnumField(OrganizationRole, max_length=10, default="USER")
    role_mappings: list[dict[str, Any]] = fields.JSONField(default=list)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    # Key columns behind the relations, set by Tortoise (declared for type checkers).
    organization_id: int

    # Reverse relations, filled in by Tortoise (declared for type checkers).
    members: fields.ReverseRelation[Member]
    teams: fields.ReverseRelation[Team]

    class Meta:
        table = "scim_connections"
        indexes = (("organization_id", "created_at", "id"),)
