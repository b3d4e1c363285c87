"""The SCIM 2.0 server at /scim/v2 (RFC 7643/7644): discovery, Users and Groups.

Handlers parse the request, call the services (app/services/scim_users.py,
scim_groups.py) with the connection the bearer token names, and answer with
scim2-models' serializations. See docs/guides/scim.md.
"""

from aiohttp import web

from app.scim import discovery, groups, users
from app.scim.http import PREFIX, method_not_allowed, not_found_route, not_implemented


def add_routes(app: web.Application) -> None:
    router = app.router
    router.add_get(f"{PREFIX}/ServiceProviderConfig", discovery.service_provider_config)
    router.add_get(f"{PREFIX}/ResourceTypes", discovery.resource_types)
    router.add_get(f"{PREFIX}/ResourceTypes/{{id}}", discovery.resource_type)
    router.add_get(f"{PREFIX}/Schemas", discovery.schemas)
    router.add_get(f"{PREFIX}/Schemas/{{id}}", discovery.schema)
    router.add_get(f"{PREFIX}/Users", users.list_users)
    router.add_post(f"{PREFIX}/Users", users.create_user)
    router.add_post(f"{PREFIX}/Users/.search", users.search_users)
    router.add_get(f"{PREFIX}/Users/{{id}}", users.get_user)
    router.add_put(f"{PREFIX}/Users/{{id}}", users.replace_user)
    router.add_patch(f"{PREFIX}/Users/{{id}}", users.patch_user)
    router.add_delete(f"{PREFIX}/Users/{{id}}", users.delete_user)
    router.add_get(f"{PREFIX}/Groups", groups.list_groups)
    router.add_post(f"{PREFIX}/Groups", groups.create_group)
    router.add_post(f"{PREFIX}/Groups/.search", groups.search_groups)
    router.add_get(f"{PREFIX}/Groups/{{id}}", groups.get_group)
    router.add_put(f"{PREFIX}/Groups/{{id}}", groups.replace_group)
    router.add_patch(f"{PREFIX}/Groups/{{id}}", groups.patch_group)
    router.add_delete(f"{PREFIX}/Groups/{{id}}", groups.delete_group)
    for path in (
        "ServiceProviderConfig",
        "ResourceTypes",
        "ResourceTypes/{id}",
        "Schemas",
        "Schemas/{id}",
        "Users",
        "Users/{id}",
        "Groups",
        "Groups/{id}",
    ):
        router.add_route("*", f"{PREFIX}/{path}", method_not_allowed)
    router.add_post(f"{PREFIX}/Bulk", not_implemented)
    router.add_post(f"{PREFIX}/.search", not_implemented)
    router.add_route("*", f"{PREFIX}/{{tail:.*}}", not_found_route)
