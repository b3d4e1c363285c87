"""Teams: reads (an organization's teams, a team's members and project roles, a member's
teams and effective project roles, the node) and the team changes.

Any active member of the organization reads its teams; anyone else sees none. A member's
teams and effective project roles load through DataLoaders, so a page of members costs
the same few statements whatever its size.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from app import db
from app.clock import now
from app.ids import pk_of
from app.models import Member, Project, Team, TeamMember, TeamProjectRole
from app.models.enums import ProjectRole
from app.resolvers.context import Context
from app.resolvers.loaders import get_loader, load_many, load_one
from app.resolvers.members import MemberRow, MembersPage
from app.resolvers.paging import (
    DEFAULT_PAGE,
    Order,
    Page,
    Window,
    check_window,
    paginate,
    paginate_records,
    sort_keys,
)
from app.resolvers.search import search_term
from app.services import teams as service
from app.services.expiry import not_expired_q, not_expired_sql
from app.services.project_access import EffectiveRole, Holder, effective_roles
from app.services.teams import TeamRoleSpec
from app.services.validation import check_list_size
from app.services.visibility import (
    may_see_member_now,
    reads_organization,
    reads_private,
    visible_statuses,
)


async def organization_teams(
    ctx: Context, organization_id: int, *, window: Window, search: str | None
) -> Page[Team]:
    queryset = Team.filter(organization_id=organization_id)
    term = search_term(search)
    if term:
        queryset = queryset.filter(name__icontains=term)
    return await paginate(queryset, Order(("name",)), window)


async def team_node(ctx: Context, pk: int) -> Team | None:
    """The team, if the viewer reads its organization."""
    team = await load_one(ctx, Team, pk)
    if team is None or not reads_organization(await ctx.access(team.organization_id)):
        return None
    return team


async def team_by_pk(ctx: Context, pk: int) -> Team | None:
    """A team reached from a source that names it (gone if deleted meanwhile)."""
    return await load_one(ctx, Team, pk)


# Team members are listed by name (then id), as the members list is by default.
MEMBER_ORDER = ("name",)
# The first page of each of several teams' members, by name, in one statement: row numbers
# per team (SQLite 3.25+ and PostgreSQL both have window functions).
_FIRST_PAGES_SQL = """
SELECT "team_id", "member_id" FROM (
  SELECT tm."team_id", tm."member_id",
         ROW_NUMBER() OVER (PARTITION BY tm."team_id" ORDER BY m."name", m."id") AS "rn"
  FROM "team_members" tm JOIN "members" m ON m."id" = tm."member_id"
  WHERE tm."team_id" IN ({teams}) AND m."status" IN ({statuses}) AND {not_expired}
) ranked WHERE "rn" <= ? ORDER BY "team_id", "rn"
"""
_COUNTS_SQL = """
SELECT tm."team_id", COUNT(*) AS "n"
FROM "team_members" tm JOIN "members" m ON m."id" = tm."member_id"
WHERE tm."team_id" IN ({teams}) AND m."status" IN ({statuses}) AND {not_expired}
GROUP BY tm."team_id"
"""
# (team id, rows wanted, visible statuses): one team's first page as a viewer sees it.
FirstPageKey = tuple[int, int, tuple[str, ...]]


def _sql(template: str, teams: int, statuses: int) -> str:
    return db.placeholders(
        template.format(
            teams=", ".join("?" * teams),
            statuses=", ".join("?" * statuses),
            not_expired=not_expired_sql("m"),
        )
    )


async def _first_pages(keys: list[FirstPageKey]) -> list[list[MemberRow]]:
    """Up to `size` members of each team (one statement per distinct size and statuses,
    one for the members themselves)."""
    groups: dict[tuple[int, tuple[str, ...]], list[int]] = defaultdict(list)
    for team_id, size, statuses in keys:
        groups[(size, statuses)].append(team_id)
    ids: dict[tuple[int, int, tuple[str, ...]], list[int]] = defaultdict(list)
    for (size, statuses), team_ids in groups.items():
        team_ids = list(dict.fromkeys(team_ids))
        sql = _sql(_FIRST_PAGES_SQL, len(team_ids), len(statuses))
        rows = await db.connection().execute_query_dict(sql, [*team_ids, *statuses, now(), size])
        for row in rows:
            ids[(row["team_id"], size, statuses)].append(row["member_id"])
    wanted = {pk for found in ids.values() for pk in found}
    records = await db.select_records(Member.filter(id__in=list(wanted))) if wanted else []
    members = {row.id: row for row in map(MemberRow, records)}
    return [[members[pk] for pk in ids.get(key, []) if pk in members] for key in keys]


async def _counts(keys: list[tuple[int, tuple[str, ...]]]) -> list[int]:
    groups: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for team_id, statuses in keys:
        groups[statuses].append(team_id)
    counts: dict[tuple[int, tuple[str, ...]], int] = {}
    for statuses, team_ids in groups.items():
        team_ids = list(dict.fromkeys(team_ids))
        sql = _sql(_COUNTS_SQL, len(team_ids), len(statuses))
        for row in await db.connection().execute_query_dict(sql, [*team_ids, *statuses, now()]):
            counts[(row["team_id"], statuses)] = int(row["n"])
    return [counts.get(key, 0) for key in keys]


async def team_members(ctx: Context, team: Team, *, window: Window) -> MembersPage:
    """The team's members by name, as the members list shows them to the viewer (USER and
    VIEWER see ACTIVE ones only).

    A first page (no cursor, no `last`) loads with every other team's first page of the
    request, in a fixed number of statements; other windows page the usual way.
    """
    access = await ctx.access(team.organization_id)
    statuses = tuple(sorted(s.value for s in visible_statuses(access, None)))
    privileged = reads_private(access)
    if window.after is None and window.before is None and window.last is None:
        check_window(window.first, window.last, window.offset)
        if not window.offset:
            size = DEFAULT_PAGE if window.first is None else window.first
            return MembersPage(
                await _first_page(ctx, team.pk, size, statuses),
                team.organization_id,
                privileged,
                ctx.user_id,
            )
    queryset = Member.filter(
        not_expired_q(),
        organization_id=team.organization_id,
        team_memberships__team_id=team.id,
        status__in=list(statuses),
    )
    page = await paginate_records(queryset, Order(MEMBER_ORDER), window, MemberRow)
    return MembersPage(page, team.organization_id, privileged, ctx.user_id)


async def _first_page(
    ctx: Context, team_id: int, size: int, statuses: tuple[str, ...]
) -> Page[MemberRow]:
    rows: list[MemberRow] = []
    if size:
        loader = get_loader(ctx, "Team.members.first", _first_pages)
        rows = await loader.load((team_id, size + 1, statuses))
    more = len(rows) > size
    rows = rows[:size]
    counter = get_loader(ctx, "Team.members.count", _counts)

    async def count() -> int:
        return await counter.load((team_id, statuses))

    keys = sort_keys(rows, (*MEMBER_ORDER, "id"))
    return Page(rows, keys, has_next=more, has_previous=False, count=count)


async def team_project_roles(ctx: Context, team: Team) -> list[TeamProjectRole]:
    return await load_many(ctx, TeamProjectRole, "team_id", team.pk)


async def project_by_pk(ctx: Context, pk: int) -> Project:
    project = await load_one(ctx, Project, pk)
    assert project is not None  # a team role or assignment goes with its project (cascade)
    return project


async def _teams_of(member_ids: list[int]) -> list[list[Team]]:
    grouped: dict[int, list[Team]] = defaultdict(list)
    rows = (
        await TeamMember.filter(member_id__in=member_ids)
        .select_related("team")
        .order_by("team__name", "team_id")
    )
    for row in rows:
        grouped[row.member_id].append(row.team)
    return [grouped.get(pk, []) for pk in member_ids]


async def member_teams(ctx: Context, member: Member) -> list[Team]:
    """The member's teams, by name; empty unless the viewer may see the member."""
    if not may_see_member_now(await ctx.access(member.organization_id), member):
        return []
    return await get_loader(ctx, "Member.teams", _teams_of).load(member.pk)


