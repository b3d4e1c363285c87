"""Issue #12 item 4 over HTTP: what one query may ask for.

A static cost at validation (GitHub's node-limit method: the product of `first`/`last`
along each path, unpaged lists at 100), counted again with the variables before
execution; a cap on list items completed while a query runs; depth counted as the
contract does (a query deeper than 15 levels is refused).

Each test failed before the change and passes since, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import secrets

from aiohttp.test_utils import TestClient
from graphql import get_introspection_query

from app.models import ApiKey
from app.schema import MAX_DEPTH
from app.schema.limits import MAX_COST, MAX_LIST_ITEMS
from tests.support.api import add_member, create_org, gql, ok, top_codes
from tests.support.members import org_pk

GRAPHQL_RESPONSE = "application/graphql-response+json"

# The query: a VIEWER's aliases of a nested chain of unpaged lists.
CHAIN = """
query($id: ID!) {
  organization(id: $id) {
    projects(first: 100) {
      nodes {
        a1: assignments { member { projectAssignments { project { assignments { member {
          name role status projectAssignments { project { name } } } } } } } }
        a2: assignments { member { projectAssignments { project { assignments { member {
          name role status projectAssignments { project { name } } } } } } } }
      }
    }
  }
}"""

# organizations(100) → members(100) → projectAssignments (unpaged: 100):
# 1 + 100 × (1 organization + 1 connection + 100 × (1 member + 100 assignments)).
NESTED = """
query($n: Int) {
  organizations(first: $n) {
    nodes { members(first: $n) { nodes { projectAssignments { id } } } }
  }
}"""
NESTED_LITERAL = NESTED.replace("query($n: Int)", "query").replace("$n", "100")
NESTED_COST = 1 + 100 * (1 + 1 + 100 * (1 + 100))


def cost_error(body: dict) -> dict:
    assert "data" not in body, body
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    return error["extensions"]


async def post(client: TestClient, query: str, variables=None, token=None, accept=None):
    headers = {"Accept": accept or "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )


async def test_nested_unpaged_lists_are_refused_before_they_run(client, mailbox):
    org = await create_org(client, "Acme")
    viewer, _ = await add_member(client, mailbox, org, role="VIEWER")
    response = await post(client, CHAIN, {"id": org.id}, viewer.token, accept=GRAPHQL_RESPONSE)
    assert response.status == 400
    extensions = cost_error(await response.json())
    assert extensions["maxCost"] == MAX_COST == 50_000
    assert extensions["cost"] > MAX_COST
    # As application/json: the same refusal, HTTP 200, no data.
    body = await gql(client, CHAIN, {"id": org.id}, viewer.token)
    assert cost_error(body) == extensions


async def test_the_cost_is_the_product_of_page_sizes_along_each_path(client):
    org = await create_org(client, "Acme")
    body = await gql(client, NESTED_LITERAL, token=org.owner.token)
    assert cost_error(body) == {"code": "QUERY_TOO_COMPLEX", "cost": NESTED_COST, "maxCost": 50_000}
    # Smaller pages fit: 1 + 10 × (2 + 10 × 101) = 10,121.
    small = NESTED_LITERAL.replace("100", "10")
    data = await ok(client, small, token=org.owner.token)
    assert len(data["organizations"]["nodes"]) == 1
    # `last` counts as `first` does.
    backwards = NESTED_LITERAL.replace("members(first:", "members(last:")
    assert cost_error(await gql(client, backwards, token=org.owner.token))["cost"] == NESTED_COST


async def test_first_and_last_given_by_variables_count_with_their_values(client):
    org = await create_org(client, "Acme")
    refused = await gql(client, NESTED, {"n": 100}, org.owner.token)
    assert cost_error(refused)["cost"] == NESTED_COST
    # The same document with smaller values runs (the refusal was not cached with it).
    data = await ok(client, NESTED, {"n": 5}, org.owner.token)
    assert len(data["organizations"]["nodes"]) == 1
    again = await gql(client, NESTED, {"n": 100}, org.owner.token)
    assert cost_error(again)["cost"] == NESTED_COST
    # A variable not sent counts as its default in the operation, else the page of 20.
    with_default = NESTED.replace("query($n: Int)", "query($n: Int = 100)")
    assert cost_error(await gql(client, with_default, token=org.owner.token))["cost"] == (
        NESTED_COST
    )
    unset = await ok(client, NESTED, token=org.owner.token)  # 1 + 20 × (2 + 20 × 101)
    assert len(unset["organizations"]["nodes"]) == 1


async def test_introspection_is_not_counted(client):
    data = await ok(client, get_introspection_query(descriptions=True))
    assert len(data["__schema"]["types"]) > 50


async def test_a_query_completing_too_many_list_items_stops_with_one_error(client):
    """An unpaged list counts 100 in the static cost; the real count stops one that is
    longer than that before it makes the server build everything."""
    org = await create_org(client, "Acme")
    await ApiKey.bulk_create(
        [
            ApiKey(
                organization_id=org_pk(org),
                name=f"key {i}",
                role="VIEWER",
                prefix="rk_test",
                secret_hash=secrets.token_hex(32),
            )
            for i in range(MAX_LIST_ITEMS + 1)
        ],
        batch_size=1000,
    )
    query = "query($id: ID!) { organization(id: $id) { name apiKeys { id name } } }"
    body = await gql(client, query, {"id": org.id}, org.owner.token)
    assert body["data"] is None
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "QUERY_TOO_COMPLEX", "maxItems": 10_000}
    assert error["path"] == ["organization", "apiKeys"]
    # At the cap, the same list reads.
    first_two = await ApiKey.filter(organization_id=org_pk(org)).order_by("id").limit(2)
    await ApiKey.filter(id__in=[key.id for key in first_two]).delete()
    data = await ok(client, query, {"id": org.id}, org.owner.token)
    assert len(data["organization"]["apiKeys"]) == MAX_LIST_ITEMS - 1


def nested(levels: int) -> str:
    """A valid query `levels` levels of fields deep:
    me.memberships.organization.members.nodes.organization…id (pages of 1)."""
    cycle = ["organization", "members(first: 1)", "nodes"]
    fields = ["me", "memberships", *(cycle[i % 3] for i in range(levels))][: levels - 1]
    query = "id"
    for name in reversed(fields):
        query = f"{name} {{ {query} }}"
    return "{ " + query + " }"


async def test_depth_counts_levels_as_the_contract_does(client):
    org = await create_org(client, "Acme")
    assert nested(3) == "{ me { memberships { id } } }"
    at_limit = await post(client, nested(MAX_DEPTH), token=org.owner.token)
    assert at_limit.status == 200
    body = await at_limit.json()
    assert "errors" not in body, body
    assert body["data"]["me"]["memberships"]

    too_deep = await post(
        client, nested(MAX_DEPTH + 1), token=org.owner.token, accept=GRAPHQL_RESPONSE
    )
    assert too_deep.status == 400
    body = await too_deep.json()
    assert "data" not in body
    assert "depth" in body["errors"][0]["message"].lower()
    assert top_codes(body) == ["QUERY_TOO_COMPLEX"]
    assert body["errors"][0]["extensions"]["maxDepth"] == MAX_DEPTH == 15
    assert body["errors"][0]["extensions"]["depth"] == 16
