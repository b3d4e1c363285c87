"""Teams: named groups of an organization's members whose project roles they inherit.

Any active member reads teams; OWNER and ADMIN (Permission.MANAGE_TEAMS) manage them.
Every change takes the organization lock, re-checks the actor's role under it, and writes
its audit event in the same transaction. Lists are bounded (MAX_MEMBERS member ids,
MAX_ROLES project roles per call); adding a member already there and removing one who is
not are no-ops (idempotent), and a call that changes nothing writes nothing.

SCIM: a team SCIM provisioned changes name and membership only through SCIM, and a SCIM
member joins or leaves teams only through SCIM (`managed.check_not_managed`, which the SCIM
service passes with `via_scim=True`). A SCIM team's project roles stay Roster's to set.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.auth.roles import Permission
from app.errors import DomainError, ErrorCode
from app.models import Member, Project, Team, TeamMember, TeamProjectRole
from app.models.enums import MemberStatus, ProjectRole
from app.services import events
from app.services.audit import Actor
from app.services.expiry import status_now
from app.services.managed import check_not_managed
from app.services.slugs import free_slug, slugify
from app.services.tx import atomic, locked_for, locked_row_for
from app.services.validation import check_list_size, clean_description, clean_name

MAX_MEMBERS = 100
MAX_ROLES = 100


@dataclass(frozen=True)
class TeamRoleSpec:
    project_id: int
    role: ProjectRole


def _team_slug(name: str) -> str:
    slug = slugify(name)
    return "team" if slug == "org" and "org" not in name.lower() else slug


async def _locked_team(actor: Actor, team_id: int) -> tuple[Team, Actor]:
    """The team, its organization locked, and the actor as they stand now (ADMIN+)."""
    _, team, actor = await locked_row_for(
        actor, Permission.MANAGE_TEAMS, Team, team_id, "Team", "teamId"
    )
    return team, actor


def _via(via_scim: bool) -> str | None:
    return "scim" if via_scim else None


async def create_team(
    actor: Actor, organization_id: int, name: str, description: str | None = None
) -> Team:
    """A team Roster manages; its slug comes from its name, unique in the organization."""
    name = clean_name(name)
    description = clean_description(description)
    async with atomic():
        organization, actor = await locked_for(actor, organization_id, Permission.MANAGE_TEAMS)
        return await create_locked(actor, organization.id, name, description=description)


# The changes themselves, shared by GraphQL and SCIM Groups (app/services/scim_groups.py):
# call them in a transaction with the organization locked, with cleaned values, once the
# caller's checks have passed. `via` names where the change came from in the events.


async def create_locked(
    actor: Actor,
    organization_id: int,
    name: str,
    *,
    description: str | None = None,
    via: str | None = None,
    **fields: Any,
) -> Team:
    """A new team (its slug from its name, unique in the organization); `fields` are
    further columns (SCIM's managed_by, connection and externalId)."""
    slug = await free_slug(Team, _team_slug(name), organization_id=organization_id)
    team = await Team.create(
        organization_id=organization_id, name=name, slug=slug, description=description, **fields
    )
    await events.team_created(actor, team, via=via)
    return team


async def update_locked(
    actor: Actor, team: Team, cleaned: dict[str, Any], *, via: str | None = None
) -> Team:
    """Apply `cleaned` (name, description) where it differs; a new name gives a new slug.
    Writes nothing when nothing differs."""
    changed = {k: v for k, v in cleaned.items() if getattr(team, k) != v}
    if not changed:
        return team
    if "name" in changed:
        base = _team_slug(changed["name"])
        if base != team.slug:
            changed["slug"] = await free_slug(Team, base, organization_id=team.organization_id)
    before = {k: getattr(team, k) for k in changed}
    for key, value in changed.items():
        setattr(team, key, value)
    await team.save(update_fields=list(changed))
    await events.team_updated(actor, team, before, changed, via=via)
    return team


async def delete_locked(actor: Actor, team: Team, *, via: str | None = None) -> None:
    """Its memberships and project roles go with it (members lose what it gave them)."""
    dropped = await TeamMember.filter(team_id=team.id).count()
    await events.team_deleted(actor, team, dropped, via=via)
    await team.delete()


async def write_members(
    actor: Actor,
    team: Team,
    added: Sequence[int],
    removed: Sequence[int],
    *,
    via: str | None = None,
) -> None:
    """The one writer of team membership: `added` (not on the team yet) join, `removed`
    (on it) leave, each list with its event."""
    if added:
        await TeamMember.bulk_create([TeamMember(team_id=team.id, member_id=pk) for pk in added])
        await events.team_members_added(actor, team, added, via=via)
    if removed:
        await TeamMember.filter(team_id=team.id, member_id__in=removed).delete()
        await events.team_members_removed(actor, team, removed, via=via)


async def update_team(
    actor: Actor, team_id: int, changes: dict[str, Any], *, via_scim: bool = False
) -> Team:
    """`changes` holds the given keys among name, description. A new name gives a new
    slug (from the name, unique in the organization)."""
    cleaned: dict[str, Any] = {}
    if "name" in changes:
        cleaned["name"] = clean_name(changes["name"] or "", "name")
    if "description" in changes:
        cleaned["description"] = clean_description(changes["description"])
    async with atomic():
        team, actor = await _locked_team(actor, team_id)
        check_not_managed(team, "teamId", via_scim=via_scim)
        return await update_locked(actor, team, cleaned, via=_via(via_scim))


async def delete_team(actor: Actor, team_id: int, *, via_scim: bool = False) -> None:
    """Its memberships and project roles go with it (members lose what it gave them)."""
    async with atomic():
        team, actor = await _locked_team(actor, team_id)
        check_not_managed(team, "teamId", via_scim=via_scim)
        await delete_locked(actor, team, via=_via(via_scim))


def _check_member_ids(member_ids: Sequence[int | None]) -> list[int | None]:
    check_list_size(member_ids, "memberIds", MAX_MEMBERS)
    if not member_ids:
        raise DomainError(ErrorCode.INVALID_INPUT, "Name at least one member.", "memberIds")
    return list(member_ids)


async def _team_members(
    team: Team, member_ids: list[int | None], *, via_scim: bool, joining: bool
) -> list[Member]:
    """The listed members of the team's organization, in order, without repeats: NOT_FOUND
    for an unknown id, SCIM_MANAGED for a SCIM member (unless SCIM asks), MEMBER_REMOVED
    for a removed one when `joining`."""
    wanted = [i for i in member_ids if i is not None]
    found = {
        m.id: m for m in await Member.filter(organization_id=team.organization_id, id__in=wanted)
    }
    members: dict[int, Member] = {}
    for index, member_id in enumerate(member_ids):
        member = found.get(member_id) if member_id is not None else None
        where = ["memberIds", str(index)]
        if member is None:
            raise DomainError(
                ErrorCode.NOT_FOUND, "No member with this id in this organization.", where
            )
        if joining and status_now(member) == MemberStatus.REMOVED:
            raise DomainError(ErrorCode.MEMBER_REMOVED, "Removed members cannot join teams.", where)
        check_not_managed(member, where, via_scim=via_scim)
        members.setdefault(member.id, member)
    return list(members.values())


async def _on_team(team: Team, members: list[Member]) -> set[int]:
    """The ids of those of `members` already on the team."""
    rows: list[Any] = await TeamMember.filter(
        team_id=team.id, member_id__in=[m.id for m in members]
    ).values_list("member_id", flat=True)
    return set(rows)


async def add_team_members(
    actor: Actor, team_id: int, member_ids: Sequence[int | None], *, via_scim: bool = False
) -> Team:
    """Add members of the team's organization (ACTIVE or BLOCKED: a blocked member's team
    roles stay inert until they are unblocked; REMOVED ones are refused)."""
    ids = _check_member_ids(member_ids)
    async with atomic():
        team, actor = await _locked_team(actor, team_id)
        check_not_managed(team, "teamId", via_scim=via_scim)
        members = await _team_members(team, ids, via_scim=via_scim, joining=True)
        present = await _on_team(team, members)
        added = [m.id for m in members if m.id not in present]
        await write_members(actor, team, added, [], via=_via(via_scim))
    return team


async def remove_team_members(
    actor: Actor, team_id: int, member_ids: Sequence[int | None], *, via_scim: bool = False
) -> Team:
    """Take members of the organization off the team; those not on it are skipped."""
    ids = _check_member_ids(member_ids)
    async with atomic():
        team, actor = await _locked_team(actor, team_id)
        check_not_managed(team, "teamId", via_scim=via_scim)
        members = await _team_members(team, ids, via_scim=via_scim, joining=False)
        present = await _on_team(team, members)
        removed = [m.id for m in members if m.id in present]
        await write_members(actor, team, [], removed, via=_via(via_scim))
    return team


async def set_team_project_roles(
    actor: Actor, team_id: int, specs: Sequence[TeamRoleSpec | None]
) -> Team:
    """Replace the team's project roles with `specs` (None = an unknown project id): each
    a project of the team's organization, at most once. Allowed on SCIM teams too."""
    check_list_size(specs, "roles", MAX_ROLES)
    async with atomic():
        team, actor = await _locked_team(actor, team_id)
        wanted = [s.project_id for s in specs if s is not None]
        listed: list[Any] = await Project.filter(
            organization_id=team.organization_id, id__in=wanted
        ).values_list("id", flat=True)
        known = set(listed)
        after: dict[int, ProjectRole] = {}
        for index, spec in enumerate(specs):
            if spec is None or spec.project_id not in known:
                raise DomainError(
                    ErrorCode.NOT_FOUND,
                    "No project with this id here.",
                    ["roles", str(index), "projectId"],
                )
            if spec.project_id in after:
                raise DomainError(
                    ErrorCode.INVALID_INPUT,
                    "Each project at most once.",
                    ["roles", str(index), "projectId"],
                )
            after[spec.project_id] = ProjectRole(spec.role)
        rows: list[Any] = await TeamProjectRole.filter(team_id=team.id).values_list(
            "project_id", "role"
        )
        before = {project_id: ProjectRole(role) for project_id, role in rows}
        if before == after:
            return team
        await TeamProjectRole.filter(team_id=team.id).delete()
        await TeamProjectRole.bulk_create(
            [
                TeamProjectRole(team_id=team.id, project_id=project_id, role=role)
                for project_id, role in after.items()
            ]
        )
        await events.team_project_roles_set(actor, team, before, after)
    return team
