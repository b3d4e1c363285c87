"""Compiled execution (app/schema/compiled.py) answers exactly what graphql-core answers.

Every GraphQL query document of the test suite and the docs runs over HTTP twice, with
the compiled plans on and off, as the owner, a plain member and anonymously; the whole
responses (status, data, errors) must be equal. A Hypothesis strategy then generates
random selections on the members page (aliases, fragments, `__typename`,
`@include`/`@skip` on literals and variables, resolver fields that force a fallback,
non-null violations through preloaded nulls) and compares them the same way. Spoiled
pages (a preloaded null, a computed field that raises, a value of another type or cast)
and a small schema of its own (an `is_type_of` per object, an attribute that is not an
identifier) check the generated completers' ways of giving up.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import strawberry
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    OperationDefinitionNode,
    parse,
    validate,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import app.schema.compiled as compiled
import app.schema.execution as execution
from app.ids import pk_of, to_global_id
from app.models import Member, User
from app.models.enums import MemberStatus, OrganizationRole, ProjectRole
from app.schema import schema
from app.schema.execution import PRELOADED, FastLeafExecutionContext, mark_fast_fields
from tests.support import factories
from tests.support.api import Person, create_org

ROOT = Path(__file__).resolve().parents[2]
GRAPHQL_SCHEMA = schema._schema


def _strings_in_python(path: Path) -> list[str]:
    try:
        tree = ast.parse(path.read_text())
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.append(node.value)
        elif isinstance(node, ast.JoinedStr):
            # f-strings: the literal parts with each placeholder left empty, good enough
            # for the many f-string queries that only splice in field lists (those that
            # do not parse are skipped).
            found.append("".join(v.value for v in node.values if isinstance(v, ast.Constant)))
    return found


def _strings_in_markdown(path: Path) -> list[str]:
    return re.findall(r"```graphql\n(.*?)```", path.read_text(), flags=re.S)


def _query_documents() -> list[str]:
    """Valid documents holding at least one query, from tests/ and docs/ (and README)."""
    candidates: list[str] = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        candidates += _strings_in_python(path)
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        candidates += _strings_in_markdown(path)
    # The module-level constants, f-strings included, as the tests use them.
    from tests.support import api, members

    for module in (api, members):
        candidates += [v for v in vars(module).values() if isinstance(v, str)]
    documents = []
    seen = set()
    for text in candidates:
        if "{" not in text or text in seen or len(text) > 20_000:
            continue
        seen.add(text)
        try:
            document = parse(text)
        except Exception:
            continue
        if not any(
            isinstance(d, OperationDefinitionNode) and d.operation.value == "query"
            for d in document.definitions
        ):
            continue
        if validate(GRAPHQL_SCHEMA, document):
            continue
        documents.append(text)
    return documents


DOCUMENTS = _query_documents()


def _variable_value(name: str, type_node: Any, ids: dict[str, str]) -> Any:
    """A plausible value for a variable, or ... when none can be made up."""
    from graphql import type_from_ast

    graphql_type = type_from_ast(GRAPHQL_SCHEMA, type_node)
    non_null = isinstance(graphql_type, GraphQLNonNull)
    named = graphql_type.of_type if non_null else graphql_type
    lowered = name.lower()
    if isinstance(named, GraphQLScalarType):
        if named.name == "ID":
            for key, value in ids.items():
                if key in lowered:
                    return value
            return ids["organization"]
        if named.name == "Int":
            return 1 if lowered == "offset" else 3
        if named.name == "Boolean":
            return True
        if named.name == "String":
            if lowered in ("after", "before", "token", "cursor"):
                return None if not non_null else ...
            return "a"
    if isinstance(named, GraphQLEnumType):
        return next(iter(named.values))
    if isinstance(named, GraphQLList | GraphQLInputObjectType):
        return None if not non_null else ...
    return None if not non_null else ...


def _variables(text: str, ids: dict[str, str]) -> list[tuple[str | None, dict[str, Any]]]:
    """(operationName, variables) of each query operation that can be filled."""
    runs = []
    for definition in parse(text).definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        if definition.operation.value != "query":
            continue
        variables: dict[str, Any] = {}
        for variable in definition.variable_definitions or ():
            value = _variable_value(variable.variable.name.value, variable.type, ids)
            if value is ...:
                break
            if value is not None:
                variables[variable.variable.name.value] = value
        else:
            runs.append((definition.name.value if definition.name else None, variables))
    return runs


async def _post(client, query: str, variables, operation_name, token) -> tuple[int, Any]:
    headers = {"Accept": "application/json", "X-Request-Id": "compare"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    body: dict[str, Any] = {"query": query, "variables": variables}
    if operation_name:
        body["operationName"] = operation_name
    response = await client.post("/graphql", json=body, headers=headers)
    return response.status, await response.json()


class Engaged:
    """Counts the compiled plans that completed a value (the comparison is not vacuous)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        # The most list items of objects one plan completed.
        self.most_items = 0
        original = execution.run

        def counting(plan: Any, value: Any) -> Any:
            done = original(plan, value)
            self.count += done is not None
            if done is not None:
                self.most_items = max(self.most_items, done[1])
            return done

        monkeypatch.setattr(execution, "run", counting)


