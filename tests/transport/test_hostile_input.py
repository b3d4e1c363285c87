"""Hostile input: huge lists, deep nesting, huge strings, control characters, odd unicode.

Each is refused with a client error code (or HTTP 413/400) and writes nothing,
or is accepted and stored exactly; never INTERNAL, never a 5xx.
"""

from __future__ import annotations

import io
import json

import pytest

from app.ids import to_global_id
from app.models import (
    AuditEvent,
    Invitation,
    Member,
    Organization,
    OutboxMail,
    Project,
    ProjectAssignment,
    User,
)
from app.models.enums import MemberStatus
from tests.support.api import (
    CREATE_ORG,
    INVITE,
    LOG_IN,
    PASSWORD,
    SIGN_UP,
    add_member,
    create_org,
    gql,
    mutate,
    ok,
    refused,
    sign_up,
    top_codes,
)
from tests.support.invitations import INVITE_MANY
from tests.support.members import MEMBERS, REMOVE_MANY, UPDATE_MEMBER, org_pk

HUGE = 900 * 1024  # under the 1 MiB body limit with the rest of the request
ASSIGN = """
mutation($input: AssignProjectsInput!) {
  assignProjects(input: $input) { errors { code field } assignments { id } }
}"""
CREATE_PROJECT = """
mutation($input: CreateProjectInput!) {
  createProject(input: $input) { errors { code field } project { id name } }
}"""
EVENTS = """
query($id: ID!, $actions: [String!]) {
  organization(id: $id) { auditEvents(first: 10, actions: $actions) { totalCount } }
}"""
ME = "{ me { id name } }"


async def post_raw(client, body: bytes, token: str | None = None):
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return await client.post("/graphql", data=io.BytesIO(body), headers=headers)


def assert_not_internal(body: dict) -> None:
    assert "INTERNAL" not in top_codes(body), body
    assert "Traceback" not in json.dumps(body)


async def written(org_id: str | None = None) -> dict[str, int]:
    """Row counts a refusal must leave unchanged."""
    counts = {
        "users": await User.all().count(),
        "organizations": await Organization.all().count(),
        "removed": await Member.filter(status=MemberStatus.REMOVED).count(),
        "members": await Member.all().count(),
        "invitations": await Invitation.all().count(),
        "assignments": await ProjectAssignment.all().count(),
        "projects": await Project.all().count(),
        "audit": await AuditEvent.all().count(),
        "outbox": await OutboxMail.all().count(),
    }
    return counts


# -- huge lists ---------------------------------------------------------------------------


async def test_remove_members_with_100000_ids_is_refused_by_the_body_limit(client):
    org = await create_org(client)
    ids = [to_global_id("Member", 1_000_000 + i) for i in range(100_000)]
    before = await written()
    body = json.dumps({"query": REMOVE_MANY, "variables": {"ids": ids}}).encode()
    assert len(body) > 1024 * 1024
    response = await post_raw(client, body, org.owner.token)
    assert response.status == 413
    assert await written() == before


async def test_remove_members_with_10000_ids_is_invalid_input(client, mailbox):
    org = await create_org(client)
    _, member_id = await add_member(client, mailbox, org)
    before = await written()
    ids = [member_id] * 10_000
    codes = await refused(client, REMOVE_MANY, {"ids": ids}, org.owner.token)
    assert codes == ["INVALID_INPUT"]
    assert await written() == before


async def test_assign_projects_with_thousands_of_member_ids_is_invalid_input(client, mailbox):
    org = await create_org(client)
    _, member_id = await add_member(client, mailbox, org)
    project = await mutate(
        client,
        CREATE_PROJECT,
        {"input": {"organizationId": org.id, "name": "Web"}},
        org.owner.token,
    )
    before = await written()
    for member_ids in ([member_id] * 5_000, [to_global_id("Member", i) for i in range(1, 5_001)]):
        variables = {
            "input": {
                "organizationId": org.id,
                "memberIds": member_ids,
                "assignments": [{"projectId": project["project"]["id"], "role": "USE"}],
            }
        }
        data = await ok(client, ASSIGN, variables, org.owner.token)
        assert data["assignProjects"] == {
            "errors": [{"code": "INVALID_INPUT", "field": ["memberIds"]}],
            "assignments": None,
        }
    assert await written() == before


