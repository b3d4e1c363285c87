"""/join-requests/decision, the landing page of a join request's decision mail: strict
headers, unusable tokens, what it shows, escaping; it changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.ids import pk_of
from app.models import Domain
from app.models.enums import DomainJoinPolicy
from tests.pages.flows import heading, snapshot, text
from tests.pages.test_pages import EVIL, get
from tests.support.api import create_org, mutate, sign_up
from tests.support.mailbox import Mailbox

PATH = "/join-requests/decision"
REQUEST = """
mutation($org: ID!) {
  requestToJoin(input: {organizationId: $org}) { errors { code } joinRequest { id } }
}"""
APPROVE = """
mutation($id: ID!) {
  approveJoinRequest(input: {joinRequestId: $id}) { errors { code } member { id } }
}"""
DENY = """
mutation($id: ID!) { denyJoinRequest(input: {joinRequestId: $id}) { errors { code } joinRequest { id } } }"""


async def decision_token(client, mailbox: Mailbox, name: str, approve: bool) -> str:
    org = await create_org(client, name=name)
    domain = Domain(
        organization_id=pk_of(org.id, "Organization"),
        domain="pages-corp.example",
        verification_email="it@pages-corp.example",
        verified_at=datetime.now(UTC),
        auto_join_role="VIEWER",
    )
    domain.set_join_policy(DomainJoinPolicy.REQUEST)
    await domain.save()
    person = await sign_up(client, email="pat@pages-corp.example")
    asked = await mutate(client, REQUEST, {"org": org.id}, person.token)
    await mutate(
        client, APPROVE if approve else DENY, {"id": asked["joinRequest"]["id"]}, org.owner.token
    )
    (mail,) = await mailbox.wait_for(person.email)
    return mail.token


@pytest.mark.parametrize("token", [None, "", "A" * 43, "<b>not-a-token</b>", "x" * 5000])
async def test_unusable_tokens_show_a_clear_state(client, token):
    body = await get(client, PATH, token, status=404)
    assert "not valid" in heading(body)
    assert "<b>not-a-token</b>" not in body


async def test_an_approval_shows_the_organization_role_and_a_way_in(client, mailbox):
    token = await decision_token(client, mailbox, "Pages Co", approve=True)
    before = await snapshot()
    body = await get(client, PATH, token)
    assert heading(body) == "You joined Pages Co"
    page = text(body)
    assert "approved" in page and "VIEWER" in page and "Open Roster" in page
    assert 'href="http://roster.test/"' in body
    assert "<form" not in body
    assert await snapshot() == before  # showing it changes nothing
    await get(client, PATH, token)  # and it can be opened again


async def test_a_denial_says_so_and_escapes_the_name(client, mailbox):
    token = await decision_token(client, mailbox, EVIL, approve=False)
    body = await get(client, PATH, token)
    assert "declined" in text(body)
    assert "<script>" not in body and "&lt;script&gt;" in body
