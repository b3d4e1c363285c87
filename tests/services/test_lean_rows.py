"""The lean data path of list pages: rows read as the driver's records (app.db.select_records)
read back exactly what Tortoise's models read, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tortoise.fields import DatetimeField

from app import db as database
from app.models import Member
from app.models.enums import MemberStatus, OrganizationRole
from app.resolvers.members import MemberRow
from app.services import expiry
from tests.support.services import Crew

COLUMNS = (
    "id",
    "name",
    "email",
    "username",
    "title",
    "role",
    "role_rank",
    "status",
    "joined_at",
    "blocked_at",
    "removed_at",
    "expires_at",
    "role_expires_at",
    "role_reverts_to",
    "managed_by",
    "user_id",
    "organization_id",
)


async def test_member_rows_read_what_the_models_read(crew: Crew):
    later = datetime(2031, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    await Member.filter(id=crew["USER"].id).update(
        username="mia",
        title="Engineer",
        status=MemberStatus.BLOCKED,
        blocked_at=later - timedelta(days=3),
        expires_at=later,
        role=OrganizationRole.ADMIN,
        role_expires_at=later - timedelta(days=1),
        role_reverts_to=OrganizationRole.USER,
    )
    query = Member.filter(organization_id=crew.organization.id).order_by("id")
    models = await query
    rows = [MemberRow(record) for record in await database.select_records(query)]
    assert [row.id for row in rows] == [model.id for model in models]
    for row, model in zip(rows, models, strict=True):
        for column in COLUMNS:
            mine, theirs = getattr(row, column), getattr(model, column)
            assert mine == theirs, column
            if isinstance(theirs, datetime):
                assert mine.isoformat() == theirs.isoformat(), column  # cursors, responses
        # The model a field may ask for is Tortoise's own, with every column.
        built = row.model()
        assert built is row.model()  # built once
        for name in model._meta.fields_map:
            if name in model._meta.fetch_fields:
                continue
            assert getattr(built, name) == getattr(model, name), name
        assert built._saved_in_db
        # Read as the Member type shows it: the same rules on the row's columns.
        moment = later - timedelta(hours=12)
        assert expiry.status_from(row.status, row.role, row.expires_at, moment) == (
            expiry.status_now(model, moment)
        )
        assert expiry.role_from(
            row.role, row.role_expires_at, row.role_reverts_to, moment
        ) == expiry.role_now(model, moment)


async def test_datetimes_read_as_tortoise_reads_them(db):
    field = DatetimeField()
    for value in (
        datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC),
        "2030-01-02 03:04:05.000006+00:00",
        "2030-01-02T03:04:05+02:00",
        datetime(2030, 1, 2, 3, 4, 5),
    ):
        mine, theirs = database.read_datetime(value), field.to_python_value(value)
        assert mine == theirs
        assert mine.isoformat() == theirs.isoformat()
    assert database.read_optional_datetime(None) is None
