"""/scim/v2/Users: list (filter, startIndex, count), read, create, replace, patch, delete."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from scim2_models import User

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
from app.services import scim_users as service
from app.services.audit import Actor


def user_resource(member: Member, groups: list[Team]) -> User[Any]:
    gid = to_global_id("Member", member.id)
    state = service.state_of(member)
    payload: dict[str, Any] = {
        "id": gid,
        "userName": state["userName"],
        "active": state["active"],
        "meta": {
            "resourceType": "User",
            "created": member.joined_at.isoformat(),
            "location": f"{base()}/Users/{gid}",
        },
    }
    for key in ("externalId", *service.PROFILE_KEYS):
        if state.get(key) is not None:
            payload[key] = state[key]
    if groups:
        payload["groups"] = [
            {
                "value": to_global_id("Team", team.id),
                "$ref": f"{base()}/Groups/{to_global_id('Team', team.id)}",
                "display": team.name,
                "type": "direct",
            }
            for team in groups
        ]
    return User.model_validate(payload)


async def _one(connection: ScimConnection, member: Member) -> User[Any]:
    groups = await service.groups_of(connection, [member.id])
    return user_resource(member, groups[member.id])


async def _list(connection: ScimConnection, query: ListQuery) -> web.Response:
    total, members = await service.list_users(
        connection, query.filter_text, query.start_index, query.count
    )
    groups = await service.groups_of(connection, [m.id for m in members])
    resources = [user_resource(m, groups[m.id]) for m in members]
    return list_response(User[Any], total, query, resources)


@scim_handler
async def list_users(
    request: web.Request, connection: ScimConnection, actor: Actor
) -> web.StreamResponse:
    return await _list(connection, list_query(request, service.MAX_RESULTS))


@scim_handler
async def search_users(
    request: web.Request, connection: ScimConnection, actor: Actor
) -> web.StreamResponse:
    return await _list(connection, await search_query(request, service.MAX_RESULTS))


@scim_handler
async def get_user(
    request: web.Request, connection: ScimConnection, actor: Actor
) -> web.StreamResponse:
    member = await service.get_member(connection, request.match_info["id"])
    return scim_response(dump(await _one(connection, member), response_parameters(request)))


@scim_handler
async def create_user(
    request: web.Request, connection: ScimConnection, actor: Actor
) -> web.StreamResponse:
    member = await service.create_user(actor, connection, await read_json(request))
    return created(await _one(connection, member))


@scim_handler
async def replace_user(
    request: web.Request, connection: ScimConnection, actor: Actor
) -> web.StreamResponse:
    body = await read_json(request)
    member = await service.replace_user(actor, connection, request.match_info["id"], body)
    return scim_response(dump(await _one(connection, member)))


@scim_handler
async def patch_user(
    request: web.Request, connection: ScimConnection, actor: Actor
) -> web.StreamResponse:
    body = await read_json(request)
    member = await service.patch_user(actor, connection, request.match_info["id"], body)
    return scim_response(dump(await _one(connection, member), response_parameters(request)))


@scim_handler
async def delete_user(
    request: web.Request, connection: ScimConnection, actor: Actor
) -> web.StreamResponse:
    await service.delete_user(actor, connection, request.match_info["id"])
    return web.Response(status=204)
