"""CSV / JSONL exports of members and the audit trail, for HR systems and compliance.

`GET /organizations/{id}/members.csv` (or `.jsonl`) and
`GET /organizations/{id}/audit-events.csv` (or `.jsonl`), with the same bearer
token as `/graphql`, for ADMIN+ of the organization (or an ADMIN API key).
Rows are read in keyset batches of CHUNK_SIZE plain dicts and written out
batch by batch, so an export of any size runs in constant memory.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web
from tortoise.models import Model

from app.auth.roles import Permission, has_permission
from app.auth.viewer import InvalidToken, authenticate
from app.clock import now
from app.ids import pk_of, to_global_id
from app.models import AuditEvent, Member, Organization
from app.resolvers.context import Context
from app.services.expiry import expired_from, role_from

log = logging.getLogger("roster.exports")

CHUNK_SIZE = 1000
# Cells starting with these are formulas to spreadsheet programs (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _gid(type_name: str, pk: int | None) -> str | None:
    return None if pk is None else to_global_id(type_name, pk)


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


@dataclass(frozen=True)
class Export:
    """One exportable table: its rows' columns, and how a stored row becomes a record."""

    model: type[Model]
    columns: tuple[str, ...]  # database columns read with values()
    to_record: Callable[[dict[str, Any]], dict[str, Any]]


def _member(row: dict[str, Any]) -> dict[str, Any]:
    """As the member reads now (app.services.expiry): past `expiresAt` REMOVED, past
    `roleExpiresAt` in the role it reverts to, whether or not the sweep has run."""
    moment = now()
    expired = row["status"] is not None and expired_from(
        row["status"], row["role"], row["expires_at"], moment
    )
    role = row["role"]
    temporary = False
    if role is not None:
        role = role_from(role, row["role_expires_at"], row["role_reverts_to"], moment)
        temporary = not expired and role == row["role"] and row["role_expires_at"] is not None
    return {
        "id": _gid("Member", row["id"]),
        "userId": _gid("User", row["user_id"]),
        "name": row["name"],
        "email": row["email"],
        "username": row["username"],
        "title": row["title"],
        "role": str(role),
        "status": "REMOVED" if expired else str(row["status"]),
        "joinedAt": _time(row["joined_at"]),
        "blockedAt": None if expired else _time(row["blocked_at"]),
        "removedAt": _time(row["expires_at"] if expired else row["removed_at"]),
        "invitedById": _gid("Member", row["invited_by_id"]),
        "expiresAt": None if expired else _time(row["expires_at"]),
        "roleExpiresAt": _time(row["role_expires_at"]) if temporary else None,
        "roleRevertsTo": str(row["role_reverts_to"]) if temporary else None,
    }


def _event(row: dict[str, Any]) -> dict[str, Any]:
    target_id = row["target_id"]
    return {
        "id": _gid("AuditEvent", row["id"]),
        "createdAt": _time(row["created_at"]),
        "action": row["action"],
        "actorId": _gid("User", row["actor_user_id"]),
        "actorApiKeyId": _gid("ApiKey", row["actor_api_key_id"]),
        "targetType": row["target_type"],
        "targetId": None if target_id is None else to_global_id(row["target_type"], target_id),
        "data": row["data"],
        "ip": row["ip"],
    }


EXPORTS = {
    "members": Export(
        Member,
        (
            "id",
            "user_id",
            "name",
            "email",
            "username",
            "title",
            "role",
            "status",
            "joined_at",
            "blocked_at",
            "removed_at",
            "invited_by_id",
            "expires_at",
            "role_expires_at",
            "role_reverts_to",
        ),
        _member,
    ),
    "audit-events": Export(
        AuditEvent,
        (
            "id",
            "created_at",
            "action",
            "actor_user_id",
            "actor_api_key_id",
            "target_type",
            "target_id",
            "data",
            "ip",
        ),
        _event,
    ),
}
FIELDS = {
    "members": list(_member(dict.fromkeys(EXPORTS["members"].columns))),
    "audit-events": list(_event(dict.fromkeys(EXPORTS["audit-events"].columns))),
}


async def batches(export: Export, organization_id: int) -> AsyncIterator[list[dict[str, Any]]]:
    """The organization's rows in id order, CHUNK_SIZE at a time (keyset, never OFFSET)."""
    last_id = 0
    while True:
        rows = (
            await export.model.filter(organization_id=organization_id, id__gt=last_id)
            .order_by("id")
            .limit(CHUNK_SIZE)
            .values(*export.columns)
        )
        if not rows:
            return
        yield rows
        if len(rows) < CHUNK_SIZE:
            return
        last_id = rows[-1]["id"]


def _csv_cell(value: Any) -> Any:
    if isinstance(value, dict | list):
        value = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _csv(records: list[dict[str, Any]], fields: list[str], header: bool) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\r\n")
    if header:
        writer.writeheader()
    writer.writerows({k: _csv_cell(v) for k, v in record.items()} for record in records)
    return buffer.getvalue().encode()


def _jsonl(records: list[dict[str, Any]]) -> bytes:
    return "".join(
        json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n" for record in records
    ).encode()


async def render(name: str, fmt: str, organization_id: int) -> AsyncIterator[bytes]:
    """The export as chunks of bytes: the header row (CSV), then one chunk per batch."""
    table, fields = EXPORTS[name], FIELDS[name]
    if fmt == "csv":
        yield _csv([], fields, header=True)
    async for rows in batches(table, organization_id):
        records = [table.to_record(row) for row in rows]
        yield _csv(records, fields, False) if fmt == "csv" else _jsonl(records)


def _refuse(
    status: int, message: str, code: str, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response(
        {"errors": [{"message": message, "extensions": {"code": code}}]},
        status=status,
        headers=headers,
    )


async def export(request: web.Request) -> web.StreamResponse:
    name, fmt = request.match_info["name"], request.match_info["format"]
    try:
        viewer = await authenticate(request.headers.get("Authorization"))
    except InvalidToken as error:
        return _refuse(
            401,
            str(error),
            "UNAUTHENTICATED",
            {"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    if viewer.is_anonymous:
        return _refuse(401, "Sign in first.", "UNAUTHENTICATED", {"WWW-Authenticate": "Bearer"})
    organization_id = pk_of(request.match_info["id"], "Organization")
    access = await Context(viewer=viewer).access(organization_id)
    organization = await Organization.get_or_none(id=organization_id) if access else None
    if organization is None:
        return _refuse(404, "Organization not found.", "NOT_FOUND")
    if access is None or not has_permission(access.role, Permission.READ_PRIVATE):
        return _refuse(403, "Your role does not allow this.", "FORBIDDEN")

    stamp = now().strftime("%Y%m%d-%H%M%S")
    filename = f"{organization.slug}-{name}-{stamp}.{fmt}"
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8"
            if fmt == "csv"
            else "application/jsonl; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        }
    )
    response.enable_chunked_encoding()
    await response.prepare(request)
    try:
        async for chunk in render(name, fmt, organization.id):
            await response.write(chunk)
    except (asyncio.CancelledError, ConnectionError):
        raise
    except Exception as exc:
        # Headers are sent: no error response is possible any more. Break the
        # connection so that the client sees a truncated export, not a complete one.
        log.exception("export %s of organization %s failed", name, organization.id)
        raise ConnectionResetError("export failed") from exc
    await response.write_eof()
    return response


def add_routes(app: web.Application) -> None:
    app.router.add_route(
        "GET", r"/organizations/{id}/{name:members|audit-events}.{format:csv|jsonl}", export
    )