async def both_paths(client, monkeypatch, query, variables, operation_name, token):
    monkeypatch.setattr(compiled, "ENABLED", True)
    fast = await _post(client, query, variables, operation_name, token)
    monkeypatch.setattr(compiled, "ENABLED", False)
    slow = await _post(client, query, variables, operation_name, token)
    monkeypatch.setattr(compiled, "ENABLED", True)
    return fast, slow


@pytest.fixture
async def world(client) -> dict[str, Any]:
    """An organization with members of every role and status, projects, assignments,
    invitations; a member whose preloaded values include nulls."""
    org = await create_org(client, "Acme")
    org_pk = pk_of(org.id, "Organization")
    owner = await Member.get(organization_id=org_pk, role=OrganizationRole.OWNER)
    projects = [await factories.make_project(org_pk, name) for name in ("Web", "Ops")]
    members = [owner]
    for i, (role, status) in enumerate(
        [
            (OrganizationRole.ADMIN, MemberStatus.ACTIVE),
            (OrganizationRole.USER, MemberStatus.ACTIVE),
            (OrganizationRole.USER, MemberStatus.BLOCKED),
            (OrganizationRole.USER, MemberStatus.REMOVED),
            (OrganizationRole.ADMIN, MemberStatus.ACTIVE),
        ]
    ):
        member = await factories.make_member(
            org_pk, role=role, status=status, name=f"Zoë Member {i}", username=f"m{i}"
        )
        members.append(member)
    for member in members[:4]:
        await factories.make_assignment(projects[0], member, ProjectRole.USE)
    await factories.make_assignment(projects[1], members[1], ProjectRole.OWNER)
    await factories.make_invitation(org_pk)
    plain = members[2]
    user = await User.get(id=plain.user_id)
    plain_token = await factories.make_session(user)
    await create_org(client, "Other")
    ids = {
        "organization": org.id,
        "org": org.id,
        "member": to_global_id("Member", members[1].id),
        "project": to_global_id("Project", projects[0].id),
        "user": to_global_id("User", owner.user_id),
    }
    plain_person = Person(user.email, plain_token, to_global_id("User", user.id), user.name)
    return {"org": org, "ids": ids, "owner": org.owner, "plain": plain_person}


def test_documents_were_found() -> None:
    assert len(DOCUMENTS) >= 40, len(DOCUMENTS)


async def test_every_query_of_the_suite_and_docs_answers_the_same(client, world, monkeypatch):
    engaged = Engaged(monkeypatch)
    compared = 0
    for text in DOCUMENTS:
        for operation_name, variables in _variables(text, world["ids"]):
            for token in (world["owner"].token, world["plain"].token, None):
                fast, slow = await both_paths(
                    client, monkeypatch, text, variables, operation_name, token
                )
                assert fast == slow, (text, variables, token)
                compared += 1
    assert compared >= 100, compared
    assert engaged.count >= 50, engaged.count


