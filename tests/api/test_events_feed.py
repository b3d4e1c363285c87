"""The event feed: Organization.events (oldest first in commit order, `types`, cursors both
ways, resuming from `endCursor`, ADMIN+ only) and the one vocabulary of event types."""

from __future__ import annotations

import ast
import asyncio
import re
from pathlib import Path

from app.ids import pk_of
from app.models import AuditEvent
from app.schema import schema
from app.services import audit
from app.services.audit import Actor
from tests.support.api import Org, add_member, create_org, gql, mutate, ok, top_codes

ROOT = Path(__file__).resolve().parents[2]
FEED = """
query($id: ID!, $first: Int, $after: String, $last: Int, $before: String, $types: [String!]) {
  organization(id: $id) {
    name
    events(first: $first, after: $after, last: $last, before: $before, types: $types) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { cursor node { id action targetType data } }
    }
  }
}"""
UPDATE_ORG = """
mutation($input: UpdateOrganizationInput!) {
  updateOrganization(input: $input) { errors { code } organization { id name } }
}"""


async def feed(client, org: Org, token: str | None = None, **arguments) -> dict:
    data = await ok(client, FEED, {"id": org.id, **arguments}, token or org.owner.token)
    return data["organization"]["events"]


def actions_of(connection: dict) -> list[str]:
    return [edge["node"]["action"] for edge in connection["edges"]]


async def write(org: Org, *actions: str) -> None:
    """Each event in its own transaction, through audit.record, as the services write them."""
    for action in actions:
        await audit.record(
            Actor.for_user(None, None),
            action,
            organization_id=pk_of(org.id, "Organization"),
            target_type="Organization",
            target_id=pk_of(org.id, "Organization"),
        )


async def test_oldest_first_and_resuming_from_end_cursor_lists_only_newer_events(client):
    org = await create_org(client)
    await write(org, "test.1", "test.2", "test.3")
    first = await feed(client, org, first=100)
    assert actions_of(first) == ["organization.created", "test.1", "test.2", "test.3"]
    assert first["totalCount"] == 4
    assert first["pageInfo"]["hasNextPage"] is False
    cursor = first["pageInfo"]["endCursor"]
    assert cursor == first["edges"][-1]["cursor"]

    # Nothing new: an empty page (a client keeps its last cursor).
    assert actions_of(await feed(client, org, first=100, after=cursor)) == []

    await write(org, "test.4", "test.5")
    later = await feed(client, org, first=100, after=cursor)
    assert actions_of(later) == ["test.4", "test.5"]
    assert later["pageInfo"]["hasPreviousPage"] is True
    resumed = await feed(client, org, first=100, after=later["pageInfo"]["endCursor"])
    assert actions_of(resumed) == []
    # The order of what was listed never changes.
    again = await feed(client, org, first=100)
    assert actions_of(again) == actions_of(first) + actions_of(later)
    assert [e["cursor"] for e in again["edges"][:4]] == [e["cursor"] for e in first["edges"]]


async def test_an_event_is_listed_once_its_mutation_has_answered(client):
    org = await create_org(client)
    cursor = (await feed(client, org, first=100))["pageInfo"]["endCursor"]
    await mutate(
        client, UPDATE_ORG, {"input": {"organizationId": org.id, "name": "Acme 2"}}, org.owner.token
    )
    # On PostgreSQL a transaction open elsewhere on the server (another database's tests)
    # may hold the listing back for a moment; it never reorders it.
    for _ in range(50):
        page = await feed(client, org, first=100, after=cursor)
        if page["edges"]:
            break
        await asyncio.sleep(0.1)
    assert actions_of(page) == ["organization.updated"]
    (edge,) = page["edges"]
    assert edge["node"]["data"]["after"] == {"name": "Acme 2"}


async def test_types_filter(client):
    org = await create_org(client)
    await write(org, "member.blocked", "member.unblocked", "member.blocked", "domain.added")
    page = await feed(client, org, first=100, types=["member.blocked", "domain.added"])
    assert actions_of(page) == ["member.blocked", "member.blocked", "domain.added"]
    assert page["totalCount"] == 3
    # Paging within the filter.
    one = await feed(client, org, first=1, types=["member.blocked"])
    two = await feed(
        client, org, first=1, after=one["pageInfo"]["endCursor"], types=["member.blocked"]
    )
    ids = [e["node"]["id"] for e in one["edges"] + two["edges"]]
    assert ids == [e["node"]["id"] for e in page["edges"][:2]]
    assert two["pageInfo"]["hasNextPage"] is False
    # Unknown, overlong or empty filters match nothing rather than failing.
    assert actions_of(await feed(client, org, first=100, types=["nope", "x" * 500])) == []
    assert actions_of(await feed(client, org, first=100, types=[])) == []


