"""A subscriber whose membership or temporary ADMIN role ends is cut off from that instant,
by the subscription's own access re-check, before any expiry sweep has run (the sweep is
held off here)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app import clock
from tests.support.api import add_member, create_org, mutate
from tests.support.members import UPDATE_ROLE
from tests.transport.test_subscriptions import subscribed

SET_EXPIRY = """
mutation($id: ID!, $at: DateTime) {
  setMemberExpiry(input: {memberId: $id, expiresAt: $at}) { errors { code } }
}"""
GRANT_UNTIL = """
mutation($id: ID!, $role: OrganizationRole!, $until: DateTime) {
  updateMemberRole(input: {memberId: $id, role: $role, until: $until}) { errors { code } }
}"""


@pytest.fixture
def settings_overrides() -> dict:
    return {"expiry_sweep_seconds": 60.0}


@pytest.fixture(autouse=True)
def real_clock():
    clock.set_offset(None)
    yield
    clock.set_offset(None)


def move_past(instant: datetime) -> None:
    clock.set_offset((instant - datetime.now(UTC)).total_seconds() + 1)


async def ended_with(ws) -> list[str]:
    """The codes the stream ended with (events still in flight are skipped)."""
    while True:
        message = await ws.next_message(timeout=8)
        if message["type"] == "next" and "errors" not in message["payload"]:
            continue
        assert message["type"] == "next", message
        assert (await ws.next_message())["type"] == "complete"
        return [e["extensions"]["code"] for e in message["payload"]["errors"]]


async def test_an_expired_membership_ends_the_subscription(client, mailbox):
    org = await create_org(client)
    admin, member_id = await add_member(client, mailbox, org, "ADMIN")
    end = clock.now() + timedelta(minutes=10)
    await mutate(client, SET_EXPIRY, {"id": member_id, "at": end.isoformat()}, org.owner.token)
    ws, _ = await subscribed(client, org, admin.token)
    try:
        move_past(end)
        assert await ended_with(ws) == ["FORBIDDEN"]
    finally:
        await ws.close()


async def test_a_temporary_admin_role_ending_ends_the_subscription(client, mailbox):
    org = await create_org(client)
    user, member_id = await add_member(client, mailbox, org, "USER")
    until = clock.now() + timedelta(minutes=10)
    variables = {"id": member_id, "role": "ADMIN", "until": until.isoformat()}
    await mutate(client, GRANT_UNTIL, variables, org.owner.token)
    ws, _ = await subscribed(client, org, user.token)
    try:
        move_past(until)
        assert await ended_with(ws) == ["FORBIDDEN"]
    finally:
        await ws.close()


async def test_a_lasting_admin_is_not_cut_off(client, mailbox):
    """The control: moving the clock alone ends nothing for an admin without an end."""
    org = await create_org(client)
    admin, member_id = await add_member(client, mailbox, org, "ADMIN")
    ws, _ = await subscribed(client, org, admin.token)
    try:
        move_past(clock.now() + timedelta(minutes=10))
        await mutate(client, UPDATE_ROLE, {"id": member_id, "role": "ADMIN"}, org.owner.token)
        rename = 'mutation { updateOrganization(input: {organizationId: "%s", name: "Renamed"}) { errors { code } } }'
        await mutate(client, rename % org.id, None, org.owner.token)
        message = await ws.next_message(timeout=8)
        assert message["type"] == "next" and "errors" not in message["payload"], message
    finally:
        await ws.close()