# --- Random selections on the members page ------------------------------------------

USER_LEAVES = ["id", "name", "email", "emailVerified", "createdAt", "__typename"]
PROJECT_LEAVES = ["id", "name", "slug", "isDefault", "createdAt", "__typename"]
MEMBER_LEAVES = [
    "id",
    "name",
    "email",
    "username",
    "title",
    "role",
    "status",
    "joinedAt",
    "blockedAt",
    "removedAt",
    "__typename",
]


def _directive() -> st.SearchStrategy[str]:
    return st.sampled_from(
        ["", "", "", " @include(if: true)", " @skip(if: true)", " @include(if: $flag)",
         " @skip(if: $flag)"]
    )  # fmt: skip


def _aliased(name: str) -> st.SearchStrategy[str]:
    return st.one_of(
        st.just(name), st.sampled_from(["a", "b"]).map(lambda a: f"{a}_{name.strip('_')}: {name}")
    )


def _selection(fields: list[str], nested: dict[str, st.SearchStrategy[str]]):
    leaf = st.tuples(st.sampled_from(fields).flatmap(_aliased), _directive()).map("".join)
    branch = (
        st.sampled_from(sorted(nested)).flatmap(
            lambda name: st.tuples(_aliased(name), _directive(), nested[name]).map(
                lambda parts: f"{parts[0]}{parts[1]} {{ {parts[2]} }}"
            )
        )
        if nested
        else st.nothing()
    )
    item = st.one_of(leaf, branch)
    inline = st.tuples(st.lists(item, min_size=1, max_size=3), _directive()).map(
        lambda parts: "... on {type}" + parts[1] + " { " + " ".join(parts[0]) + " }"
    )
    return st.lists(st.one_of(item, item, item, inline), min_size=1, max_size=7).map(" ".join)


def _typed(selection: st.SearchStrategy[str], type_name: str) -> st.SearchStrategy[str]:
    return selection.map(lambda text: text.replace("{type}", type_name))


PROJECT = _typed(_selection(PROJECT_LEAVES, {}), "Project")
ASSIGNMENT = _typed(
    _selection(["id", "role", "createdAt", "__typename"], {"project": PROJECT}),
    "ProjectAssignment",
)
USER = _typed(_selection(USER_LEAVES, {}), "User")
ORGANIZATION = st.sampled_from(["id", "name", "slug", "__typename", "id name"])
MEMBER = _typed(
    _selection(
        MEMBER_LEAVES,
        {
            "user": USER,
            "projectAssignments": ASSIGNMENT,
            "organization": ORGANIZATION,
            "invitedBy": st.sampled_from(["id", "name", "__typename"]),
        },
    ),
    "Member",
)
CONNECTION = st.tuples(
    MEMBER,
    st.sampled_from(
        [
            "edges {{ node {{ {m} }} }}",
            "edges {{ cursor node {{ {m} }} }}",
            "nodes {{ {m} }}",
            "totalCount edges {{ node {{ {m} }} }}",
            "pageInfo {{ hasNextPage endCursor }} edges {{ node {{ ...M }} }}",
            "__typename edges {{ __typename node {{ {m} ...M }} }}",
        ]
    ),
    st.sampled_from(["first: 10", "first: 2", "last: 3", "first: 0", "first: 10, offset: 2"]),
).map(
    lambda parts: (
        "query Page($id: ID!, $flag: Boolean!) { organization(id: $id) {"
        " flagged: name @include(if: $flag) members("
        + parts[2]
        + ") { "
        + parts[1].format(m=parts[0])
        + " } } }"
        + (" fragment M on Member { id name user { id } }" if "...M" in parts[1] else "")
    )
)


