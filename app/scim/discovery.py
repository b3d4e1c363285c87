"""Discovery (RFC 7644 §4): what this service provider supports, its resource types
and the schemas of the attributes it keeps — only those, so that a client (or a
conformance checker) reading them knows exactly what round-trips."""

from __future__ import annotations

from functools import cache
from typing import Any

from aiohttp import web
from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    Context,
    ETag,
    Filter,
    Group,
    Meta,
    NotFoundException,
    Patch,
    Required,
    ResourceType,
    Schema,
    ServiceProviderConfig,
    Sort,
    User,
)

from app.models import ScimConnection
from app.scim.http import scim_handler, scim_response
from app.scim.listing import base
from app.services.audit import Actor
from app.services.scim_users import MAX_RESULTS

# The attributes Roster keeps, with the sub-attributes kept of complex ones.
USER_ATTRIBUTES: dict[str, set[str] | None] = {
    "userName": None,
    "name": {"givenName", "familyName", "formatted"},
    "displayName": None,
    "active": None,
    "emails": {"value", "type", "primary"},
    "groups": {"value", "$ref", "display", "type"},
}
GROUP_ATTRIBUTES: dict[str, set[str] | None] = {
    "displayName": None,
    "members": {"value", "$ref", "type"},
}


def _trimmed(schema: Schema, keep: dict[str, set[str] | None]) -> Schema:
    attributes = []
    for attribute in schema.attributes or []:
        if attribute.name not in keep:
            continue
        if attribute.name == "active":
            # Roster has no member without a state: active is always there, never removed.
            attribute.required = Required.true
        subs = keep[attribute.name]
        if subs is not None and attribute.sub_attributes:
            attribute.sub_attributes = [a for a in attribute.sub_attributes if a.name in subs]
            for sub in attribute.sub_attributes:
                if sub.name == "$ref" and attribute.name == "members":
                    sub.reference_types = ["User"]
                if sub.name == "type" and attribute.name == "members":
                    sub.canonical_values = ["User"]
        attributes.append(attribute)
    schema.attributes = attributes
    return schema


@cache
def _schemas() -> tuple[Schema, ...]:
    return (
        _trimmed(User.to_schema(), USER_ATTRIBUTES),
        _trimmed(Group.to_schema(), GROUP_ATTRIBUTES),
    )


def _schema_dump(schema: Schema) -> dict[str, Any]:
    schema = schema.model_copy(
        update={"meta": Meta(resource_type="Schema", location=f"{base()}/Schemas/{schema.id}")}
    )
    return schema.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)


def _resource_types() -> list[ResourceType]:
    types = []
    for model in (User, Group):
        resource_type = ResourceType.from_resource(model)
        resource_type.meta = Meta(
            resource_type="ResourceType", location=f"{base()}/ResourceTypes/{resource_type.id}"
        )
        types.append(resource_type)
    return types


def _config() -> ServiceProviderConfig:
    return ServiceProviderConfig(
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=MAX_RESULTS),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=False),
        authentication_schemes=[
            AuthenticationScheme(
                type=AuthenticationScheme.Type.oauthbearertoken,
                name="Bearer token",
                description="The token of the organization's SCIM connection "
                "(createScimConnection), as `Authorization: Bearer <token>`.",
                primary=True,
            )
        ],
        meta=Meta(
            resource_type="ServiceProviderConfig", location=f"{base()}/ServiceProviderConfig"
        ),
    )


def _listed(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": len(resources),
        "startIndex": 1,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }


@scim_handler
async def service_provider_config(
    request: web.Request, connection: ScimConnection, actor: Actor
) -> web.StreamResponse:
    return scim_response(_config().model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))


@scim_handler
async def resource_types(
    request: web.Request, connection: ScimConnection, actor: Actor
) -> web.StreamResponse:
    dumped = [t.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE) for t in _resource_types()]
    return scim_response(_listed(dumped))


@scim_handler
async def resource_type(
    request: web.Request, connection: ScimConnection, actor: Actor
) -> web.StreamResponse:
    for found in _resource_types():
        if found.id == request.match_info["id"]:
            return scim_response(found.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))
    raise NotFoundException(detail="No such resource type.")


@scim_handler
async def schemas(
    request: web.Request, connection: ScimConnection, actor: Actor
) -> web.StreamResponse:
    return scim_response(_listed([_schema_dump(schema) for schema in _schemas()]))


@scim_handler
async def schema(
    request: web.Request, connection: ScimConnection, actor: Actor
) -> web.StreamResponse:
    for found in _schemas():
        if found.id == request.match_info["id"]:
            return scim_response(_schema_dump(found))
    raise NotFoundException(detail="No such schema.")
