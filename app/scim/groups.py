"""/scim/v2/Groups: Roster teams managed by SCIM."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from scim2_models import Group, ResponseParameters

from app.ids import to_global_id
from app.models import Member, ScimConnection, Team
from app.scim.http import read_json, scim_handler, scim_response
from app.scim.listing import (
    ListQuery,
    base,
    created,
    dump,
    list_query,
    list_response,
    response_parameters,
    search_query,
)
from app.services import scim_groups as service
from app.services.audit import Actor


def group_resource(team: Team, members: list[Member] | None) -> Group:
    gid = to_global_id("Team", team.id)
    payload: dict[str, Any] = {
        "id": gid,
        "displayName": team.name,
        "meta": {
            "resourceType": "Group",
            "created": team.created_at.isoformat(),
            "location": f"{base()}/Groups/{gid}",
        },
    }
    if team.external_id is not None:
        payload["externalId"] = team.external_id
    if members:
        payload["members"] = [
            {
                "value": to_global_id("Member", member.id),
                "$ref": f"{base()}/Users/{to_global_id('Member', member.id)}",
                "type": "User",
            }
            for member in members
        ]
    return Group.model_validate(payload)


def _wants_members(parameters: ResponseParameters[Any] | None) -> bool:
    """Members are loaded only when the answer carries them."""
    if parameters is None:
        return True
    excluded = {str(a).lower() for a in parameters.excluded_attributes or []}
    included = {str(a).lower() for a in parameters.attributes or []}
    if any(a.endswith("members") or ":members" in a for a in excluded):
        return False
    return not included or any("members" in a for a in included)


async def _one(team: Team, parameters: ResponseParameters[Any] | None = None) -> Group:
    members = (await service.members_of([team.id]))[team.id] if _wants_members(parameters) else None
    return group_resource(team, members)


async def _list(connection: ScimConnection, query: ListQuery) -> web.Response:
    total, teams = await service.list_groups(
        connection, query.filter_text, query.start_index, query.count
    )
    wanted = _wants_members(query.parameters)
    members = await service.members_of([t.id for t in teams]) if wanted else {}
    resources = [group_resource(t, members.get(t.id)) for t in teams]
    return list_response(Group, total, query, resources)


@scim_handler
async def list_groups(
    request: web.Request, connection: ScimConnection, actor: Actor
) -> web.StreamResponse:
    return await _list(connection, list_query(request, service.MAX_RESULTS))


@scim_handler
async def search_groups(
    request: web.Request, connection: ScimConnection, actor: Actor
) -> web.StreamResponse:
    return await _list(connection, await search_query(request, service.MAX_RESULTS))


@scim_handler
async def get_group(
    request: web.Request, connection: ScimConnection, actor: Actor
) -> web.StreamResponse:
    team = await service.get_team(connection, request.match_info["id"])
    parameters = response_parameters(request)
    return scim_response(dump(await _one(team, parameters), parameters))


@scim_handler
async def create_group(
    request: web.Request, connection: ScimConnection, actor: Actor
) -> web.StreamResponse:
    team = await service.create_group(actor, connection, await read_json(request))
    return created(await _one(team))


@scim_handler
async def replace_group(
    request: web.Request, connection: ScimConnection, actor: Actor
) -> web.StreamResponse:
    body = await read_json(request)
    team = await service.replace_group(actor, connection, request.match_info["id"], body)
    return scim_response(dump(await _one(team)))


@scim_handler
async def patch_group(
    request: web.Request, connection: ScimConnection, actor: Actor
) -> web.StreamResponse:
    body = await read_json(request)
    team = await service.patch_group(actor, connection, request.match_info["id"], body)
    parameters = response_parameters(request)
    return scim_response(dump(await _one(team, parameters), parameters))


@scim_handler
async def delete_group(
    request: web.Request, connection: ScimConnection, actor: Actor
) -> web.StreamResponse:
    await service.delete_group(actor, connection, request.match_info["id"])
    return web.Response(status=204)