def _random_documents(count: int) -> list[str]:
    """Hypothesis draws `count` members-page documents (kept, then run asynchronously:
    the database lives on the test's event loop)."""
    drawn: list[str] = []

    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(CONNECTION)
    def collect(document: str) -> None:
        drawn.append(document)

    collect()
    return [d for d in drawn if not validate(GRAPHQL_SCHEMA, parse(d))]


async def test_random_member_page_selections_answer_the_same(client, world, monkeypatch):
    engaged = Engaged(monkeypatch)
    documents = _random_documents(150)
    assert len(documents) >= 50, len(documents)
    for text in documents:
        for flag in (True, False):
            for token in (world["owner"].token, world["plain"].token):
                variables = {"id": world["ids"]["organization"], "flag": flag}
                fast, slow = await both_paths(client, monkeypatch, text, variables, None, token)
                assert fast == slow, (text, flag)
    assert engaged.count > len(documents), engaged.count


async def spoiled_page(client, world, monkeypatch, spoil, edge_selection):
    """A page of three members through both paths, after `spoil(connection)` changed
    what the members field's resolver returned."""
    from app.schema.organizations import types as organization_types

    original = organization_types.members_connection

    def spoiled(found):
        connection = original(found)
        spoil(connection)
        return connection

    monkeypatch.setattr(organization_types, "members_connection", spoiled)
    query = (
        "query($id: ID!) { organization(id: $id) { members(first: 3) {"
        f" edges {{ {edge_selection} }} }} }} }}"
    )
    variables = {"id": world["ids"]["organization"]}
    return await both_paths(client, monkeypatch, query, variables, None, world["owner"].token)


async def test_a_null_in_a_non_null_preloaded_field_propagates_as_graphql_core_does(
    client, world, monkeypatch
):
    """The plan gives up on a preloaded null in a non-null field; graphql-core reports
    the error and nulls the nearest nullable parent."""

    def spoil(connection):
        connection.edges[0].node.preloaded_user = execution.KNOWN_NULL

    fast, slow = await spoiled_page(client, world, monkeypatch, spoil, "node { id user { id } }")
    assert fast == slow
    assert fast[1]["errors"][0]["path"][-1] == "user"


async def test_a_computed_field_that_fails_is_reported_as_graphql_core_does(
    client, world, monkeypatch
):
    """A computed field (a synchronous resolver of `self`, which plans call directly)
    that raises: the plan gives up, and graphql-core reports the error at that field and
    nulls what it must, on both paths alike."""

    class FailingName:
        def __init__(self, source: Any) -> None:
            self.source = source

        def __getattr__(self, name: str) -> Any:
            if name == "name":
                raise RuntimeError("the name could not be read")
            return getattr(self.source, name)

    def spoil(connection):
        node = connection.edges[1].node
        node.source = FailingName(node.source)

    selection = "cursor node { id name role }"
    fast, slow = await spoiled_page(client, world, monkeypatch, spoil, selection)
    assert fast == slow
    assert fast[1]["errors"][0]["path"][-3:] == [1, "node", "name"]
    assert fast[1]["errors"][0]["message"] == "Internal error."  # unexpected: masked


@pytest.mark.parametrize("wrong", ["another type", "cast to another type"])
async def test_a_value_of_another_type_is_reported_as_graphql_core_does(
    client, world, monkeypatch, wrong
):
    """A node that is not a Member: an object of another class, or a Member object cast
    to another type (`strawberry.cast`) after Member objects of the same class passed the
    check a plan remembers per class. The plan gives up on it; graphql-core reports the
    error."""
    from app.schema.accounts.types import UserType

    def spoil(connection):
        node = connection.edges[1].node
        if wrong == "another type":
            connection.edges[1].node = SimpleNamespace(id=node.id, name="x")
        else:
            strawberry.cast(UserType, node)

    fast, slow = await spoiled_page(client, world, monkeypatch, spoil, "node { id name }")
    assert fast == slow
    assert fast[1]["errors"][0]["path"][-2:] == [1, "node"]


