"""/scim/v2/Groups: Roster teams managed by SCIM."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import ValidationError
from scim2_models import (
    Context,
    Group,
    InvalidValueException,
    ListResponse,
    NotImplementedException,
    ResponseParameters,
    SearchRequest,
)

from app import config
from app.ids import to_global_id
from app.models import Member, ScimConnection, Team
from app.scim.http import query_int, read_json, refuse_sorting, scim_handler, scim_response
from app.scim.users import dump, response_parameters
from app.services import scim_groups as service
from app.services.audit import Actor
from app.services.scim import base_url


def _base() -> str:
    return base_url(config.current().public_url)


def group_resource(team: Team, members: list[Member] | None) -> Group:
    gid = to_global_id("Team", team.id)
    payload: dict[str, Any] = {
        "id": gid,
        "displayName": team.name,
        "meta": {
            "resourceType": "Group",
            "created": team.created_at.isoformat(),
            "location": f"{_base()}/Groups/{gid}",
        },
    }
    if team.external_id is not None:
        payload["externalId"] = team.external_id
    if members:
        payload["members"] = [
            {
                "value": to_global_id("Member", member.id),
                "$ref": f"{_base()}/Users/{to_global_id('Member', member.id)}",
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


async def _list(
    connection: ScimConnection,
    filter_text: str | None,
    start_index: int,
    count: int,
    parameters: ResponseParameters[Any] | None,
) -> web.Response:
    total, teams = await service.list_groups(connection, filter_text, start_index, count)
    members = await service.members_of([t.id for t in teams]) if _wants_members(parameters) else {}
    listed = ListResponse[Group](
        total_results=total,
        start_index=max(start_index, 1),
        items_per_page=len(teams),
        resources=[group_resource(t, members.get(t.id)) for t in teams],
    )
    return scim_response(
        listed.model_dump(scim_ctx=Context.SEARCH_RESPONSE, response_parameters=parameters)
    )


@scim_handler
async def list_groups(
    request: web.Request, connection: ScimConnection, actor: Actor
) -> web.StreamResponse:
    refuse_sorting(request)
    return await _list(
        connection,
        request.query.get("filter"),
        query_int(request, "startIndex", 1),
        query_int(request, "count", service.MAX_RESULTS),
        response_parameters(request),
    )


@scim_handler
async def search_groups(
    request: web.Request, connection: ScimConnection, actor: Actor
) -> web.StreamResponse:
    try:
        search: SearchRequest[Any] = SearchRequest.model_validate(await read_json(request))
    except ValidationError as exc:
        raise InvalidValueException(
            detail=f"Not a SearchRequest: {exc.errors()[0]['msg']}"
        ) from None
    if search.sort_by:
        raise NotImplementedException(detail="Sorting is not supported.")
    parameters = None
    if search.attributes or search.excluded_attributes:
        parameters = ResponseParameters(
            attributes=search.attributes, excluded_attributes=search.excluded_attributes
        )
    return await _list(
        connection,
        str(search.filter) if search.filter is not None else None,
        search.start_index or 1,
        search.count if search.count is not None else service.MAX_RESULTS,
        parameters,
    )


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
    resource = await _one(team)
    location = resource.meta.location if resource.meta else None
    return scim_response(dump(resource), 201, **({"Location": location} if location else {}))


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
