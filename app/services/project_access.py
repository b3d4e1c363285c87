"""A member's effective role on a project: the one rule, for permission checks and for
`Member.effectiveProjectRoles` alike.

The effective role is the highest of its sources:

- DIRECT: the member's own project assignment, unless it has expired (`expires_at` at or
  before the clock's now: refused from that instant, whether or not a sweeper ran);
- TEAM: the project role of each team the member belongs to;
- ORGANIZATION_ROLE: an organization OWNER or ADMIN holds project ADMIN on every project
  of the organization.

Only an ACTIVE member (whose membership has not expired) holds any: a BLOCKED member keeps
their assignments and teams, inert, and a REMOVED one has left every team. The role
counted for ORGANIZATION_ROLE is the one in force now (a temporary grant past
`role_expires_at` counts as `role_reverts_to`).

`effective_roles` answers for many holders in a fixed number of queries (one for
assignments, one for team memberships, one for team roles, and one for the organization's
projects when an OWNER/ADMIN is among them and no projects are named), so a page of
members costs the same whatever its size.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from app.clock import now
from app.models import Member, Project, ProjectAssignment, TeamMember, TeamProjectRole
from app.models.enums import MemberStatus, OrganizationRole, ProjectRole
from app.services.audit import Actor
from app.services.expiry import assignment_live_q, role_now, status_now

# Organization roles that hold project ADMIN on every project of their organization.
ORGANIZATION_PROJECT_ROLE: dict[OrganizationRole, ProjectRole] = {
    OrganizationRole.OWNER: ProjectRole.ADMIN,
    OrganizationRole.ADMIN: ProjectRole.ADMIN,
}


class AccessSourceKind(StrEnum):
    DIRECT = "DIRECT"
    TEAM = "TEAM"
    ORGANIZATION_ROLE = "ORGANIZATION_ROLE"


_KIND_ORDER = {AccessSourceKind.DIRECT: 0, AccessSourceKind.TEAM: 1}


@dataclass(frozen=True)
class AccessSource:
    """One reason a member holds a role on a project."""

    kind: AccessSourceKind
    role: ProjectRole
    team_id: int | None = None
    expires_at: datetime | None = None


@dataclass
class EffectiveRole:
    """A member's role on one project: the highest of `sources`."""

    project_id: int
    sources: list[AccessSource] = field(default_factory=list)

    @property
    def role(self) -> ProjectRole:
        return min((s.role for s in self.sources), key=lambda r: r.rank)


@dataclass(frozen=True)
class Holder:
    """Whose roles to compute: a member id (None for an API key) in an organization, with
    the organization role in force (None when no organization role counts)."""

    organization_id: int
    member_id: int | None
    org_role: OrganizationRole | None

    @classmethod
    def of_actor(cls, actor: Actor) -> Holder | None:
        """The actor as they stand (their access is an ACTIVE membership or a live key)."""
        if actor.access is None:
            return None
        return cls(actor.access.organization_id, actor.member_id, actor.access.role)

    @classmethod
    def of_member(cls, member: Member, moment: datetime | None = None) -> Holder | None:
        """The member, if they hold roles at all: ACTIVE and not past their expiry."""
        if status_now(member, moment) != MemberStatus.ACTIVE:
            return None
        return cls(member.organization_id, member.id, role_now(member, moment))


async def effective_roles(
    holders: Sequence[Holder | None], project_ids: Collection[int] | None = None
) -> list[dict[int, EffectiveRole]]:
    """For each holder (None: holds nothing), project id → their effective role, on the
    named projects or on every project where they hold one. Named projects must belong to
    the holders' organization: an OWNER/ADMIN's ORGANIZATION_ROLE source is given on each
    of them (and, when none are named, on every project of their organization)."""
    moment = now()
    results: list[dict[int, EffectiveRole]] = [{} for _ in holders]
    if project_ids is not None and not project_ids:
        return results
    by_member: dict[int, list[int]] = defaultdict(list)
    for index, holder in enumerate(holders):
        if holder is not None and holder.member_id is not None:
            by_member[holder.member_id].append(index)

    def add(index: int, project_id: int, source: AccessSource) -> None:
        found = results[index].get(project_id)
        if found is None:
            found = results[index][project_id] = EffectiveRole(project_id)
        found.sources.append(source)

    if by_member:
        member_ids = list(by_member)
        direct = ProjectAssignment.filter(assignment_live_q(moment), member_id__in=member_ids)
        memberships = TeamMember.filter(member_id__in=member_ids)
        if project_ids is not None:
            direct = direct.filter(project_id__in=list(project_ids))
        rows: list[Any] = await direct.order_by("id").values_list(
            "member_id", "project_id", "role", "expires_at"
        )
        for member_id, project_id, role, expires_at in rows:
            for index in by_member[member_id]:
                add(
                    index,
                    project_id,
                    AccessSource(AccessSourceKind.DIRECT, ProjectRole(role), None, expires_at),
                )
        teams_of: dict[int, list[int]] = defaultdict(list)
        pairs: list[Any] = await memberships.values_list("member_id", "team_id")
        for member_id, team_id in pairs:
            teams_of[team_id].append(member_id)
        if teams_of:
            team_roles = TeamProjectRole.filter(team_id__in=list(teams_of))
            if project_ids is not None:
                team_roles = team_roles.filter(project_id__in=list(project_ids))
            granted: list[Any] = await team_roles.order_by("team_id", "project_id").values_list(
                "team_id", "project_id", "role"
            )
            for team_id, project_id, role in granted:
                for member_id in teams_of[team_id]:
                    for index in by_member[member_id]:
                        add(
                            index,
                            project_id,
                            AccessSource(AccessSourceKind.TEAM, ProjectRole(role), team_id),
                        )

    org_wide = {
        index: ORGANIZATION_PROJECT_ROLE[holder.org_role]
        for index, holder in enumerate(holders)
        if holder is not None and holder.org_role in ORGANIZATION_PROJECT_ROLE
    }
    if org_wide:
        if project_ids is not None:
            every: dict[int, list[int]] = {
                holders[i].organization_id: list(project_ids)  # type: ignore[union-attr]
                for i in org_wide
            }
        else:
            organizations = {holders[i].organization_id for i in org_wide}  # type: ignore[union-attr]
            every = defaultdict(list)
            listed: list[Any] = await (
                Project.filter(organization_id__in=list(organizations))
                .order_by("id")
                .values_list("organization_id", "id")
            )
            for organization_id, project_id in listed:
                every[organization_id].append(project_id)
        for index, role in org_wide.items():
            holder = holders[index]
            assert holder is not None
            for project_id in every.get(holder.organization_id, []):
                add(index, project_id, AccessSource(AccessSourceKind.ORGANIZATION_ROLE, role))

    for result in results:
        for effective in result.values():
            effective.sources.sort(key=lambda s: (_KIND_ORDER.get(s.kind, 2), s.team_id or 0))
    return [dict(sorted(result.items())) for result in results]


async def roles_on(actor: Actor, project_ids: Collection[int]) -> dict[int, ProjectRole]:
    """The actor's effective role on each of these projects where they hold one."""
    (found,) = await effective_roles([Holder.of_actor(actor)], project_ids)
    return {project_id: effective.role for project_id, effective in found.items()}
