"""GraphQL management of SCIM connections, and the token the SCIM server accepts."""

from __future__ import annotations

from app.models import ScimConnection
from tests.scim.support import CREATE_CONNECTION, connect, events_of
from tests.support.api import add_member, create_org, gql, mutate, ok, refused

UPDATE = """
mutation($input: UpdateScimConnectionInput!) {
  updateScimConnection(input: $input) {
    errors { code field } connection { id name defaultRole roleMappings { group role } }
  }
}"""
REVOKE = """
mutation($input: RevokeScimConnectionInput!) {
  revokeScimConnection(input: $input) { errors { code } connection { id revokedAt } }
}"""
LIST = """
query($id: ID!) { organization(id: $id) { scimConnections { id name baseUrl lastUsedAt } } }"""


async def test_create_shows_the_token_once_and_stores_its_hash(client):
    scim = await connect(client, mappings=[{"group": "Engineering", "role": "VIEWER"}])
    row = await ScimConnection.get()
    assert row.token_hash != scim.token and len(row.token_hash) == 64
    assert scim.token not in str(await ScimConnection.all().values())
    data = await ok(client, LIST, {"id": scim.org.id}, scim.org.owner.token)
    (listed,) = data["organization"]["scimConnections"]
    assert listed["baseUrl"] == "http://roster.test/scim/v2"
    assert listed["lastUsedAt"] is None
    (event,) = await events_of("scim_connection.created")
    assert event.data["roleMappings"] == [{"group": "Engineering", "role": "VIEWER"}]
    await scim.get("/ServiceProviderConfig", status=200)
    data = await ok(client, LIST, {"id": scim.org.id}, scim.org.owner.token)
    assert data["organization"]["scimConnections"][0]["lastUsedAt"] is not None


async def test_only_admins_read_connections(client, mailbox):
    scim = await connect(client)
    person, _ = await add_member(client, mailbox, scim.org, role="USER")
    body = await gql(client, LIST, {"id": scim.org.id}, person.token)
    assert body["data"]["organization"]["scimConnections"] is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_owner_is_never_mapped_and_only_the_owner_maps_admin(client, mailbox):
    org = await create_org(client)
    admin, _ = await add_member(client, mailbox, org, role="ADMIN")
    base = {"organizationId": org.id, "name": "Entra"}
    codes = await refused(
        client,
        CREATE_CONNECTION,
        {"input": {**base, "roleMappings": [{"group": "Bosses", "role": "OWNER"}]}},
        org.owner.token,
    )
    assert codes == ["ROLE_NOT_ALLOWED"]
    codes = await refused(
        client, CREATE_CONNECTION, {"input": {**base, "defaultRole": "OWNER"}}, org.owner.token
    )
    assert codes == ["ROLE_NOT_ALLOWED"]
    codes = await refused(
        client,
        CREATE_CONNECTION,
        {"input": {**base, "roleMappings": [{"group": "Admins", "role": "ADMIN"}]}},
        admin.token,
    )
    assert codes == ["FORBIDDEN_ROLE"]
    assert await ScimConnection.all().count() == 0
    assert await events_of("scim_connection.created") == []
    # The admin creates one without ADMIN; the owner may map ADMIN.
    await mutate(client, CREATE_CONNECTION, {"input": base}, admin.token)
    await mutate(
        client,
        CREATE_CONNECTION,
        {"input": {**base, "roleMappings": [{"group": "Admins", "role": "ADMIN"}]}},
        org.owner.token,
    )


async def test_update_and_revoke(client, mailbox):
    scim = await connect(client)
    admin, _ = await add_member(client, mailbox, scim.org, role="ADMIN")
    variables = {
        "input": {
            "connectionId": scim.connection_id,
            "roleMappings": [{"group": "Admins", "role": "ADMIN"}],
        }
    }
    assert await refused(client, UPDATE, variables, admin.token) == ["FORBIDDEN_ROLE"]
    variables["input"]["roleMappings"] = [{"group": "Ops", "role": "VIEWER"}]
    variables["input"]["name"] = "Okta prod"
    payload = await mutate(client, UPDATE, variables, admin.token)
    assert payload["connection"]["name"] == "Okta prod"
    assert payload["connection"]["roleMappings"] == [{"group": "Ops", "role": "VIEWER"}]
    (event,) = await events_of("scim_connection.updated")
    assert event.data["after"]["name"] == "Okta prod"

    await scim.get("/Users", status=200)
    payload = await mutate(
        client, REVOKE, {"input": {"connectionId": scim.connection_id}}, admin.token
    )
    assert payload["connection"]["revokedAt"] is not None
    assert len(await events_of("scim_connection.revoked")) == 1
    body = await scim.get("/Users", status=401)
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert body["status"] == "401"


async def test_bad_tokens_are_401(client):
    scim = await connect(client)
    for token in ("nonsense", "rscim_" + "x" * 43, "rk_" + "y" * 43):
        await scim.get("/Users", token=token, status=401)
    response = await client.get("/scim/v2/Users")
    assert response.status == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_a_connection_is_a_node_for_admins_only(client, mailbox):
    scim = await connect(client)
    person, _ = await add_member(client, mailbox, scim.org, role="USER")
    query = """query($id: ID!) { node(id: $id) { id ... on ScimConnection { name baseUrl } } }"""
    data = await ok(client, query, {"id": scim.connection_id}, scim.org.owner.token)
    assert data["node"] == {
        "id": scim.connection_id,
        "name": "Okta",
        "baseUrl": "http://roster.test/scim/v2",
    }
    data = await ok(client, query, {"id": scim.connection_id}, person.token)
    assert data["node"] is None
    body = await gql(client, REVOKE, {"input": {"connectionId": scim.connection_id}}, person.token)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await ScimConnection.get()).revoked_at is None