async def test_invite_members_with_10000_emails_is_invalid_input(client, mailbox):
    org = await create_org(client)
    before = await written()
    emails = [f"bulk{i}@example.com" for i in range(10_000)]
    data = await ok(
        client,
        INVITE_MANY,
        {"input": {"organizationId": org.id, "emails": emails}},
        org.owner.token,
    )
    assert data["inviteMembers"]["errors"] == [{"code": "INVALID_INPUT", "field": ["emails"]}]
    assert data["inviteMembers"]["results"] is None
    assert await written() == before


async def test_audit_events_with_10000_actions_is_invalid_input(client):
    org = await create_org(client)
    body = await gql(
        client, EVENTS, {"id": org.id, "actions": [f"a{i}" for i in range(10_000)]}, org.owner.token
    )
    assert top_codes(body) == ["INVALID_INPUT"], body
    assert body["data"] == {"organization": {"auditEvents": None}}


# -- deep nesting -------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [1_000, 100_000])
async def test_deeply_nested_json_in_variables_is_a_clean_400(client, depth):
    """Nesting beyond what the JSON parser recurses into is a bad request, not a crash."""
    org = await create_org(client)
    before = await written()
    nested = "[" * depth + "]" * depth
    body = (
        '{"query": '
        + json.dumps(REMOVE_MANY)
        + ', "variables": {"ids": '
        + nested
        + ', "extra": '
        + ('{"a":' * depth + "1" + "}" * depth)
        + "}}"
    ).encode()
    response = await post_raw(client, body, org.owner.token)
    assert response.status in (200, 400), await response.text()
    answer = await response.json()
    assert_not_internal(answer)
    assert answer.get("data") is None and answer["errors"]
    assert await written() == before


async def test_deeply_nested_lists_and_objects_in_typed_variables_are_refused(client):
    org = await create_org(client)
    before = await written()
    deep_list: object = "x"
    deep_object: object = {"projectId": "x", "role": "USE"}
    for _ in range(200):
        deep_list = [deep_list]
        deep_object = {"projectId": deep_object, "role": "USE"}
    variables = {
        "input": {
            "organizationId": org.id,
            "memberIds": deep_list,
            "assignments": [deep_object],
        }
    }
    body = await gql(client, ASSIGN, variables, org.owner.token)
    assert_not_internal(body)
    assert body.get("data") is None and body["errors"]
    assert await written() == before


async def test_deeply_nested_input_literals_in_the_document_are_refused(client):
    org = await create_org(client)
    before = await written()
    for depth in (300, 3_000):
        literal = "[" * depth + '"x"' + "]" * depth
        query = (
            f'mutation {{ assignProjects(input: {{organizationId: "{org.id}", '
            f"memberIds: {literal}, assignments: []}}) {{ errors {{ code }} }} }}"
        )
        body = await gql(client, query, token=org.owner.token)
        assert_not_internal(body)
        assert body.get("data") is None and body["errors"]
    assert await written() == before


# -- very long strings --------------------------------------------------------------------


def _sign_up_input(**override: str) -> dict:
    return {"email": "long@example.com", "password": PASSWORD, "name": "Lou Long", **override}


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("email", "a" * HUGE + "@example.com", "INVALID_EMAIL"),
        ("password", "p" * HUGE, "WEAK_PASSWORD"),
        ("name", "n" * HUGE, "INVALID_INPUT"),
        ("invitationToken", "t" * HUGE, "INVALID_TOKEN"),
    ],
)
async def test_huge_strings_in_sign_up_are_refused(client, field, value, code):
    before = await written()
    codes = await refused(client, SIGN_UP, {"input": _sign_up_input(**{field: value})})
    assert codes == [code]
    assert await written() == before