async def test_plans_are_cached_across_requests_unless_directives_read_variables(
    client, world, monkeypatch
):
    compiled.SHARED.clear()
    owner = world["owner"].token
    variables = {"id": world["ids"]["organization"], "flag": True}
    plain = (
        "query($id: ID!) { organization(id: $id) { members(first: 2) { edges { node { id } } } } }"
    )
    await _post(client, plain, {"id": variables["id"]}, None, owner)

    def plans() -> int:
        return sum(plan is not None for _, plan in compiled.SHARED.entries.values())

    cached = plans()
    assert cached > 0
    await _post(client, plain, {"id": variables["id"]}, None, owner)
    assert plans() == cached
    varying = (
        "query($id: ID!, $flag: Boolean!) { organization(id: $id) { members(first: 2) {"
        " edges { node { id name @include(if: $flag) } } } } }"
    )
    for flag in (True, False):
        _, body = await _post(client, varying, {**variables, "flag": flag}, None, owner)
        nodes = [e["node"] for e in body["data"]["organization"]["members"]["edges"]]
        assert nodes and all(("name" in node) is flag for node in nodes)
    assert plans() == cached  # compiled per request, never shared


# --- The invitations page (benchmark scenario 3) --------------------------------------

INVITATIONS_PAGE = (
    "query Pending($id: ID!, $first: Int!) { organization(id: $id) {"
    " invitations(first: $first, statuses: [PENDING], orderBy: {field: EXPIRES_AT,"
    " direction: ASC}) { totalCount edges { cursor node { id email role status expiresAt"
    " createdAt sendCount invitedBy { id name status } } } } } }"
)


async def three_paths(client, monkeypatch, query, variables, token):
    """Compiled with preloaded inviters, graphql-core with preloaded inviters, and
    graphql-core with each inviter resolved by `Invitation.invitedBy`'s resolver."""
    from app.schema.organizations import types as organization_types

    fast, slow = await both_paths(client, monkeypatch, query, variables, None, token)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(compiled, "ENABLED", False)
        patch.setattr(organization_types, "selected_node_fields", lambda info: set())
        resolved = await _post(client, query, variables, None, token)
    return fast, slow, resolved


@pytest.fixture
async def inviters(client) -> dict[str, Any]:
    """Invitations of one organization sent by members of every kind: ACTIVE, REMOVED,
    past their membership's expiry, since deleted (`invited_by` set null), nobody, and
    members of another organization where the owner is a plain USER (ACTIVE and
    BLOCKED: the one place an ADMIN+ viewer of the list is refused an inviter)."""
    from datetime import UTC, datetime, timedelta

    org = await create_org(client, "Acme")
    org_pk = pk_of(org.id, "Organization")
    other = await create_org(client, "Other")
    other_pk = pk_of(other.id, "Organization")
    owner_user = await User.get(id=pk_of(org.owner.user_id, "User"))
    await factories.make_member(other_pk, owner_user, OrganizationRole.USER)
    active = await factories.make_member(org_pk, role=OrganizationRole.ADMIN, name="Ann Active")
    removed = await factories.make_member(
        org_pk, role=OrganizationRole.ADMIN, status=MemberStatus.REMOVED, name="Rob Removed"
    )
    lapsed = await factories.make_member(org_pk, role=OrganizationRole.ADMIN, name="Lee Lapsed")
    lapsed.expires_at = datetime.now(UTC) - timedelta(minutes=1)  # not swept yet
    await lapsed.save()
    deleted = await factories.make_member(org_pk, role=OrganizationRole.ADMIN, name="Del Gone")
    outside = await factories.make_member(other_pk, name="Otto Outside")
    blocked = await factories.make_member(other_pk, status=MemberStatus.BLOCKED, name="Bo Blocked")
    senders: list[Member | None] = [active, removed, lapsed, deleted, outside, blocked, None]
    for i, sender in enumerate([*senders, active, removed]):
        await factories.make_invitation(
            org_pk, f"i{i}@example.com", invited_by=sender, expires_in=timedelta(days=1 + i)
        )
    await deleted.delete()
    return {"org": org, "ids": {"organization": org.id}, "owner": org.owner}


