"""The audit trail: Organization.auditEvents (newest first, filters, cursors) and who may read what."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.ids import pk_of, to_global_id
from app.models import AuditEvent
from tests.support.api import (
    INVITE,
    Org,
    add_member,
    add_member_by_invitation,
    create_org,
    gql,
    mutate,
    ok,
    refused,
    top_codes,
)

EVENTS = """
query($id: ID!, $first: Int, $after: String, $actions: [String!], $actorId: ID, $targetId: ID,
      $since: DateTime, $until: DateTime) {
  organization(id: $id) {
    auditEvents(first: $first, after: $after, actions: $actions, actorId: $actorId,
                targetId: $targetId, since: $since, until: $until) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage endCursor }
      edges { cursor node { id action targetType targetId data ip createdAt
                            actor { id name email } actorApiKey { id } } }
    }
  }
}"""
NODE = "query($id: ID!) { node(id: $id) { id ... on AuditEvent { action } } }"
LEAVE = """
mutation($id: ID!) { leaveOrganization(input: {organizationId: $id}) { ok errors { code } } }"""
ADD_DOMAIN = """
mutation($input: AddDomainInput!) { addDomain(input: $input) { errors { code } domain { id } } }"""
VERIFY_DOMAIN = """
mutation($token: String!) { verifyDomain(input: {token: $token}) { errors { code } domain { id } } }"""
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


async def trail(client, org: Org, token: str | None = None, **filters) -> dict:
    variables = {"id": org.id, "first": 100, **filters}
    data = await ok(client, EVENTS, variables, token or org.owner.token)
    return data["organization"]["auditEvents"]


def actions_of(connection: dict) -> list[str]:
    return [edge["node"]["action"] for edge in connection["edges"]]


async def seed(org: Org, count: int, **fields) -> list[AuditEvent]:
    """`count` events one minute apart from T0 (test.N, target Member 1000+N), through the models."""
    org_pk = pk_of(org.id, "Organization")
    await AuditEvent.bulk_create(
        [
            AuditEvent(
                organization_id=org_pk,
                action=f"test.{i}",
                target_type="Member",
                target_id=1000 + i,
                data={"n": i},
                created_at=T0 + timedelta(minutes=i),
                **fields,
            )
            for i in range(count)
        ]
    )
    return list(await AuditEvent.filter(action__startswith="test.").order_by("id"))


async def test_newest_first_with_cursor_pagination(client):
    org = await create_org(client)
    await seed(org, 7)
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        page = await trail(
            client, org, first=3, after=after, actions=[f"test.{i}" for i in range(7)]
        )
        assert page["totalCount"] == 7
        seen += actions_of(page)
        pages += 1
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert pages == 3
    assert seen == [f"test.{i}" for i in reversed(range(7))]
    whole = await trail(client, org)
    assert actions_of(whole)[-1] == "organization.created"  # the oldest, last


async def test_filters(client, mailbox):
    org = await create_org(client)
    admin, _ = await add_member_by_invitation(client, mailbox, org, role="ADMIN", name="Ann Admin")
    events = await seed(org, 5)
    by_action = await trail(client, org, actions=["test.1", "test.3", "nothing.such"])
    assert actions_of(by_action) == ["test.3", "test.1"] and by_action["totalCount"] == 2
    assert (await trail(client, org, actions=[]))["totalCount"] == 0

    target = to_global_id("Member", 1002)
    assert actions_of(await trail(client, org, targetId=target)) == ["test.2"]
    assert (await trail(client, org, targetId="not-an-id"))["totalCount"] == 0

    since = (T0 + timedelta(minutes=1)).isoformat()
    until = (T0 + timedelta(minutes=3)).isoformat()
    assert actions_of(await trail(client, org, since=since, until=until)) == ["test.2", "test.1"]

    # actorId: the admin's invitation (through add_member, by the owner) is the owner's act.
    by_owner = await trail(client, org, actorId=org.owner.user_id, actions=["invitation.created"])
    assert by_owner["totalCount"] == 1
    by_admin = await trail(client, org, actorId=admin.user_id)
    assert set(actions_of(by_admin)) == {"invitation.accepted", "member.joined"}
    assert (await trail(client, org, actorId=org.id))["totalCount"] == 0  # not a User id
    assert len(events) == 5


async def test_bad_arguments_are_client_errors(client):
    org = await create_org(client)
    for variables in (
        {"first": 101},
        {"first": -1},
        {"after": "garbage"},
        {"actions": ["a"] * 101},
    ):
        body = await gql(client, EVENTS, {"id": org.id, **variables}, org.owner.token)
        assert top_codes(body) == ["INVALID_INPUT"], body


async def test_a_failed_mutation_writes_no_event(client, mailbox):
    org = await create_org(client)
    before = (await trail(client, org))["totalCount"]
    bad_invite = {"input": {"organizationId": org.id, "email": "not-an-email"}}
    assert await refused(client, INVITE, bad_invite, org.owner.token) == ["INVALID_EMAIL"]
    owner_invite = {"input": {"organizationId": org.id, "email": "x@example.com", "role": "OWNER"}}
    assert await refused(client, INVITE, owner_invite, org.owner.token) == ["ROLE_NOT_ALLOWED"]
    bad_domain = {
        "input": {
            "organizationId": org.id,
            "domain": "gmail.com",
            "verificationEmail": "a@gmail.com",
        }
    }
    assert await refused(client, ADD_DOMAIN, bad_domain, org.owner.token) == ["DOMAIN_NOT_ALLOWED"]
    assert (await trail(client, org))["totalCount"] == before
    # A successful one writes exactly one.
    good = {"input": {"organizationId": org.id, "email": "y@example.com"}}
    await mutate(client, INVITE, good, org.owner.token)
    after = await trail(client, org)
    assert after["totalCount"] == before + 1
    node = after["edges"][0]["node"]
    assert node["action"] == "invitation.created" and node["ip"] == "127.0.0.1"
    assert node["actor"] == {
        "id": org.owner.user_id,
        "name": "Olive Owner",
        "email": org.owner.email,
    }


async def test_who_may_read_the_trail(client, mailbox):
    org = await create_org(client)
    user, _ = await add_member(client, mailbox, org, role="USER", name="Uma User")
    viewer, _ = await add_member(client, mailbox, org, role="VIEWER", name="Vic Viewer")
    outsider = await create_org(client, name="Other")
    for token in (user.token, viewer.token):
        body = await gql(client, EVENTS, {"id": org.id}, token)
        assert top_codes(body) == ["FORBIDDEN"]
    assert (await ok(client, EVENTS, {"id": org.id}, outsider.owner.token))["organization"] is None
    assert top_codes(await gql(client, EVENTS, {"id": org.id})) == ["UNAUTHENTICATED"]

    event_id = (await trail(client, org))["edges"][0]["node"]["id"]
    assert (await ok(client, NODE, {"id": event_id}, org.owner.token))["node"]["id"] == event_id
    assert (await ok(client, NODE, {"id": event_id}, user.token))["node"] is None
    assert (await ok(client, NODE, {"id": event_id}, outsider.owner.token))["node"] is None


async def test_actor_email_follows_the_email_rule(client, mailbox):
    org = await create_org(client)
    admin, _ = await add_member(client, mailbox, org, role="ADMIN", name="Ann Admin")
    leaver, _ = await add_member(client, mailbox, org, role="USER", name="Lee Leaver")
    await mutate(client, LEAVE, {"id": org.id}, leaver.token)
    outsider = await create_org(client, name="Other")
    domain = {
        "input": {
            "organizationId": org.id,
            "domain": "acme-corp.com",
            "verificationEmail": "it@acme-corp.com",
        }
    }
    await mutate(client, ADD_DOMAIN, domain, admin.token)
    (mail,) = await mailbox.wait_for("it@acme-corp.com")
    # Someone signed in elsewhere clicks the link: they are the actor, a stranger here.
    await mutate(client, VERIFY_DOMAIN, {"token": mail.token}, outsider.owner.token)

    def actor_of(connection: dict, action: str) -> dict:
        (node,) = [e["node"] for e in connection["edges"] if e["node"]["action"] == action]
        return node["actor"]

    as_owner = await trail(client, org)
    # An active member: the organization's admins read the email.
    assert actor_of(as_owner, "domain.added")["email"] == admin.email
    # A former member and a stranger: name yes, email no.
    assert actor_of(as_owner, "member.left") == {
        "id": leaver.user_id,
        "name": "Lee Leaver",
        "email": None,
    }
    assert actor_of(as_owner, "domain.verified") == {
        "id": outsider.owner.user_id,
        "name": "Olive Owner",
        "email": None,
    }
    # The admin reads their own email, and the owner's.
    as_admin = await trail(client, org, token=admin.token)
    assert actor_of(as_admin, "domain.added")["email"] == admin.email
    assert actor_of(as_admin, "organization.created")["email"] == org.owner.email
