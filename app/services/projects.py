"""Projects and per-project roles.

Who may manage a project (its settings and its assignments): the
organization's OWNER and ADMINs (Permission.MANAGE_ORGANIZATION) and the members
whose effective role on that project (`project_access`: direct assignment or
team) is OWNER or ADMIN, for that project only. Nobody grants or
changes a project role above their own on that project (`can_grant_project_role`),
so a project ADMIN never grants, changes or removes the project OWNER role.
Deleting a project takes an organization OWNER/ADMIN or the project's OWNER.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tortoise.exceptions import IntegrityError

from app.auth.roles import (
    PROJECT_MANAGER_ROLES,
    Permission,
    can_grant_project_role,
    has_permission,
)
from app.clock import now
from app.errors import DomainError, ErrorCode, not_found
from app.models import Member, Project, ProjectAssignment
from app.models.enums import MemberStatus, OrganizationRole, ProjectRole
from app.services import events, project_access
from app.services.audit import Actor
from app.services.expiry import (
    SYSTEM_ACTOR,
    UNSET,
    Unset,
    assignment_live,
    check_deadline,
    status_now,
)
from app.services.slugs import free_slug, slugify
from app.services.tx import atomic, locked_for, locked_row_for
from app.services.validation import check_list_size, clean_name, clean_slug

# memberIds × assignments in one assignProjects call.
MAX_PAIRS = 1000

Field = str | list[str]


def _forbidden(message: str, field: Field) -> DomainError:
    return DomainError(ErrorCode.FORBIDDEN_ROLE, message, field)


@dataclass
class Authority:
    """What the actor may do to projects: their organization role and project roles."""

    org_role: OrganizationRole | None
    project_roles: dict[int, ProjectRole] = field(default_factory=dict)

    @property
    def org_manager(self) -> bool:
        return has_permission(self.org_role, Permission.MANAGE_ORGANIZATION)

    def check_manages(self, project_id: int, field: Field) -> None:
        own = self.project_roles.get(project_id)
        if not (self.org_manager or own in PROJECT_MANAGER_ROLES):
            raise _forbidden("Only this project's OWNER or ADMIN manages it.", field)

    def check_grant(self, project_id: int, role: ProjectRole | str, field: Field) -> None:
        """May the actor grant `role` on the project, or change/remove an assignment with it?"""
        self.check_manages(project_id, field)
        if not can_grant_project_role(self.org_role, self.project_roles.get(project_id), role):
            raise _forbidden(
                f"You cannot grant or change the project role {ProjectRole(role).value}.", field
            )

    def check_deletes(self, project_id: int, field: Field) -> None:
        if not (self.org_manager or self.project_roles.get(project_id) == ProjectRole.OWNER):
            raise _forbidden("Only this project's OWNER deletes it.", field)


async def authority(actor: Actor, project_ids: list[int]) -> Authority:
    """The actor's standing on these projects (of the actor's organization): their
    organization role and their effective role on each (app/services/project_access.py:
    direct, team and organization-role sources, expired assignments not counted)."""
    org_role = actor.access.role if actor.access else None
    return Authority(org_role, await project_access.roles_on(actor, project_ids))


def _project_slug(name: str) -> str:
    slug = slugify(name)
    return "project" if slug == "org" and "org" not in name.lower() else slug


def _slug_taken() -> DomainError:
    return DomainError(ErrorCode.SLUG_TAKEN, "Another project here has this slug.", "slug")


async def _locked_project(actor: Actor, project_id: int) -> tuple[Project, Actor]:
    """The project, with its organization locked for this transaction, and the actor as
    they stand now (any member; `authority` decides what they may do)."""
    _, project, actor = await locked_row_for(
        actor, Permission.READ_ORGANIZATION, Project, project_id, "Project", "projectId"
    )
    return project, actor


async def create_project(
    actor: Actor,
    organization_id: int,
    name: str,
    slug: str | None = None,
    is_default: bool = False,
) -> Project:
    """The creator (a member, not an API key) becomes the project's OWNER."""
    name = clean_name(name)
    explicit = clean_slug(slug) if slug is not None else None
    try:
        async with atomic():
            organization, actor = await locked_for(
                actor, organization_id, Permission.CREATE_PROJECTS
            )
            if explicit is not None and await Project.exists(
                organization_id=organization.id, slug=explicit
            ):
                raise _slug_taken()
            chosen = explicit or await free_slug(
                Project, _project_slug(name), organization_id=organization.id
            )
            project = await Project.create(
                organization_id=organization.id,
                name=name,
                slug=chosen,
                is_default=is_default,
                created_by_id=actor.member_id,
            )
            await events.project_created(actor, project)
            if actor.member_id is not None:
                assignment = await ProjectAssignment.create(
                    project_id=project.id, member_id=actor.member_id, role=ProjectRole.OWNER
                )
                await events.project_assignment_set(actor, project, assignment)
    except IntegrityError as exc:  # a concurrent project took the slug
        raise _slug_taken() from exc
    return project