async def test_the_invitations_page_compiles_and_answers_what_the_resolvers_answer(
    client, inviters, monkeypatch
):
    engaged = Engaged(monkeypatch)
    variables = {"id": inviters["org"].id, "first": 50}
    fast, slow, resolved = await three_paths(
        client, monkeypatch, INVITATIONS_PAGE, variables, inviters["owner"].token
    )
    assert fast == slow == resolved
    assert engaged.most_items == 9  # all the edges, inviters included, by one plan
    status, body = fast
    assert status == 200 and "errors" not in body, body
    page = body["data"]["organization"]["invitations"]
    assert page["totalCount"] == 9
    inviter = {
        e["node"]["email"]: e["node"]["invitedBy"] and e["node"]["invitedBy"]["name"]
        for e in page["edges"]
    }
    assert inviter == {
        "i0@example.com": "Ann Active",
        "i1@example.com": "Rob Removed",  # ADMIN+ see REMOVED members
        "i2@example.com": "Lee Lapsed",
        "i3@example.com": None,  # deleted: the invitation keeps no inviter
        "i4@example.com": "Otto Outside",  # ACTIVE where the owner is a USER
        "i5@example.com": None,  # BLOCKED there: not visible to a USER
        "i6@example.com": None,
        "i7@example.com": "Ann Active",
        "i8@example.com": "Rob Removed",
    }
    statuses = {e["node"]["invitedBy"]["status"] for e in page["edges"] if e["node"]["invitedBy"]}
    assert statuses == {"ACTIVE", "REMOVED"}


@pytest.mark.parametrize(
    "selection",
    [
        "nodes { id invitedBy { id name } }",
        "edges { node { ... on Invitation { invitedBy { __typename id } } } }",
        "edges { node { who: invitedBy { name } email } }",
        "edges { node { invitedBy { id organization { name } } } }",  # not compiled
        "edges { node { id deliveryStatus invitedBy { name } } }",  # not compiled
        "totalCount pageInfo { hasNextPage } edges { cursor node { status } }",
    ],
)
@pytest.mark.parametrize("window", ["first: 3", "last: 2", "first: 0", "first: 4, offset: 5"])
async def test_invitations_page_selections_answer_the_same(
    client, inviters, monkeypatch, selection, window
):
    query = (
        "query($id: ID!) { organization(id: $id) { invitations("
        + window
        + ") { "
        + selection
        + " } } }"
    )
    variables = {"id": inviters["org"].id}
    fast, slow, resolved = await three_paths(
        client, monkeypatch, query, variables, inviters["owner"].token
    )
    assert fast == slow == resolved
    assert fast[0] == 200 and "errors" not in fast[1], fast


INVITATION_FIELDS = (
    "id email username role status message createdAt expiresAt acceptedAt sendCount"
    " sendEmail membershipExpiresAt deliveryStatus invitedBy { id name }"
)


