"""The one role table: what each organization role may do (API.md, "Roles").

Permission classes in app/schema/permissions.py read it for every guarded
field; services call `can_manage_role` for the rules that depend on the
target's role too. Tests walk the table cell by cell.
"""

from __future__ import annotations

from enum import StrEnum

from app.models.enums import OrganizationRole, ProjectRole


class Permission(StrEnum):
    # Read the organization, its active members' names, their projects.
    READ_ORGANIZATION = "read_organization"
    # Read members' emails, invitations, seat usage, audit events, API keys.
    READ_PRIVATE = "read_private"
    # Invite / manage / block / remove members with role USER or VIEWER.
    MANAGE_MEMBERS = "manage_members"
    # Grant ADMIN, or manage / block / remove an ADMIN.
    MANAGE_ADMINS = "manage_admins"
    CREATE_PROJECTS = "create_projects"
    # Organization settings, domains, API keys; every project's assignments.
    MANAGE_ORGANIZATION = "manage_organization"
    # Transfer ownership, delete the organization.
    OWN_ORGANIZATION = "own_organization"
    # Create, change and delete teams, their members and their project roles.
    MANAGE_TEAMS = "manage_teams"


_VIEWER = {Permission.READ_ORGANIZATION}
_USER = _VIEWER | {Permission.CREATE_PROJECTS}
_ADMIN = _USER | {
    Permission.READ_PRIVATE,
    Permission.MANAGE_MEMBERS,
    Permission.MANAGE_ORGANIZATION,
    Permission.MANAGE_TEAMS,
}
_OWNER = _ADMIN | {Permission.MANAGE_ADMINS, Permission.OWN_ORGANIZATION}

ROLE_PERMISSIONS: dict[OrganizationRole, frozenset[Permission]] = {
    OrganizationRole.OWNER: frozenset(_OWNER),
    OrganizationRole.ADMIN: frozenset(_ADMIN),
    OrganizationRole.USER: frozenset(_USER),
    OrganizationRole.VIEWER: frozenset(_VIEWER),
}

# Roles an organization role may grant to or manage in others.
_MANAGEABLE: dict[OrganizationRole, frozenset[OrganizationRole]] = {
    OrganizationRole.OWNER: frozenset(
        {OrganizationRole.ADMIN, OrganizationRole.USER, OrganizationRole.VIEWER}
    ),
    OrganizationRole.ADMIN: frozenset({OrganizationRole.USER, OrganizationRole.VIEWER}),
    OrganizationRole.USER: frozenset(),
    OrganizationRole.VIEWER: frozenset(),
}

# Project roles that let a member manage that project's assignments.
PROJECT_MANAGER_ROLES = frozenset({ProjectRole.OWNER, ProjectRole.ADMIN})


def has_permission(role: OrganizationRole | str | None, permission: Permission) -> bool:
    return role is not None and permission in ROLE_PERMISSIONS[OrganizationRole(role)]


def can_manage_role(actor: OrganizationRole | str, role: OrganizationRole | str) -> bool:
    """May `actor` grant `role`, or change / block / remove a member who has it?"""
    return OrganizationRole(role) in _MANAGEABLE[OrganizationRole(actor)]


def can_grant_project_role(
    actor_org_role: OrganizationRole | str | None,
    actor_project_role: ProjectRole | str | None,
    role: ProjectRole | str,
) -> bool:
    """Organization OWNER/ADMIN grant any project role; a project OWNER grants any;
    a project ADMIN grants ADMIN and below, never OWNER."""
    if has_permission(actor_org_role, Permission.MANAGE_ORGANIZATION):
        return True
    if actor_project_role is None or ProjectRole(actor_project_role) not in PROJECT_MANAGER_ROLES:
        return False
    return ProjectRole(role).rank >= ProjectRole(actor_project_role).rank
