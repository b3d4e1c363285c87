"""GraphQL over HTTP: media types, status codes, limits, masking, health, CORS."""

from __future__ import annotations

import io
import json

import pytest

from app.schema import MAX_DEPTH
from tests.support.api import sign_up, top_codes

GRAPHQL_RESPONSE = "application/graphql-response+json"
ME = "{ me { id name } }"


async def post(client, body, accept=GRAPHQL_RESPONSE, headers=None, raw=None):
    send = {"Accept": accept, "Content-Type": "application/json", **(headers or {})}
    data = raw if raw is not None else json.dumps(body)
    return await client.post("/graphql", data=data, headers=send)


async def test_query_answers_with_graphql_response_media_type(client):
    response = await post(client, {"query": ME})
    assert response.status == 200
    assert response.headers["Content-Type"].startswith(GRAPHQL_RESPONSE)
    assert await response.json() == {"data": {"me": None}}


async def test_legacy_json_accept_gets_application_json(client):
    response = await post(client, {"query": ME}, accept="application/json")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("application/json")


async def test_unacceptable_accept_is_406(client):
    response = await post(client, {"query": ME}, accept="text/csv")
    assert response.status == 406


async def test_parse_error_is_400_without_data(client):
    response = await post(client, {"query": "{ me { id "})
    assert response.status == 400
    body = await response.json()
    assert "data" not in body and body["errors"]


async def test_validation_error_is_400_with_graphql_response_and_200_with_json(client):
    response = await post(client, {"query": "{ nope }"})
    assert response.status == 400
    assert "data" not in await response.json()
    legacy = await post(client, {"query": "{ nope }"}, accept="application/json")
    assert legacy.status == 200
    assert "data" not in await legacy.json()


async def test_bad_variables_are_a_request_error(client):
    query = "query($id: ID!) { node(id: $id) { id } }"
    response = await post(client, {"query": query, "variables": {"id": {"x": 1}}})
    assert response.status == 400
    assert "data" not in await response.json()


@pytest.mark.parametrize(
    "raw",
    ["{not json", "[]", '"just a string"', json.dumps({"query": 5}), json.dumps({"variables": []})],
)
async def test_malformed_bodies_are_400(client, raw):
    response = await post(client, None, raw=raw)
    assert response.status == 400


async def test_wrong_content_type_is_415(client):
    response = await client.post("/graphql", data="query=x", headers={"Content-Type": "text/plain"})
    assert response.status == 415


async def test_body_over_one_mebibyte_is_413(client):
    huge = json.dumps({"query": ME, "variables": {"pad": "x" * (1024 * 1024)}}).encode()
    response = await post(client, None, raw=io.BytesIO(huge))
    assert response.status == 413


async def test_query_by_get_and_mutation_by_get_refused(client):
    response = await client.get(
        "/graphql", params={"query": ME}, headers={"Accept": GRAPHQL_RESPONSE}
    )
    assert response.status == 200
    assert await response.json() == {"data": {"me": None}}
    mutation = 'mutation { logIn(input: {email: "a@b.co", password: "x"}) { token } }'
    refused = await client.get("/graphql", params={"query": mutation})
    assert refused.status == 405
    assert refused.headers["Allow"] == "POST"


async def test_browser_get_serves_graphiql(client):
    response = await client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status == 200
    assert "graphiql" in (await response.text()).lower()


async def test_operation_name_selects_the_operation(client):
    document = "query A { me { id } } query B { __typename }"
    response = await post(client, {"query": document, "operationName": "B"})
    assert await response.json() == {"data": {"__typename": "Query"}}
    missing = await post(client, {"query": document})
    assert missing.status == 400


def nested(depth: int) -> str:
    """A valid query `depth` levels deep: me.memberships.organization.members.nodes.organization…"""
    cycle = ["organization", "members", "nodes"]
    fields = ["me", "memberships", *(cycle[i % 3] for i in range(depth))][:depth]
    query = "id"
    for name in reversed(fields):
        query = f"{name} {{ {query} }}"
    return "{ " + query + " }"


async def test_depth_limit_refuses_before_execution(client):
    deep = nested(MAX_DEPTH + 2)
    response = await post(client, {"query": deep})
    assert response.status == 400
    body = await response.json()
    assert "data" not in body
    assert "depth" in body["errors"][0]["message"].lower()
    shallow = await post(client, {"query": nested(6)})
    assert shallow.status == 200


async def test_alias_flood_is_refused(client):
    aliases = " ".join(f"a{i}: __typename" for i in range(500))
    response = await post(client, {"query": "{ " + aliases + " }"})
    assert response.status == 400


async def test_token_flood_is_refused(client):
    fields = " ".join("__typename" for _ in range(6000))
    response = await post(client, {"query": "{ " + fields + " }"})
    assert response.status == 400


