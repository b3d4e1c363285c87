"""Team changes: create, update, delete; members: add, remove; project roles: set."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry

from app.auth.roles import Permission
from app.models.enums import ProjectRole
from app.resolvers import teams as resolve
from app.schema.context import Info
from app.schema.errors import INPUT, UserError, errors_field, mutation, object_field, ok_field
from app.schema.permissions import OrgInput
from app.schema.teams.types import TeamType


@strawberry.input(description="A new team.")
class CreateTeamInput:
    organization_id: strawberry.ID = strawberry.field(description="The organization.")
    name: str = strawberry.field(
        description="1 to 200 characters after trimming; the slug is made from it."
    )
    description: str | None = strawberry.field(
        default=None, description="Up to 1000 characters; null or blank for none."
    )


@strawberry.input(description="Changes to a team; omitted fields stay as they are.")
class UpdateTeamInput:
    team_id: strawberry.ID = strawberry.field(description="The team.")
    name: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="1 to 200 characters after trimming; a new name gives a new slug.",
    )
    description: str | None = strawberry.field(
        default=strawberry.UNSET, description="Up to 1000 characters; null or blank clears it."
    )


@strawberry.input(description="The team to delete.")
class DeleteTeamInput:
    team_id: strawberry.ID = strawberry.field(description="The team.")


@strawberry.input(description="Members to add to a team.")
class AddTeamMembersInput:
    team_id: strawberry.ID = strawberry.field(description="The team.")
    member_ids: list[strawberry.ID] = strawberry.field(
        description="1 to 100 members of the team's organization (NOT_FOUND otherwise), not "
        "REMOVED (MEMBER_REMOVED); those already on the team are skipped."
    )


@strawberry.input(description="Members to take off a team.")
class RemoveTeamMembersInput:
    team_id: strawberry.ID = strawberry.field(description="The team.")
    member_ids: list[strawberry.ID] = strawberry.field(
        description="1 to 100 members of the team's organization (NOT_FOUND otherwise); those "
        "not on the team are skipped."
    )


@strawberry.input(description="A project and the role a team's members get on it.")
class TeamProjectRoleInput:
    project_id: strawberry.ID = strawberry.field(
        description="A project of the team's organization (NOT_FOUND otherwise)."
    )
    role: ProjectRole = strawberry.field(description="The role on that project.")


@strawberry.input(description="A team's project roles, replacing all it has.")
class SetTeamProjectRolesInput:
    team_id: strawberry.ID = strawberry.field(description="The team.")
    roles: list[TeamProjectRoleInput] = strawberry.field(
        description="At most 100, each project at most once (INVALID_INPUT); empty removes "
        "them all."
    )


@strawberry.type(description="The result of a change to a team.")
class TeamPayload:
    errors: list[UserError] = errors_field()
    team: TeamType | None = object_field("The team as it is now.")


@strawberry.type(description="The result of `deleteTeam`.")
class DeleteTeamPayload:
    errors: list[UserError] = errors_field()
    ok: bool | None = ok_field()


def _team_manager() -> OrgInput:
    return OrgInput(Permission.MANAGE_TEAMS, "Team", "team_id")


_SCIM = " A team or member an identity provider manages (`managedBy: SCIM`) answers SCIM_MANAGED."


@strawberry.type
class Mutation:
    @mutation(
        "Create a team. OWNER and ADMIN (FORBIDDEN otherwise). Codes: NOT_FOUND, INVALID_INPUT.",
        OrgInput(Permission.MANAGE_TEAMS, "Organization", "organization_id"),
    )
    async def create_team(
        self, info: Info, input: Annotated[CreateTeamInput, INPUT]
    ) -> TeamPayload:
        team = await resolve.create_team(info.context, input.name, input.description)
        return TeamPayload(team=TeamType.from_model(team))

    @mutation(
        "Rename a team or change its description. OWNER and ADMIN. Codes: NOT_FOUND, "
        "INVALID_INPUT, SCIM_MANAGED." + _SCIM,
        _team_manager(),
    )
    async def update_team(
        self, info: Info, input: Annotated[UpdateTeamInput, INPUT]
    ) -> TeamPayload:
        changes: dict[str, Any] = {
            key: value
            for key, value in (("name", input.name), ("description", input.description))
            if value is not strawberry.UNSET
        }
        team = await resolve.update_team(info.context, changes)
        return TeamPayload(team=TeamType.from_model(team))

    @mutation(
        "Delete a team; its members lose the project roles it gave them. OWNER and ADMIN. "
        "Codes: NOT_FOUND, SCIM_MANAGED." + _SCIM,
        _team_manager(),
    )
    async def delete_team(
        self, info: Info, input: Annotated[DeleteTeamInput, INPUT]
    ) -> DeleteTeamPayload:
        await resolve.delete_team(info.context)
        return DeleteTeamPayload(ok=True)

    @mutation(
        "Add members to a team (idempotent). OWNER and ADMIN. Codes: NOT_FOUND, "
        "INVALID_INPUT, MEMBER_REMOVED, SCIM_MANAGED." + _SCIM,
        _team_manager(),
    )
    async def add_team_members(
        self, info: Info, input: Annotated[AddTeamMembersInput, INPUT]
    ) -> TeamPayload:
        team = await resolve.add_team_members(info.context, list(input.member_ids))
        return TeamPayload(team=TeamType.from_model(team))

    @mutation(
        "Take members off a team (idempotent). OWNER and ADMIN. Codes: NOT_FOUND, "
        "INVALID_INPUT, SCIM_MANAGED." + _SCIM,
        _team_manager(),
    )
    async def remove_team_members(
        self, info: Info, input: Annotated[RemoveTeamMembersInput, INPUT]
    ) -> TeamPayload:
        team = await resolve.remove_team_members(info.context, list(input.member_ids))
        return TeamPayload(team=TeamType.from_model(team))

    @mutation(
        "Replace a team's project roles; its members hold them (the highest of these, their "
        "own assignment and their organization role counts). OWNER and ADMIN; allowed on "
        "SCIM-managed teams too (project roles are Roster's). Codes: NOT_FOUND, INVALID_INPUT.",
        _team_manager(),
    )
    async def set_team_project_roles(
        self, info: Info, input: Annotated[SetTeamProjectRolesInput, INPUT]
    ) -> TeamPayload:
        team = await resolve.set_team_project_roles(
            info.context, [(item.project_id, item.role) for item in input.roles]
        )
        return TeamPayload(team=TeamType.from_model(team))
