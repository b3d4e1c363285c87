"""/scim/v2/Users: list (filter, startIndex, count), read, create, replace, patch, delete."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import ValidationError
from scim2_models import (
    Context,
    InvalidValueException,
    ListResponse,
    ResponseParameters,
    SearchRequest,
    User,
)

from app import config
from app.ids import to_global_id
from app.models import Member, ScimConnection, Team
from app.scim.http import query_int, read_json, refuse_sorting, scim_handler, scim_response
from app.services import scim_users as service
from app.services.audit import Actor
from app.services.scim import base_url


def _base() -> str:
    return base_url(config.current().public_url)


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
            "location": f"{_base()}/Users/{gid}",
        },
    }
    for key in ("externalId", *service.PROFILE_KEYS):
        if state.get(key) is not None:
            payload[key] = state[key]
    if groups:
        payload["groups"] = [
            {
                "value": to_global_id("Team", team.id),
                "$ref": f"{_base()}/Groups/{to_global_id('Team', team.id)}",
                "display": team.name,
                "type": "direct",
            }
            for team in groups
        ]
    return User.model_validate(payload)


def _names(text: str | None) -> Any:
    """Comma-separated attribute names (validated by ResponseParameters)."""
    return [name.strip() for name in text.split(",")] if text else None


def response_parameters(request: web.Request) -> ResponseParameters[Any] | None:
    attributes = request.query.get("attributes")
    excluded = request.query.get("excludedAttributes")
    if not attributes and not excluded:
        return None
    try:
        return ResponseParameters(
            attributes=_names(attributes),
            excluded_attributes=_names(excluded),
        )
    except ValidationError:
        raise InvalidValueException(
            detail="attributes or excludedAttributes do not parse."
        ) from None


def dump(resource: Any, parameters: ResponseParameters[Any] | None = None) -> dict[str, Any]:
    return resource.model_dump(  # type: ignore[no-any-return]
        scim_ctx=Context.RESOURCE_QUERY_RESPONSE, response_parameters=parameters
    )


async def _one(connection: ScimConnection, member: Member) -> User[Any]:
    groups = await service.groups_of(connection, [member.id])
    return user_resource(member, groups[member.id])


async def _list(
    connection: ScimConnection,
    filter_text: str | None,
    start_index: int,
    count: int,
    parameters: ResponseParameters[Any] | None,
) -> web.Response:
    total, members = await service.list_users(connection, filter_text, start_index, count)
    groups = await service.groups_of(connection, [m.id for m in members])
    listed = ListResponse[User[Any]](
        total_results=total,
        start_index=max(start_index, 1),
        items_per_page=len(members),
        resources=[user_resource(m, groups[m.id]) for m in members],
    )
    return scim_response(
        listed.model_dump(scim_ctx=Context.SEARCH_RESPONSE, response_parameters=parameters)
    )


@scim_handler
async def list_users(
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
async def search_users(
    request: web.Request, connection: ScimConnection, actor: Actor
) -> web.StreamResponse:
    try:
        search: SearchRequest[Any] = SearchRequest.model_validate(await read_json(request))
    except ValidationError as exc:
        raise InvalidValueException(
            detail=f"Not a SearchRequest: {exc.errors()[0]['msg']}"
        ) from None
    if search.sort_by:
        from scim2_models import NotImplementedException

        raise NotImplementedException(detail="Sorting is not supported.")
    filter_text = str(search.filter) if search.filter is not None else None
    parameters = None
    if search.attributes or search.excluded_attributes:
        parameters = ResponseParameters(
            attributes=search.attributes, excluded_attributes=search.excluded_attributes
        )
    return await _list(
        connection,
        filter_text,
        search.start_index or 1,
        search.count if search.count is not None else service.MAX_RESULTS,
        parameters,
    )


@scim_handler
async def get_user(
    request: web.Request, connection: ScimConnection, actor: Actor
) -> web.StreamResponse:
    member = await service.get_member(connection, request.match_info["id"])
    return scim_response(dump(await _one(connection, member), response_parameters(request)))


def _created(resource: User[Any]) -> web.Response:
    location = resource.meta.location if resource.meta else None
    return scim_response(dump(resource), 201, **({"Location": location} if location else {}))


@scim_handler
async def create_user(
    request: web.Request, connection: ScimConnection, actor: Actor
) -> web.StreamResponse:
    member = await service.create_user(actor, connection, await read_json(request))
    return _created(await _one(connection, member))


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