async def update_project(actor: Actor, project_id: int, changes: dict[str, Any]) -> Project:
    """`changes` holds the given keys among name, slug, is_default."""
    cleaned: dict[str, Any] = {}
    if "name" in changes:
        cleaned["name"] = clean_name(changes["name"] or "", "name")
    if "slug" in changes:
        cleaned["slug"] = clean_slug(changes["slug"] or "", "slug")
    if "is_default" in changes:
        if changes["is_default"] is None:
            raise DomainError(ErrorCode.INVALID_INPUT, "Give true or false.", "isDefault")
        cleaned["is_default"] = bool(changes["is_default"])
    try:
        async with atomic():
            project, actor = await _locked_project(actor, project_id)
            (await authority(actor, [project.id])).check_manages(project.id, "projectId")
            changed = {k: v for k, v in cleaned.items() if getattr(project, k) != v}
            if not changed:
                return project
            if "slug" in changed and await Project.exists(
                organization_id=project.organization_id, slug=changed["slug"]
            ):
                raise _slug_taken()
            before = {k: getattr(project, k) for k in changed}
            for key, value in changed.items():
                setattr(project, key, value)
            await project.save(update_fields=list(changed))
            await events.project_updated(actor, project, before, changed)
    except IntegrityError as exc:
        raise _slug_taken() from exc
    return project


async def delete_project(actor: Actor, project_id: int) -> None:
    """Its assignments (and invitations' project assignments) go with it."""
    async with atomic():
        project, actor = await _locked_project(actor, project_id)
        (await authority(actor, [project.id])).check_deletes(project.id, "projectId")
        dropped = await ProjectAssignment.filter(project_id=project.id).count()
        await events.project_deleted(actor, project, dropped)
        await project.delete()


# Assignments -------------------------------------------------------------------


@dataclass(frozen=True)
class AssignmentSpec:
    project_id: int
    role: ProjectRole


def check_assignable(member: Member, field: Field) -> None:
    """Only ACTIVE members get new project roles (one past `expires_at` is REMOVED)."""
    status = status_now(member)
    if status == MemberStatus.REMOVED:
        raise DomainError(
            ErrorCode.MEMBER_REMOVED, "Removed members cannot be assigned to projects.", field
        )
    if status != MemberStatus.ACTIVE:
        raise DomainError(
            ErrorCode.MEMBER_INACTIVE,
            "Blocked members cannot be assigned to projects; unblock them first.",
            field,
        )


async def _members_of(organization_id: int, member_ids: list[int | None]) -> list[Member]:
    found = {
        m.id: m
        for m in await Member.filter(
            organization_id=organization_id, id__in=[i for i in member_ids if i is not None]
        )
    }
    members = []
    for index, member_id in enumerate(member_ids):
        member = found.get(member_id) if member_id is not None else None
        if member is None:
            raise DomainError(
                ErrorCode.NOT_FOUND,
                "No member with this id in this organization.",
                ["memberIds", str(index)],
            )
        check_assignable(member, ["memberIds", str(index)])
        members.append(member)
    return members


async def _projects_of(organization_id: int, specs: list[AssignmentSpec | None]) -> list[Project]:
    wanted = [s.project_id for s in specs if s is not None]
    found = {p.id: p for p in await Project.filter(organization_id=organization_id, id__in=wanted)}
    projects, seen = [], set()
    for index, spec in enumerate(specs):
        project = found.get(spec.project_id) if spec is not None else None
        where = ["assignments", str(index), "projectId"]
        if project is None:
            raise DomainError(ErrorCode.NOT_FOUND, "No project with this id here.", where)
        if project.id in seen:
            raise DomainError(ErrorCode.INVALID_INPUT, "Each project at most once.", where)
        seen.add(project.id)
        projects.append(project)
    return projects


