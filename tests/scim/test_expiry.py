"""SCIM honours temporary access from the instant, before any sweep has run: a member
past `expiresAt` reads as REMOVED (404, not listed, not a group member, no seat, their
userName free), and a temporary role past its end reads as the role it reverts to
wherever SCIM compares roles.

The server runs in this process: the tests move its clock with `clock.set_offset`; the
sweeper's interval is long, so it never runs during a test.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

import pytest

from app import clock
from app.models import AuditEvent, Organization
from app.models.enums import MemberStatus, OrganizationRole
from app.services import expiry_sweep
from tests.scim.support import connect, events_of, member, new_user
from tests.support.api import add_member, mutate
from tests.support.clock import move_to

SET_EXPIRY = """
mutation($id: ID!, $at: DateTime) {
  setMemberExpiry(input: {memberId: $id, expiresAt: $at}) { errors { code } member { id } }
}"""
UPDATE_ROLE = """
mutation($id: ID!, $role: OrganizationRole!, $until: DateTime) {
  updateMemberRole(input: {memberId: $id, role: $role, until: $until}) {
    errors { code } member { id role }
  }
}"""


@pytest.fixture
def settings_overrides() -> dict:
    return {"expiry_sweep_seconds": 3600.0}


def by_user_name(user_name: str) -> str:
    return "/Users?filter=" + quote(f'userName eq "{user_name}"', safe="")


def deactivate(active: bool) -> dict:
    return {"Operations": [{"op": "replace", "value": {"active": active}}]}


async def test_an_expired_member_reads_as_removed_from_the_instant(client, mailbox):
    scim = await connect(client)
    organization = await Organization.get()
    email = "temp@example.com"
    created = await scim.post("/Users", new_user(email), status=201)
    group = await scim.post(
        "/Groups", {"displayName": "Staff", "members": [{"value": created["id"]}]}, status=201
    )
    at = clock.now() + timedelta(minutes=10)
    await mutate(
        client, SET_EXPIRY, {"id": created["id"], "at": at.isoformat()}, scim.org.owner.token
    )
    organization.seat_limit = 2  # the owner and this member
    await organization.save()

    move_to(at, -1)  # a second before: still there, and every seat taken
    assert (await scim.get(f"/Users/{created['id']}", status=200))["active"] is True
    assert (await scim.get(by_user_name(email)))["totalResults"] == 1
    assert [m["value"] for m in (await scim.get(f"/Groups/{group['id']}"))["members"]] == [
        created["id"]
    ]
    error = await scim.post("/Users", new_user("next@example.com"), status=403)
    assert "SEAT_LIMIT_REACHED" in error["detail"]

    move_to(at, 1)  # a second after: removed, everywhere SCIM looks
    await scim.get(f"/Users/{created['id']}", status=404)
    await scim.patch(f"/Users/{created['id']}", deactivate(False), status=404)
    await scim.delete(f"/Users/{created['id']}", status=404)
    assert (await scim.get(by_user_name(email)))["totalResults"] == 0
    listed = await scim.get("/Users")
    assert created["id"] not in [r["id"] for r in listed["Resources"]]
    assert "members" not in await scim.get(f"/Groups/{group['id']}")
    await scim.patch(
        f"/Groups/{group['id']}",
        {"Operations": [{"op": "add", "path": "members", "value": [{"value": created["id"]}]}]},
        status=400,
    )
    # Nothing was swept: the row is as it was, no event written by the refusals.
    row = await member(created["id"])
    assert row.status == MemberStatus.ACTIVE and row.expires_at == at
    assert await events_of("member.expired") == []
    assert await events_of("member.blocked") == []

    # Their seat is free: another member fits.
    await scim.post("/Users", new_user("next@example.com"), status=201)
    organization.seat_limit = 3
    await organization.save()
    # Their userName is free too: the provider brings them back (the same id); the
    # expiry is written first, then the return.
    again = await scim.post("/Users", new_user(email), status=201)
    assert again["id"] == created["id"] and again["active"] is True
    row = await member(created["id"])
    assert row.status == MemberStatus.ACTIVE and row.expires_at is None
    actions = [
        e.action
        for e in await AuditEvent.filter(target_id=row.id, target_type="Member").order_by("id")
    ]
    assert actions[-2:] == ["member.expired", "member.joined"]
    # The expiry took them off the team; coming back does not put them on it again.
    assert "members" not in await scim.get(f"/Groups/{group['id']}")


async def test_a_blocked_member_past_expiry_reads_as_removed(client, mailbox):
    scim = await connect(client)
    created = await scim.post("/Users", new_user("blocked@example.com"), status=201)
    await scim.patch(f"/Users/{created['id']}", deactivate(False), status=200)
    at = clock.now() + timedelta(minutes=10)
    await mutate(
        client, SET_EXPIRY, {"id": created["id"], "at": at.isoformat()}, scim.org.owner.token
    )
    assert (await scim.get(f"/Users/{created['id']}", status=200))["active"] is False
    move_to(at, 1)
    await scim.get(f"/Users/{created['id']}", status=404)
    await scim.patch(f"/Users/{created['id']}", deactivate(True), status=404)
    assert await events_of("member.unblocked") == []


async def test_scim_compares_roles_as_they_read(client, mailbox):
    """A temporary ADMIN past its end is a USER to SCIM: taking the member over writes the
    revert (by the system) and no role change of its own. Before the end, SCIM's role
    replaces the temporary one for good (no revert pending)."""
    scim = await connect(client)  # defaultRole USER
    owner = scim.org.owner.token
    _, ended_id = await add_member(client, mailbox, scim.org, email="ended@example.com")
    _, pending_id = await add_member(
        client, mailbox, scim.org, name="Pat Pending", email="pending@example.com"
    )
    until = clock.now() + timedelta(minutes=10)
    for member_id in (ended_id, pending_id):
        payload = await mutate(
            client,
            UPDATE_ROLE,
            {"id": member_id, "role": "ADMIN", "until": until.isoformat()},
            owner,
        )
        assert payload["member"]["role"] == "ADMIN"
    before = await AuditEvent.filter(action="member.role_changed").count()

    move_to(until, 1)
    await scim.put(f"/Users/{ended_id}", new_user("ended@example.com"), status=200)
    row = await member(ended_id)
    assert row.role == OrganizationRole.USER and row.role_reverts_to is None
    assert row.managed_by == "SCIM"
    (reverted,) = await events_of("member.role_reverted")
    assert reverted.actor_user_id is None
    assert await AuditEvent.filter(action="member.role_changed").count() == before

    clock.set_offset(None)  # before the pending one's end
    await scim.put(f"/Users/{pending_id}", new_user("pending@example.com"), status=200)
    row = await member(pending_id)
    assert row.role == OrganizationRole.USER
    assert row.role_expires_at is None and row.role_reverts_to is None
    changed = await AuditEvent.filter(action="member.role_changed").order_by("-id").first()
    assert changed is not None
    assert changed.data == {
        "before": "ADMIN",
        "after": "USER",
        "until": None,
        "revertsTo": None,
        "clearedUntil": until.isoformat(),
        "via": "scim",
    }


async def test_a_temporary_role_equal_to_the_groups_role_becomes_lasting(client, mailbox):
    scim = await connect(client)  # defaultRole USER
    _, member_id = await add_member(
        client, mailbox, scim.org, role="VIEWER", email="viewer@example.com"
    )
    until = clock.now() + timedelta(minutes=10)
    variables = {"id": member_id, "role": "USER", "until": until.isoformat()}
    await mutate(client, UPDATE_ROLE, variables, scim.org.owner.token)
    await scim.put(f"/Users/{member_id}", new_user("viewer@example.com"), status=200)
    row = await member(member_id)
    assert row.role == OrganizationRole.USER
    assert row.role_expires_at is None and row.role_reverts_to is None  # no revert to VIEWER
    changed = await AuditEvent.filter(action="member.role_changed").order_by("-id").first()
    assert changed is not None and changed.data["via"] == "scim"
    assert changed.data["clearedUntil"] == until.isoformat()
    move_to(until, 1)
    assert await expiry_sweep.sweep_once() == 0
    assert (await member(member_id)).role == OrganizationRole.USER
