"""SCIM connections: an identity provider's bearer token for one organization, the
role its groups give, and the token check of the SCIM server.

The token is shown once, at creation; only its SHA-256 digest is stored (as an API
key's). `role_mappings` map a SCIM group's displayName to an organization role; a
member's role is the highest role any of their groups maps to, else `default_role`
(`apply_roles`: whenever a member's groups change, and when the mappings change). OWNER
is never mapped nor the default (ROLE_NOT_ALLOWED); only the OWNER may map a group to
ADMIN, take such a mapping away, or make ADMIN the default (FORBIDDEN_ROLE).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from app.auth.roles import Permission
from app.auth.tokens import digests_match, hash_token, new_token
from app.auth.viewer import OrgAccess, Viewer
from app.clock import now
from app.errors import DomainError, ErrorCode
from app.models import Member, ScimConnection, TeamMember
from app.models.enums import ManagedBy, OrganizationRole
from app.services import events
from app.services.audit import Actor
from app.services.expiry import present_q, role_now, temporary_role_pending
from app.services.tx import atomic, locked_for, locked_row_for
from app.services.validation import clean_name

TOKEN_PREFIX = "rscim_"
MAX_MAPPINGS = 100
GROUP_MAX = 200
# lastUsedAt is written at most this often, so that SCIM reads do not all write.
TOUCH_EVERY = timedelta(minutes=1)
# The role an identity provider acts with: it manages members below the OWNER.
SCIM_ROLE = OrganizationRole.ADMIN


@dataclass(frozen=True)
class RoleMapping:
    group: str
    role: OrganizationRole


def _check_role(actor: Actor, role: OrganizationRole, field: str) -> None:
    if role == OrganizationRole.OWNER:
        raise DomainError(ErrorCode.ROLE_NOT_ALLOWED, "SCIM never gives the OWNER role.", field)
    if role == OrganizationRole.ADMIN and (
        actor.access is None or actor.access.role != OrganizationRole.OWNER
    ):
        raise DomainError(ErrorCode.FORBIDDEN_ROLE, "Only the owner lets SCIM grant ADMIN.", field)


def clean_mappings(
    actor: Actor, mappings: list[RoleMapping], admin_groups: frozenset[str] = frozenset()
) -> list[dict[str, Any]]:
    """The mappings as stored; a group named twice (ignoring case) is INVALID_INPUT.
    `admin_groups` (casefolded) map to ADMIN already: keeping them needs no OWNER."""
    if len(mappings) > MAX_MAPPINGS:
        raise DomainError(
            ErrorCode.INVALID_INPUT, f"At most {MAX_MAPPINGS} role mappings.", "roleMappings"
        )
    seen: set[str] = set()
    cleaned: list[dict[str, Any]] = []
    for index, mapping in enumerate(mappings):
        field = f"roleMappings.{index}"
        group = " ".join(mapping.group.split())
        if not 1 <= len(group) <= GROUP_MAX:
            raise DomainError(
                ErrorCode.INVALID_INPUT, f"Group names are 1 to {GROUP_MAX} characters.", field
            )
        if group.casefold() in seen:
            raise DomainError(ErrorCode.INVALID_INPUT, "This group is mapped twice.", field)
        seen.add(group.casefold())
        role = OrganizationRole(mapping.role)
        if not (role == OrganizationRole.ADMIN and group.casefold() in admin_groups):
            _check_role(actor, role, field)
        cleaned.append({"group": group, "role": role.value})
    return cleaned


def mappings_of(connection: ScimConnection) -> list[RoleMapping]:
    return [
        RoleMapping(str(row["group"]), OrganizationRole(row["role"]))
        for row in connection.role_mappings or []
    ]


def role_for_groups(connection: ScimConnection, groups: list[str]) -> OrganizationRole:
    """The highest role the connection maps any of `groups` to (names compared ignoring
    case), else its default role. Never OWNER."""
    names = {group.casefold() for group in groups}
    roles = [m.role for m in mappings_of(connection) if m.group.casefold() in names]
    roles.append(OrganizationRole(connection.default_role))
    best = min(roles, key=lambda role: role.rank)
    return OrganizationRole.USER if best == OrganizationRole.OWNER else best


async def apply_roles(
    actor: Actor,
    connection: ScimConnection,
    organization_id: int,
    member_ids: Collection[int] | None = None,
) -> int:
    """Give SCIM-managed present members (those of `member_ids`, else every member the
    connection provisioned) the role their SCIM groups map to; the OWNER keeps theirs.
    Two queries, then one UPDATE and one event per member whose role changes. Call with
    the organization locked. Returns how many changed."""
    query = Member.filter(
        present_q(), organization_id=organization_id, managed_by=ManagedBy.SCIM
    ).exclude(role=OrganizationRole.OWNER)
    if member_ids is None:
        query = query.filter(scim_connection_id=connection.id)
    else:
        if not member_ids:
            return 0
        query = query.filter(id__in=list(member_ids))
    members = list(await query.order_by("id"))
    if not members:
        return 0
    groups: dict[int, list[str]] = {m.id: [] for m in members}
    rows = await TeamMember.filter(
        member_id__in=list(groups), team__managed_by=ManagedBy.SCIM
    ).values_list("member_id", "team__name")
    for member_id, name in rows:
        groups[int(str(member_id))].append(str(name))
    changed = 0
    for member in members:
        role = role_for_groups(connection, groups[member.id])
        before = role_now(member)  # a temporary role past its end reads as reverted
        pending = temporary_role_pending(member)
        if role == before and not pending:
            continue
        # The groups' role is lasting: it replaces a temporary one (as updateMemberRole
        # without `until` does), and the event says which pending revert it cleared.
        cleared = member.role_expires_at if pending else None
        member.set_role(role)
        member.role_expires_at = None
        member.role_reverts_to = None
        await member.save(update_fields=["role", "role_rank", "role_expires_at", "role_reverts_to"])
        if cleared is None:
            await events.member_role_changed(actor, member, before, via="scim")
        else:
            await events.member_role_changed_until(actor, member, before, cleared, via="scim")
        changed += 1
    return changed


def _admin_groups(mappings: list[dict[str, Any]]) -> set[str]:
    return {str(m["group"]).casefold() for m in mappings if m["role"] == OrganizationRole.ADMIN}


def _check_admin_changes(
    actor: Actor, connection: ScimConnection, stored: list[dict[str, Any]]
) -> None:
    """Which groups grant ADMIN is the OWNER's to change, taking one away included (it
    demotes ADMINs, whom only the OWNER manages)."""
    if actor.access is not None and actor.access.role == OrganizationRole.OWNER:
        return
    if _admin_groups(stored) != _admin_groups(connection.role_mappings or []):
        raise DomainError(
            ErrorCode.FORBIDDEN_ROLE,
            "Only the owner changes which groups grant ADMIN.",
            "roleMappings",
        )


def base_url(public_url: str) -> str:
    return f"{public_url.rstrip('/')}/scim/v2"


async def create_connection(
    actor: Actor,
    organization_id: int,
    name: str,
    default_role: OrganizationRole,
    mappings: list[RoleMapping],
) -> tuple[ScimConnection, str]:
    """The new connection and its token (which is never readable again)."""
    name = clean_name(name)
    token = new_token(TOKEN_PREFIX)
    async with atomic():
        organization, actor = await locked_for(
            actor, organization_id, Permission.MANAGE_ORGANIZATION
        )
        _check_role(actor, OrganizationRole(default_role), "defaultRole")
        stored = clean_mappings(actor, mappings)
        connection = await ScimConnection.create(
            organization_id=organization.id,
            name=name,
            token_hash=hash_token(token),
            default_role=OrganizationRole(default_role),
            role_mappings=stored,
        )
        await events.scim_connection_created(actor, connection)
    return connection, token


async def update_connection(
    actor: Actor,
    connection_id: int,
    name: str | None,
    default_role: OrganizationRole | None,
    mappings: list[RoleMapping] | None,
) -> ScimConnection:
    """Change what is given (None: unchanged). A revoked connection still takes a new
    name, nothing else matters for it."""
    cleaned_name = clean_name(name) if name is not None else None
    async with atomic():
        _, connection, actor = await locked_row_for(
            actor,
            Permission.MANAGE_ORGANIZATION,
            ScimConnection,
            connection_id,
            "SCIM connection",
            "connectionId",
        )
        before: dict[str, Any] = {}
        after: dict[str, Any] = {}
        if cleaned_name is not None and cleaned_name != connection.name:
            before["name"], after["name"] = connection.name, cleaned_name
            connection.name = cleaned_name
        if default_role is not None and OrganizationRole(default_role) != connection.default_role:
            # Making ADMIN the default, or ceasing to, is the OWNER's.
            _check_role(actor, OrganizationRole(default_role), "defaultRole")
            if connection.default_role == OrganizationRole.ADMIN:
                _check_role(actor, OrganizationRole.ADMIN, "defaultRole")
            before["defaultRole"] = OrganizationRole(connection.default_role).value
            after["defaultRole"] = OrganizationRole(default_role).value
            connection.default_role = OrganizationRole(default_role)
        if mappings is not None:
            existing = frozenset(_admin_groups(connection.role_mappings or []))
            stored = clean_mappings(actor, mappings, existing)
            _check_admin_changes(actor, connection, stored)
            if stored != connection.role_mappings:
                before["roleMappings"] = connection.role_mappings
                after["roleMappings"] = stored
                connection.role_mappings = stored
        if after:
            await connection.save(update_fields=["name", "default_role", "role_mappings"])
            await events.scim_connection_updated(actor, connection, before, after)
        if connection.revoked_at is None and ("defaultRole" in after or "roleMappings" in after):
            await apply_roles(actor, connection, connection.organization_id)
    return connection


async def revoke_connection(actor: Actor, connection_id: int) -> ScimConnection:
    """The token stops working at once; revoking twice changes nothing."""
    async with atomic():
        _, connection, actor = await locked_row_for(
            actor,
            Permission.MANAGE_ORGANIZATION,
            ScimConnection,
            connection_id,
            "SCIM connection",
            "connectionId",
        )
        if connection.revoked_at is not None:
            return connection
        connection.revoked_at = now()
        await connection.save(update_fields=["revoked_at"])
        await events.scim_connection_revoked(actor, connection)
    return connection


# The SCIM server's side -------------------------------------------------------------------


async def authenticate(token: str) -> ScimConnection | None:
    """The live connection of `token`, its lastUsedAt refreshed at most once a minute
    (one conditional UPDATE, so concurrent requests do not contend); None otherwise."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    connection = await ScimConnection.get_or_none(token_hash=hash_token(token))
    if (
        connection is None
        or connection.revoked_at is not None
        or not digests_match(connection.token_hash, token)
    ):
        return None
    moment = now()
    if connection.last_used_at is None or connection.last_used_at < moment - TOUCH_EVERY:
        await ScimConnection.filter(id=connection.id).update(last_used_at=moment)
        connection.last_used_at = moment
    return connection


def actor_for(connection: ScimConnection, ip: str | None) -> Actor:
    """The identity provider as actor: no user, no API key; events name it in `data`."""
    return Actor(
        viewer=Viewer(),
        access=OrgAccess(connection.organization_id, SCIM_ROLE),
        ip=ip,
    )
