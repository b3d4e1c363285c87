"""SCIM Groups: teams an identity provider manages (`managed_by` SCIM).

A group's displayName is the team's name, unique (ignoring case) among the
organization's SCIM teams, since role mappings name groups by it. Its members are
present members of the organization, named by their global ids. Whenever a member's
groups change (added, removed, a group renamed or deleted) their organization role is
applied again (`scim.apply_roles`). Every change takes the organization's lock, so
concurrent PATCHes to one group apply one after the other, each on the state the last
one left.
"""

from __future__ import annotations

from typing import Any

from scim2_models import InvalidValueException, NotFoundException, UniquenessException

from app.ids import pk_of, to_global_id
from app.models import Member, Organization, ScimConnection, Team, TeamMember
from app.models.enums import ManagedBy, MemberStatus
from app.services import teams
from app.services.audit import Actor
from app.services.expiry import present_q, status_now
from app.services.scim import apply_roles
from app.services.scim_filters import group_query
from app.services.scim_patch import Shape, apply, from_body
from app.services.scim_users import MAX_RESULTS as MAX_RESULTS
from app.services.scim_users import page_of
from app.services.tx import atomic, locked
from app.services.validation import clean_name

MAX_MEMBERS = 5000

GROUP = Shape(
    urn="urn:ietf:params:scim:schemas:core:2.0:Group",
    simple=("displayName", "externalId"),
    complex={},
    multi={"members": ("value", "type", "display", "$ref")},
    booleans=frozenset(),
    required=frozenset({"displayName"}),
)


# Reading ------------------------------------------------------------------------------


async def list_groups(
    connection: ScimConnection, filter_text: str | None, start_index: int, count: int
) -> tuple[int, list[Team]]:
    query = Team.filter(organization_id=connection.organization_id, managed_by=ManagedBy.SCIM)
    if filter_text:
        query = query.filter(group_query(filter_text))
    return await page_of(query, start_index, count)


async def get_team(connection: ScimConnection, group_id: str) -> Team:
    pk = pk_of(group_id, "Team")
    team = None
    if pk is not None:
        team = await Team.get_or_none(
            id=pk, organization_id=connection.organization_id, managed_by=ManagedBy.SCIM
        )
    if team is None:
        raise NotFoundException(detail=f"No group {group_id}.")
    return team


async def members_of(team_ids: list[int]) -> dict[int, list[Member]]:
    """Each team's present members (not past `expires_at`), by id (one query)."""
    found: dict[int, list[Member]] = {pk: [] for pk in team_ids}
    if not team_ids:
        return found
    rows = (
        await TeamMember.filter(
            team_id__in=team_ids,
            member__status__in=(MemberStatus.ACTIVE, MemberStatus.BLOCKED),
        )
        .select_related("member")
        .order_by("member_id")
    )
    for row in rows:
        if status_now(row.member) != MemberStatus.REMOVED:
            found[row.team_id].append(row.member)
    return found


# Writing ----------------------------------------------------------------------------


def _name(state: dict[str, Any]) -> str:
    """A team's name, cleaned as teams' names are (INVALID_INPUT is a SCIM 400)."""
    return clean_name(str(state.get("displayName") or ""), "displayName")


async def _check_name(organization_id: int, name: str, except_team: int | None) -> None:
    query = Team.filter(
        organization_id=organization_id, managed_by=ManagedBy.SCIM, name__iexact=name
    )
    if except_team is not None:
        query = query.exclude(id=except_team)
    if await query.exists():
        raise UniquenessException(detail=f"A group named {name} exists already.")


