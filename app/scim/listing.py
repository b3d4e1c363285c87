"""What the Users and Groups endpoints share: the base URL, `attributes` /
`excludedAttributes`, a list's parameters from a GET query or a POST `.search` body, the
ListResponse and the 201 answer of a creation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from pydantic import ValidationError
from scim2_models import (
    Context,
    InvalidValueException,
    ListResponse,
    NotImplementedException,
    Resource,
    ResponseParameters,
    SearchRequest,
)

from app import config
from app.scim.http import query_int, read_json, refuse_sorting, scim_response
from app.services.scim import base_url


def base() -> str:
    """The SCIM server's base URL (`{PUBLIC_URL}/scim/v2`)."""
    return base_url(config.current().public_url)


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


def created(resource: Resource[Any]) -> web.Response:
    """201 with the resource and its Location."""
    location = resource.meta.location if resource.meta else None
    return scim_response(dump(resource), 201, **({"Location": location} if location else {}))


@dataclass(frozen=True)
class ListQuery:
    filter_text: str | None
    start_index: int
    count: int
    parameters: ResponseParameters[Any] | None


def list_query(request: web.Request, max_results: int) -> ListQuery:
    """A GET list's `filter`, `startIndex`, `count` and attribute choices."""
    refuse_sorting(request)
    return ListQuery(
        request.query.get("filter"),
        query_int(request, "startIndex", 1),
        query_int(request, "count", max_results),
        response_parameters(request),
    )


async def search_query(request: web.Request, max_results: int) -> ListQuery:
    """A POST `.search` body (RFC 7644 §3.4.3) as a list's parameters."""
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
    return ListQuery(
        str(search.filter) if search.filter is not None else None,
        search.start_index or 1,
        search.count if search.count is not None else max_results,
        parameters,
    )


def list_response(
    resource_type: Any, total: int, query: ListQuery, resources: Sequence[Any]
) -> web.Response:
    """One page as a ListResponse of `resource_type` (User[Any] or Group)."""
    listed = ListResponse[resource_type](
        total_results=total,
        start_index=max(query.start_index, 1),
        items_per_page=len(resources),
        resources=list(resources),
    )
    return scim_response(
        listed.model_dump(scim_ctx=Context.SEARCH_RESPONSE, response_parameters=query.parameters)
    )