async def test_circular_fragments_are_refused(client):
    document = "fragment A on Query { ...B } fragment B on Query { ...A } { ...A }"
    response = await post(client, {"query": document})
    assert response.status == 400


@pytest.mark.parametrize("bad_id", ["", "nope", "VXNlcjp4", "T3JnYW5pemF0aW9uOjE", "x" * 500])
async def test_unknown_or_malformed_ids_read_as_null(client, bad_id):
    person = await sign_up(client)
    response = await post(
        client,
        {"query": "query($id: ID!) { node(id: $id) { id } }", "variables": {"id": bad_id}},
        headers={"Authorization": f"Bearer {person.token}"},
    )
    assert await response.json() == {"data": {"node": None}}


async def test_node_resolves_the_viewer(client):
    person = await sign_up(client)
    response = await post(
        client,
        {
            "query": "query($id: ID!) { node(id: $id) { id ... on User { email } } }",
            "variables": {"id": person.user_id},
        },
        headers={"Authorization": f"Bearer {person.token}"},
    )
    body = await response.json()
    assert body["data"]["node"] == {"id": person.user_id, "email": person.email}


async def test_anonymous_mutation_needing_a_user_is_unauthenticated(client):
    response = await post(client, {"query": "mutation { logOut { ok } }"})
    body = await response.json()
    assert top_codes(body) == ["UNAUTHENTICATED"]


async def test_unexpected_errors_are_masked_as_internal(client, monkeypatch, caplog):
    from app.resolvers import organizations

    async def explode(*args, **kwargs):
        raise RuntimeError("secret detail /etc/passwd")

    monkeypatch.setattr(organizations, "organizations", explode)
    person = await sign_up(client)
    response = await post(
        client,
        {"query": "{ organizations { totalCount } }"},
        headers={"Authorization": f"Bearer {person.token}"},
    )
    text = await response.text()
    assert "secret detail" not in text and "Traceback" not in text
    body = json.loads(text)
    assert top_codes(body) == ["INTERNAL"]
    request_id = body["errors"][0]["extensions"]["requestId"]
    assert response.headers["X-Request-Id"] == request_id
    assert any(request_id in record.getMessage() for record in caplog.records)


async def test_healthz(client):
    response = await client.get("/healthz")
    assert response.status == 200
    assert (await response.json())["status"] == "ok"


async def test_access_log_has_request_id_operation_status_duration(client, caplog):
    caplog.set_level("INFO", logger="roster.access")
    response = await post(client, {"query": "query Who { me { id } }", "operationName": "Who"})
    request_id = response.headers["X-Request-Id"]
    lines = [r.getMessage() for r in caplog.records if r.name == "roster.access"]
    assert any(request_id in line and "op=Who" in line and "status=200" in line for line in lines)


class TestCors:
    @pytest.fixture
    def settings_overrides(self):
        return {"cors_origins": ("https://app.example.com",)}

    async def test_allowed_origin_gets_cors_headers(self, client):
        preflight = await client.options(
            "/graphql",
            headers={"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST"},
        )
        assert preflight.status == 204
        assert preflight.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
        response = await post(client, {"query": ME}, headers={"Origin": "https://app.example.com"})
        assert response.headers["Access-Control-Allow-Origin"] == "https://app.example.com"

    async def test_other_origin_gets_none(self, client):
        response = await post(client, {"query": ME}, headers={"Origin": "https://evil.example"})
        assert "Access-Control-Allow-Origin" not in response.headers


async def test_repeated_operations_hit_the_parse_and_validation_caches(client):
    from strawberry.extensions.parser_cache import _get_parse_cache
    from strawberry.extensions.validation_cache import _get_validate_cache

    from app.schema import CACHE_SIZE

    query = "query Cached { me { id name } }"
    await post(client, {"query": query})
    parse_before = _get_parse_cache(CACHE_SIZE).cache_info()
    validate_before = _get_validate_cache(CACHE_SIZE).cache_info()
    for _ in range(5):
        response = await post(client, {"query": query})
        assert response.status == 200
    parse_after = _get_parse_cache(CACHE_SIZE).cache_info()
    validate_after = _get_validate_cache(CACHE_SIZE).cache_info()
    assert parse_after.misses == parse_before.misses
    assert validate_after.misses == validate_before.misses
    assert parse_after.hits - parse_before.hits == 5
    assert validate_after.hits - validate_before.hits == 5


async def test_bad_page_arguments_are_invalid_input_not_internal(client):
    person = await sign_up(client)
    for query in (
        "{ organizations(first: 500) { totalCount } }",
        '{ organizations(after: "not-a-cursor") { totalCount } }',
    ):
        response = await post(
            client, {"query": query}, headers={"Authorization": f"Bearer {person.token}"}
        )
        body = await response.json()
        assert top_codes(body) == ["INVALID_INPUT"], body