async def _effective(holders: list[Holder]) -> list[list[EffectiveRole]]:
    found = await effective_roles(holders)
    return [list(result.values()) for result in found]


async def member_effective_roles(ctx: Context, member: Member) -> list[EffectiveRole]:
    """The member's effective role on each project where they hold one (none while not
    ACTIVE); empty unless the viewer may see the member."""
    if not may_see_member_now(await ctx.access(member.organization_id), member):
        return []
    holder = Holder.of_member(member)
    if holder is None:
        return []
    return await get_loader(ctx, "Member.effectiveProjectRoles", _effective).load(holder)


# Changes: the permission class found the organization or team and the viewer's access.


async def create_team(ctx: Context, name: str, description: str | None) -> Team:
    organization_id, actor = ctx.authz_actor("Organization", "organizationId")
    return await service.create_team(actor, organization_id, name, description)


async def update_team(ctx: Context, changes: dict[str, Any]) -> Team:
    team_id, actor = ctx.authz_actor("Team", "teamId")
    return await service.update_team(actor, team_id, changes)


async def delete_team(ctx: Context) -> None:
    team_id, actor = ctx.authz_actor("Team", "teamId")
    await service.delete_team(actor, team_id)


async def add_team_members(ctx: Context, member_ids: list[str]) -> Team:
    team_id, actor = ctx.authz_actor("Team", "teamId")
    check_list_size(member_ids, "memberIds", service.MAX_MEMBERS)
    ids = [pk_of(member_id, "Member") for member_id in member_ids]
    return await service.add_team_members(actor, team_id, ids)


async def remove_team_members(ctx: Context, member_ids: list[str]) -> Team:
    team_id, actor = ctx.authz_actor("Team", "teamId")
    check_list_size(member_ids, "memberIds", service.MAX_MEMBERS)
    ids = [pk_of(member_id, "Member") for member_id in member_ids]
    return await service.remove_team_members(actor, team_id, ids)


async def set_team_project_roles(ctx: Context, roles: list[tuple[str, ProjectRole]]) -> Team:
    """`roles`: (project global id, role) pairs; unknown ids go to the service as None."""
    team_id, actor = ctx.authz_actor("Team", "teamId")
    check_list_size(roles, "roles", service.MAX_ROLES)
    specs: list[TeamRoleSpec | None] = []
    for project_id, role in roles:
        pk = pk_of(project_id, "Project")
        specs.append(TeamRoleSpec(pk, role) if pk else None)
    return await service.set_team_project_roles(actor, team_id, specs)
