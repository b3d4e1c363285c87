from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.fields.db_defaults import SqlDefault
from tortoise.models import Model

if TYPE_CHECKING:
    from app.models.accounts import User
    from app.models.organizations import ApiKey, Organization


class CommitPosition(SqlDefault):
    """The default of `AuditEvent.tx_id`, set by the database in the INSERT itself.

    PostgreSQL: the inserting transaction's id (`pg_current_xact_id()`, xid8, which fits a
    BIGINT). Every event of one transaction shares it, and the events feed lists only
    positions below the oldest transaction still open (app/services/audit.py,
    `feed_horizon`), so a late committer can never land behind a cursor already handed out.

    SQLite: 0. SQLite runs one write transaction at a time and never reuses an
    AUTOINCREMENT id, so `id` alone is commit order and (0, id) sorts as id does.
    """

    _DIALECT_SQL: dict[str, str] = {"postgres": "(pg_current_xact_id()::text::bigint)"}

    def __init__(self) -> None:
        super().__init__("0")

    def get_sql(self, _context: Any = None, dialect: str | None = None) -> str:
        return self._DIALECT_SQL.get(dialect or "", self.sql)

    def __repr__(self) -> str:
        return "CommitPosition()"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CommitPosition)

    def __hash__(self) -> int:
        return hash("CommitPosition")


class AuditEvent(Model):
    id: int = fields.BigIntField(primary_key=True)
    organization: fields.ForeignKeyNullableRelation[Organization] = fields.ForeignKeyField(
        "models.Organization", related_name="audit_events", null=True, on_delete=fields.CASCADE
    )
    action = fields.CharField(max_length=64)
    actor_user: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="audit_events", null=True, on_delete=fields.SET_NULL
    )
    actor_api_key: fields.ForeignKeyNullableRelation[ApiKey] = fields.ForeignKeyField(
        "models.ApiKey", related_name="audit_events", null=True, on_delete=fields.SET_NULL
    )
    target_type = fields.CharField(max_length=32)
    target_id: int | None = fields.BigIntField(null=True)
    data: dict[str, Any] = fields.JSONField(default=dict)
    ip = fields.CharField(max_length=45, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    # The commit position: the feed's order is (tx_id, id). See CommitPosition.
    tx_id: int = fields.BigIntField(db_default=CommitPosition())

    # Key columns behind the relations, set by Tortoise (declared for type checkers).
    organization_id: int | None
    actor_user_id: int | None
    actor_api_key_id: int | None

    class Meta:
        table = "audit_events"
        indexes = (
            ("organization_id", "id"),
            ("organization_id", "action", "id"),
            ("organization_id", "actor_user_id", "id"),
            ("organization_id", "target_type", "target_id", "id"),
            ("organization_id", "created_at", "id"),
            ("organization_id", "tx_id", "id"),
        )