async def test_paging_forwards_and_backwards(client):
    org = await create_org(client)
    await write(org, *(f"test.{i}" for i in range(1, 8)))
    everything = actions_of(await feed(client, org, first=100))
    assert everything == ["organization.created"] + [f"test.{i}" for i in range(1, 8)]

    forwards: list[str] = []
    after = None
    while True:
        page = await feed(client, org, first=3, after=after)
        forwards += actions_of(page)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert forwards == everything

    backwards: list[str] = []
    before = None
    while True:
        page = await feed(client, org, last=3, before=before)
        backwards = actions_of(page) + backwards
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        before = page["pageInfo"]["startCursor"]
    assert backwards == everything

    last_two = await feed(client, org, last=2)
    assert actions_of(last_two) == ["test.6", "test.7"]
    middle = await feed(
        client,
        org,
        first=2,
        after=(await feed(client, org, first=2))["pageInfo"]["endCursor"],
    )
    assert actions_of(middle) == ["test.2", "test.3"]
    before_middle = await feed(client, org, last=5, before=middle["pageInfo"]["startCursor"])
    assert actions_of(before_middle) == ["organization.created", "test.1"]


async def test_a_forged_cursor_is_refused(client):
    org = await create_org(client)
    body = await gql(client, FEED, {"id": org.id, "after": "bm9wZQ=="}, org.owner.token)
    assert body["data"]["organization"]["events"] is None
    assert top_codes(body) == ["INVALID_INPUT"]


async def test_admins_read_the_feed_users_get_forbidden_on_that_field_alone(client, mailbox):
    org = await create_org(client)
    admin, _ = await add_member(client, mailbox, org, role="ADMIN", name="Ada Admin")
    user, _ = await add_member(client, mailbox, org, role="USER", name="Uma User")
    viewer, _ = await add_member(client, mailbox, org, role="VIEWER", name="Vic Viewer")

    assert actions_of(await feed(client, org, admin.token, first=100))[0] == (
        "organization.created"
    )
    for person in (user, viewer):
        body = await gql(client, FEED, {"id": org.id, "first": 100}, person.token)
        assert body["data"]["organization"] == {"name": "Acme", "events": None}
        assert top_codes(body) == ["FORBIDDEN"]
        assert body["errors"][0]["path"] == ["organization", "events"]
    # Another organization's owner does not see this one at all.
    other = await create_org(client, "Other")
    body = await gql(client, FEED, {"id": org.id, "first": 100}, other.owner.token)
    assert body["data"]["organization"] is None


async def test_events_of_other_organizations_are_not_listed(client):
    org = await create_org(client)
    other = await create_org(client, "Other")
    await write(other, "test.other")
    await write(org, "test.mine")
    assert actions_of(await feed(client, org, first=100)) == ["organization.created", "test.mine"]
    assert await AuditEvent.filter(action="test.other").count() == 1


def vocabulary() -> set[str]:
    """Every action app/services/events.py can write (its string literals `area.verb`)."""
    tree = ast.parse((ROOT / "app/services/events.py").read_text())
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and re.fullmatch(r"[a-z_]+\.[a-z_]+", node.value)
    }


def test_the_vocabulary_is_listed_in_its_module_the_readme_and_the_schema():
    actions = vocabulary()
    assert len(actions) >= 30
    module_doc = ast.get_docstring(ast.parse((ROOT / "app/services/events.py").read_text()))
    assert module_doc is not None
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Audit actions", 1)[1].split("\n## ", 1)[0]
    types = schema._schema.query_type.fields["organization"].type.fields["events"].args["types"]
    for action in sorted(actions):
        assert re.search(rf"\b{re.escape(action)}\b", module_doc), action
        assert f"`{action}`" in section, f"README's Audit actions lacks {action}"
        assert re.search(rf"\b{re.escape(action)}\b", types.description), action
    listed = set(re.findall(r"[a-z_]+\.[a-z_]+", types.description))
    assert listed == actions
    field = schema._schema.query_type.fields["organization"].type.fields["events"]
    assert "app/services/events.py" in field.description