async def assign_projects(
    actor: Actor,
    organization_id: int,
    member_ids: list[int | None],
    specs: list[AssignmentSpec | None],
    dry_run: bool = False,
    expires_at: datetime | None = None,
) -> list[ProjectAssignment]:
    """Set each listed project's role for each listed member (None = an unknown id).

    With `expires_at` every pair set here ends at that instant; without it, every pair
    set here is lasting (an end date an assignment had is cleared).

    Returns one assignment per (member, project) pair, as it is set or, on a dry
    run, as it would be set: the same checks run and nothing is written (pairs
    not assigned yet come back unsaved, with no primary key).
    """
    check_list_size(member_ids, "memberIds")
    check_list_size(specs, "assignments")
    if not member_ids or not specs:
        raise DomainError(
            ErrorCode.INVALID_INPUT,
            "Name at least one member and one project.",
            "memberIds" if not member_ids else "assignments",
        )
    deadline = None if expires_at is None else check_deadline(expires_at, "expiresAt")
    member_ids = list(dict.fromkeys(member_ids))
    if len(member_ids) * len(specs) > MAX_PAIRS:
        raise DomainError(
            ErrorCode.INVALID_INPUT, f"At most {MAX_PAIRS} member-project pairs.", "memberIds"
        )
    async with atomic():
        organization, actor = await locked_for(actor, organization_id, Permission.READ_ORGANIZATION)
        members = await _members_of(organization.id, member_ids)
        projects = await _projects_of(organization.id, specs)
        power = await authority(actor, [p.id for p in projects])
        existing = {
            (a.project_id, a.member_id): a
            for a in await ProjectAssignment.filter(
                project_id__in=[p.id for p in projects], member_id__in=[m.id for m in members]
            )
        }
        # An expired row not swept yet is gone: it is written down as expired first.
        moment = now()
        by_id = {p.id: p for p in projects}
        for key, stale in list(existing.items()):
            if not assignment_live(stale, moment):
                del existing[key]
                if not dry_run:
                    await events.project_assignment_expired(
                        SYSTEM_ACTOR, by_id[stale.project_id], stale
                    )
                    await stale.delete()
        # (project, the row as it will be, its role before: None = new, "" = unchanged,
        # the end date before when only that changes)
        plan: list[tuple[Project, ProjectAssignment, str | None]] = []
        expiry_changes: list[tuple[Project, ProjectAssignment, datetime | None]] = []
        for member in members:
            for index, (project, spec) in enumerate(zip(projects, specs, strict=True)):
                assert spec is not None  # _projects_of refused unknown ones
                where = ["assignments", str(index), "role"]
                power.check_grant(project.id, spec.role, where)
                row = existing.get((project.id, member.id))
                if row is None:
                    row = ProjectAssignment(
                        project_id=project.id,
                        member_id=member.id,
                        role=spec.role,
                        created_at=moment,
                        expires_at=deadline,
                    )
                    plan.append((project, row, None))
                    continue
                if row.expires_at != deadline:
                    power.check_grant(project.id, row.role, where)
                    expiry_changes.append((project, row, row.expires_at))
                    row.expires_at = deadline
                if row.role != spec.role:
                    power.check_grant(project.id, row.role, where)
                    before = ProjectRole(row.role).value
                    row.role = spec.role
                    plan.append((project, row, before))
                else:
                    plan.append((project, row, ""))
        if not dry_run:
            for project, row, role_before in plan:
                if role_before is None:
                    await row.save()
                    await events.project_assignment_set(actor, project, row)
                elif role_before:
                    await row.save(update_fields=["role", "expires_at"])
                    await events.project_assignment_changed(actor, project, row, role_before)
            for project, row, expiry_before in expiry_changes:
                await row.save(update_fields=["expires_at"])
                await events.project_assignment_expiry_set(actor, project, row, expiry_before)
    return [row for _, row, _ in plan]


async def _locked_assignment(
    actor: Actor, assignment_id: int
) -> tuple[Project, ProjectAssignment, Member, Actor]:
    """The assignment, its project and member, with the organization locked, and the
    actor as they stand now."""
    _, assignment, actor = await locked_row_for(
        actor,
        Permission.READ_ORGANIZATION,
        ProjectAssignment,
        assignment_id,
        "Project assignment",
        "assignmentId",
    )
    if not assignment_live(assignment):  # gone from its expiry on, as once swept
        raise not_found("Project assignment", "assignmentId")
    project = await Project.get(id=assignment.project_id)
    return project, assignment, await Member.get(id=assignment.member_id), actor


async def update_assignment(
    actor: Actor,
    assignment_id: int,
    role: ProjectRole | None,
    expires_at: datetime | Unset | None = UNSET,
) -> ProjectAssignment:
    """Change the role (None: keep it) and/or the end date (UNSET: keep it; None: lasting)."""
    deadline: datetime | Unset | None = expires_at
    if isinstance(expires_at, datetime):
        deadline = check_deadline(expires_at, "expiresAt")
    async with atomic():
        project, assignment, member, actor = await _locked_assignment(actor, assignment_id)
        power = await authority(actor, [project.id])
        power.check_grant(project.id, assignment.role, "assignmentId")
        if role is not None:
            power.check_grant(project.id, role, "role")
        check_assignable(member, "assignmentId")
        new_role = assignment.role if role is None else role
        role_changes = assignment.role != new_role
        expiry_changes = not isinstance(deadline, Unset) and assignment.expires_at != deadline
        if role_changes:
            before = ProjectRole(assignment.role).value
            assignment.role = new_role
            await assignment.save(update_fields=["role"])
            await events.project_assignment_changed(actor, project, assignment, before)
        if expiry_changes:
            assert not isinstance(deadline, Unset)
            expiry_before = assignment.expires_at
            assignment.expires_at = deadline
            await assignment.save(update_fields=["expires_at"])
            await events.project_assignment_expiry_set(actor, project, assignment, expiry_before)
    return assignment


async def remove_assignment(actor: Actor, assignment_id: int) -> None:
    """Allowed for blocked members too: their inert assignments can be cleaned up."""
    async with atomic():
        project, assignment, _, actor = await _locked_assignment(actor, assignment_id)
        (await authority(actor, [project.id])).check_grant(
            project.id, assignment.role, "assignmentId"
        )
        await events.project_assignment_removed(actor, project, assignment)
        await assignment.delete()