async def test_invitations_read_from_rows_answer_what_node_answers_from_the_model(client, inviters):
    """The page reads its rows without Tortoise instances (InvitationRow); `node(id:)`
    reads the model: every field the same, for invitations of every status and with the
    optional columns set."""
    from datetime import UTC, datetime, timedelta

    from app.models import Invitation
    from app.models.enums import InvitationStatus

    org_pk = pk_of(inviters["org"].id, "Organization")
    for status in InvitationStatus:
        await factories.make_invitation(
            org_pk, f"{status.value.lower()}@example.com", status=status
        )
    await factories.make_invitation(org_pk, "late@example.com", expires_in=timedelta(days=-1))
    special = await factories.make_invitation(org_pk, "special@example.com", username="spec")
    special.message = "Welcome — ça va?"
    special.send_email = False
    special.membership_expires_at = datetime.now(UTC) + timedelta(days=30)
    await special.save()
    token = inviters["owner"].token
    query = (
        "query($id: ID!) { organization(id: $id) { invitations(first: 100) {"
        f" nodes {{ {INVITATION_FIELDS} }} }} }} }}"
    )
    _, body = await _post(client, query, {"id": inviters["org"].id}, None, token)
    listed = body["data"]["organization"]["invitations"]["nodes"]
    assert len(listed) == await Invitation.filter(organization_id=org_pk).count() == 16
    assert {n["status"] for n in listed} == {s.value for s in InvitationStatus}
    assert any(n["sendEmail"] is False and n["membershipExpiresAt"] for n in listed)
    for listed_node in listed:
        one = (
            f"query($id: ID!) {{ node(id: $id) {{ ... on Invitation {{ {INVITATION_FIELDS} }} }} }}"
        )
        _, single = await _post(client, one, {"id": listed_node["id"]}, None, token)
        assert single["data"]["node"] == listed_node


# --- Generated completers on a small schema of their own -------------------------------


@strawberry.type
class SmallItem:
    """A type with its own `is_type_of`: an answer per object, not per class."""

    name: str

    @classmethod
    def is_type_of(cls, obj: Any, _info: Any) -> bool:
        return isinstance(obj, SmallItem) and obj.name != "impostor"


@strawberry.type
class SmallBox:
    """A preloaded field whose attribute is not an identifier."""

    label: str

    @strawberry.field(metadata={PRELOADED: "preloaded value"})
    async def value(self) -> str:
        return "resolved"


def _boxed(label: str) -> SmallBox:
    box = SmallBox(label=label)
    setattr(box, "preloaded value", f"preloaded {label}")
    return box


@strawberry.type
class SmallQuery:
    @strawberry.field
    async def items(self) -> list[SmallItem]:
        return [SmallItem(name="first"), SmallItem(name="impostor"), SmallItem(name="last")]

    @strawberry.field
    async def boxes(self) -> list[SmallBox]:
        return [_boxed("a"), _boxed("b")]


def _small_schema() -> strawberry.Schema:
    """Types the application does not have, with the application's execution context."""
    small = strawberry.Schema(query=SmallQuery, execution_context_class=FastLeafExecutionContext)
    mark_fast_fields(small._schema, small.config.default_resolver)
    return small


async def _small_both_paths(monkeypatch, query: str) -> tuple[Any, Any]:
    small = _small_schema()
    answers = []
    for enabled in (True, False):
        monkeypatch.setattr(compiled, "ENABLED", enabled)
        result = await small.execute(query)
        answers.append((result.data, [e.formatted for e in result.errors or []]))
    return answers[0], answers[1]


async def test_an_is_type_of_of_its_own_is_asked_for_every_object(monkeypatch):
    """A type's own `is_type_of` may answer differently for two objects of one class: the
    plan asks it for each (the class is remembered only for Strawberry's own check)."""
    compiled.SHARED.clear()
    fast, slow = await _small_both_paths(monkeypatch, "{ items { name } }")
    assert fast == slow
    data, errors = fast
    assert data is None and "Expected value of type" in errors[0]["message"], fast
    assert errors[0]["path"] == ["items", 1]


async def test_a_preloaded_attribute_that_is_not_an_identifier_is_read(monkeypatch):
    """Generated code reads such an attribute with getattr (the name is a constant of the
    function, never written into its source)."""
    compiled.SHARED.clear()
    engaged = Engaged(monkeypatch)
    fast, slow = await _small_both_paths(monkeypatch, "{ boxes { label value } }")
    assert fast == slow
    assert fast[0] == {
        "boxes": [
            {"label": "a", "value": "preloaded a"},
            {"label": "b", "value": "preloaded b"},
        ]
    }
    assert engaged.count >= 1  # the compiled plan answered