async def test_huge_strings_in_log_in_are_invalid_credentials(client):
    await sign_up(client, email="lou@example.com")
    for variables in (
        {"email": "lou@example.com", "password": "p" * HUGE},
        {"email": "l" * HUGE, "password": PASSWORD},
    ):
        assert await refused(client, LOG_IN, {"input": variables}) == ["INVALID_CREDENTIALS"]


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("email", "e" * HUGE + "@example.com", "INVALID_EMAIL"),
        ("username", "u" * HUGE, "INVALID_INPUT"),
        ("message", "m" * HUGE, "INVALID_INPUT"),
        ("organizationId", "o" * HUGE, "NOT_FOUND"),
        ("projectAssignments", [{"projectId": "p" * HUGE, "role": "USE"}], "NOT_FOUND"),
    ],
)
async def test_huge_strings_in_invite_member_are_refused(client, mailbox, field, value, code):
    org = await create_org(client)
    before = await written()
    variables = {"input": {"organizationId": org.id, "email": "in@example.com", field: value}}
    codes = await refused(client, INVITE, variables, org.owner.token)
    assert codes == [code]
    assert await written() == before


QUERIES_WITH_STRINGS = """
query($id: ID!, $slug: String, $search: String, $after: String, $actions: [String!]) {
  bySlug: organization(slug: $slug) { id }
  organization(id: $id) {
    members(first: 5, search: $search, after: $after) { totalCount }
    invitations(first: 5, search: $search) { totalCount }
    projects(first: 5, search: $search) { nodes { id } }
    auditEvents(first: 5, actions: $actions) { totalCount }
  }
}"""


@pytest.mark.parametrize("value", ["s" * HUGE, "\x00", "nul\x00byte", "\x1b[2J", "\u202e", "%_\\"])
async def test_odd_strings_in_query_arguments_are_never_internal(client, value):
    """Huge, NUL (which PostgreSQL text cannot hold), escapes, LIKE wildcards."""
    org = await create_org(client)
    short = value[:100]
    variables = {"id": org.id, "slug": short, "search": value, "actions": [short]}
    for extra in ({}, {"after": short}):
        body = await gql(client, QUERIES_WITH_STRINGS, {**variables, **extra}, org.owner.token)
        assert_not_internal(body)
        if "errors" in body:
            assert set(top_codes(body)) == {"INVALID_INPUT"}, body
        else:
            assert body["data"]["bySlug"] is None
            assert body["data"]["organization"]["members"]["totalCount"] == 0


async def test_odd_emails_in_log_in_are_invalid_credentials(client):
    for email in ("nul\x00@example.com", "\x00", "lou@example.com\x00", "\u202e@example.com"):
        variables = {"input": {"email": email, "password": PASSWORD}}
        assert await refused(client, LOG_IN, variables) == ["INVALID_CREDENTIALS"]


# -- control characters and unicode in names ---------------------------------------------

CONTROL_NAMES = [
    "Nul\x00Byte",
    "\x00",
    "Bell\x07",
    "Esc\x1b[31mRed",
    "Del\x7f",
    "C1\x85\x9b",
    "Zero\u200bWidth",
    "Private\ue000Use",
]
UNICODE_NAMES = [
    "Zoë Ångström",
    "Emoji 😀🎉",
    "Flag 🇫🇷",
    "Skin 👋🏽",
    "Family 👩‍👩‍👧",  # joined by ZERO WIDTH JOINER
    "Combining e\u0301 a\u0308\u0323",
    "Zalgo Z\u0351\u0344\u0300\u0316a\u0352\u0301",
    "محمد الأحمد",
    "Mixed \u202eevil\u202c",  # RIGHT-TO-LEFT OVERRIDE
    "\u2067isolate\u2069",
    "עברית English",
    "中文名字",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "ｆｕｌｌｗｉｄｔｈ",
]


def _accepted_exactly_or_invalid(payload: dict, sent: str, read_back: str | None) -> None:
    codes = [e["code"] for e in payload["errors"]]
    if codes:
        assert codes == ["INVALID_INPUT"], payload
    else:
        assert read_back == sent, (read_back, sent)