async def _member_ids(organization_id: int, state: dict[str, Any]) -> set[int]:
    """The present members the state's `members` name; an unknown one is 400."""
    values = [str(item.get("value", "")) for item in state.get("members") or []]
    if len(values) > MAX_MEMBERS:
        raise InvalidValueException(detail=f"At most {MAX_MEMBERS} members.")
    wanted: set[int] = set()
    for value in values:
        pk = pk_of(value, "Member")
        if pk is None:
            raise InvalidValueException(detail=f"No user {value}.")
        wanted.add(pk)
    found = await Member.filter(
        present_q(), id__in=list(wanted), organization_id=organization_id
    ).values_list("id", flat=True)
    missing = wanted - {int(str(pk)) for pk in found}
    if missing:
        raise InvalidValueException(
            detail=f"No user {to_global_id('Member', min(missing))} in this organization."
        )
    return wanted


async def _current_ids(team: Team) -> set[int]:
    ids = await TeamMember.filter(team_id=team.id).values_list("member_id", flat=True)
    return {int(str(pk)) for pk in ids}


async def _set_members(
    actor: Actor, connection: ScimConnection, team: Team, wanted: set[int]
) -> None:
    current = await _current_ids(team)
    added, removed = sorted(wanted - current), sorted(current - wanted)
    await teams.write_members(actor, team, added, removed, via="scim")
    await apply_roles(actor, connection, team.organization_id, set(added) | set(removed))


async def create_group(actor: Actor, connection: ScimConnection, body: dict[str, Any]) -> Team:
    state = from_body(GROUP, body, MAX_MEMBERS)
    name = _name(state)
    async with atomic():
        organization = await locked(connection.organization_id)
        await _check_name(organization.id, name, None)
        wanted = await _member_ids(organization.id, state)
        team = await teams.create_locked(
            actor,
            organization.id,
            name,
            via="scim",
            managed_by=ManagedBy.SCIM,
            scim_connection_id=connection.id,
            external_id=state.get("externalId"),
        )
        await _set_members(actor, connection, team, wanted)
    return team


async def _locked_team(connection: ScimConnection, group_id: str) -> tuple[Organization, Team]:
    await get_team(connection, group_id)
    organization = await locked(connection.organization_id)
    return organization, await get_team(connection, group_id)


async def _write(
    actor: Actor,
    connection: ScimConnection,
    organization: Organization,
    team: Team,
    state: dict[str, Any],
    current: set[int],
) -> Team:
    name = _name(state)
    external_id = state.get("externalId")
    wanted = await _member_ids(organization.id, state)
    renamed = name != team.name
    if renamed:
        await _check_name(organization.id, name, team.id)
        await teams.update_locked(actor, team, {"name": name}, via="scim")
    if external_id != team.external_id:
        team.external_id = external_id
        await team.save(update_fields=["external_id"])
    await _set_members(actor, connection, team, wanted)
    if renamed:  # role mappings name groups: the unchanged members' roles may change too
        await apply_roles(actor, connection, organization.id, current & wanted)
    return team


def _state(team: Team, member_ids: set[int]) -> dict[str, Any]:
    return {
        "displayName": team.name,
        "externalId": team.external_id,
        "members": [{"value": to_global_id("Member", pk)} for pk in sorted(member_ids)] or None,
    }


async def replace_group(
    actor: Actor, connection: ScimConnection, group_id: str, body: dict[str, Any]
) -> Team:
    state = from_body(GROUP, body, MAX_MEMBERS)
    async with atomic():
        organization, team = await _locked_team(connection, group_id)
        current = await _current_ids(team)
        return await _write(actor, connection, organization, team, state, current)


async def patch_group(
    actor: Actor, connection: ScimConnection, group_id: str, body: dict[str, Any]
) -> Team:
    async with atomic():
        organization, team = await _locked_team(connection, group_id)
        current = await _current_ids(team)
        state = apply(GROUP, _state(team, current), body, MAX_MEMBERS)
        return await _write(actor, connection, organization, team, state, current)


async def delete_group(actor: Actor, connection: ScimConnection, group_id: str) -> None:
    async with atomic():
        _, team = await _locked_team(connection, group_id)
        current = await _current_ids(team)
        await teams.delete_locked(actor, team, via="scim")
        await apply_roles(actor, connection, connection.organization_id, current)