@pytest.mark.parametrize("name", CONTROL_NAMES)
async def test_control_characters_in_names_are_invalid_input(client, name):
    owner = await sign_up(client, email="ctl@example.com")
    before = await written()
    assert await refused(client, SIGN_UP, {"input": _sign_up_input(name=name)}) == ["INVALID_INPUT"]
    assert await refused(client, CREATE_ORG, {"input": {"name": name}}, owner.token) == [
        "INVALID_INPUT"
    ]
    assert await written() == before
    org = await create_org(client, owner=owner)
    before = await written()
    project = {"input": {"organizationId": org.id, "name": name}}
    assert await refused(client, CREATE_PROJECT, project, owner.token) == ["INVALID_INPUT"]
    assert await written() == before


async def test_unpaired_surrogates_are_a_bad_request(client):
    """`"\\ud800"` in JSON decodes to a string no database, hash or mail can take."""
    before = await written()
    for variables in (
        _sign_up_input(password="Lone\ud800Surrogate password"),
        _sign_up_input(email="lone\udfff@example.com"),
        _sign_up_input(name="Lone\udc00"),
    ):
        body = json.dumps({"query": SIGN_UP, "variables": {"input": variables}}).encode()
        assert b"\\ud" in body
        response = await post_raw(client, body)
        assert response.status == 400
        answer = await response.json()
        assert top_codes(answer) == ["BAD_REQUEST"] and "data" not in answer
    # In the document itself: a syntax error (graphql-core checks the escape).
    query = 'mutation { logIn(input: {email: "x@example.com", password: "\\ud800"}) { token } }'
    body = await gql(client, query)
    assert_not_internal(body)
    assert body.get("data") is None
    # A correctly paired surrogate escape is just a character.
    paired = json.dumps({"query": ME}).replace("me", "\\u006de").encode()
    assert (await (await post_raw(client, paired)).json()) == {"data": {"me": None}}
    assert await written() == before


async def test_null_bytes_in_a_password_or_email_are_never_internal(client):
    before = await written()
    for variables, code in (
        (_sign_up_input(email="nul\x00@example.com"), "INVALID_EMAIL"),
        (_sign_up_input(email="tab\t@example.com"), "INVALID_EMAIL"),
    ):
        assert await refused(client, SIGN_UP, {"input": variables}) == [code]
    assert await written() == before
    # A password may hold any character the policy accepts; it is only hashed.
    person = await sign_up(client, email="nul@example.com")
    body = await gql(
        client, LOG_IN, {"input": {"email": person.email, "password": "nul\x00" + PASSWORD}}
    )
    assert body["data"]["logIn"]["errors"] == [{"code": "INVALID_CREDENTIALS"}]


@pytest.mark.parametrize("name", UNICODE_NAMES)
async def test_unicode_names_round_trip_exactly_or_are_invalid_input(client, mailbox, name):
    body = await gql(client, SIGN_UP, {"input": _sign_up_input(name=name)})
    assert_not_internal(body)
    payload = body["data"]["signUp"]
    if payload["errors"]:
        assert [e["code"] for e in payload["errors"]] == ["INVALID_INPUT"]
        assert await User.all().count() == 0
        owner = await sign_up(client)
    else:
        me = await ok(client, ME, token=payload["token"])
        assert me["me"]["name"] == name
        owner = await sign_up(client)
    body = await gql(client, CREATE_ORG, {"input": {"name": name}}, owner.token)
    assert_not_internal(body)
    payload = body["data"]["createOrganization"]
    stored = await Organization.filter(name=name).first()
    _accepted_exactly_or_invalid(payload, name, stored.name if stored else None)
    if payload["organization"]:
        assert payload["organization"]["name"] == name
    org = await create_org(client, name="Plain", owner=owner)
    _, member_id = await add_member(client, mailbox, org)
    body = await gql(
        client, UPDATE_MEMBER, {"input": {"memberId": member_id, "title": name}}, owner.token
    )
    assert_not_internal(body)
    payload = body["data"]["updateMember"]
    stored_member = await Member.filter(organization_id=org_pk(org), title__not_isnull=True).first()
    _accepted_exactly_or_invalid(payload, name, stored_member.title if stored_member else None)
    # Searching for it never fails either.
    body = await gql(client, MEMBERS, {"id": org.id, "search": name}, owner.token)
    assert_not_internal(body)
    assert "errors" not in body
