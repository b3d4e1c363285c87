"""Ownership transfer: requested by the owner, confirmed from the owner's email."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest

from app.auth.tokens import hash_token
from app.ids import pk_of
from app.models import AuditEvent, Member, OutboxMail, OwnershipTransfer
from app.models.enums import TransferStatus
from tests.support.api import (
    Org,
    add_member,
    add_member_by_invitation,
    create_org,
    create_org_by_api,
    gql,
    mutate,
    ok,
    refused,
    sign_up,
    top_codes,
)

TRANSFER = """
mutation($id: ID!) {
  transferOwnership(input: {memberId: $id}) {
    errors { code field message }
    transfer { id createdAt expiresAt from { id role } to { id name role } }
  }
}"""
CONFIRM = """
mutation($token: String!) {
  confirmOwnershipTransfer(input: {token: $token}) {
    errors { code field message } organization { id name viewerRole }
  }
}"""
CANCEL = """
mutation($id: ID!) {
  cancelOwnershipTransfer(input: {organizationId: $id}) { errors { code field } ok }
}"""
PENDING = """
query($id: ID!) {
  organization(id: $id) {
    pendingOwnershipTransfer { id createdAt expiresAt from { id } to { id name } }
  }
}"""
ROLES = """
query($id: ID!) {
  organization(id: $id) { viewerRole members(first: 100) { nodes { id name role } } }
}"""
AUDIT = """
query($id: ID!) {
  organization(id: $id) { auditEvents(first: 100) { nodes { action targetType data } } }
}"""
UPDATE_ROLE = """
mutation($id: ID!, $role: OrganizationRole!) {
  updateMemberRole(input: {memberId: $id, role: $role}) { errors { code } member { role } }
}"""
BLOCK = """
mutation($id: ID!) { blockMember(input: {memberId: $id}) { errors { code } member { status } } }"""
REMOVE = """
mutation($id: ID!) { removeMember(input: {memberId: $id}) { errors { code } member { status } } }"""
OWNER_ID = """
query($id: ID!) { organization(id: $id) { members(roles: [OWNER]) { nodes { id } } } }"""


async def owner_member_id(client, org: Org) -> str:
    data = await ok(client, OWNER_ID, {"id": org.id}, org.owner.token)
    return data["organization"]["members"]["nodes"][0]["id"]


async def transfer(client, org: Org, member_id: str, token: str | None = None) -> dict:
    return (await mutate(client, TRANSFER, {"id": member_id}, token or org.owner.token))["transfer"]


async def confirm_mail_token(mailbox, email: str, count: int, timeout: float = 10.0) -> str:
    """The token of the `count`-th ownership confirmation mail to `email`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        links = [m.link() for m in mailbox.to(email) if "/ownership/confirm?" in m.text]
        if len(links) >= count:
            url, token = links[count - 1]
            assert url == "http://roster.test/ownership/confirm"
            return token
        await asyncio.sleep(0.02)
    raise AssertionError(f"no ownership mail #{count} to {email}")


async def owners(org: Org) -> list[int]:
    """Member ids holding OWNER, straight from the table the unique index guards."""
    return await Member.filter(
        organization_id=pk_of(org.id, "Organization"), role="OWNER"
    ).values_list("id", flat=True)


async def snapshot() -> tuple:
    """What a refusal must leave unchanged."""
    return (
        await OwnershipTransfer.all().order_by("id").values_list("id", "status", "token_hash"),
        await Member.all().order_by("id").values_list("id", "role", "status"),
        await AuditEvent.all().count(),
        await OutboxMail.all().count(),
    )


async def actions(client, org: Org, token: str) -> list[str]:
    data = await ok(client, AUDIT, {"id": org.id}, token)
    return [e["action"] for e in data["organization"]["auditEvents"]["nodes"]]


@pytest.mark.parametrize("target_role", ["ADMIN", "USER"])
async def test_transfer_mails_the_owner_and_confirmation_swaps_roles(client, mailbox, target_role):
    org = await create_org_by_api(client, mailbox)
    owner_id = await owner_member_id(client, org)
    target, target_id = await add_member_by_invitation(
        client, mailbox, org, role=target_role, name="Tia"
    )
    created = await transfer(client, org, target_id)
    assert created["from"] == {"id": owner_id, "role": "OWNER"}
    assert created["to"] == {"id": target_id, "name": "Tia", "role": target_role}
    lifetime = datetime.fromisoformat(created["expiresAt"]) - datetime.fromisoformat(
        created["createdAt"]
    )
    assert timedelta(hours=71, minutes=59) < lifetime <= timedelta(hours=72, seconds=1)

    token = await confirm_mail_token(mailbox, org.owner.email, 1)
    mail = mailbox.to(org.owner.email)[-1]
    assert "Acme" in mail.subject and "Tia" in mail.text and token in mail.html
    # Mailed to the owner only; stored only as a hash.
    await asyncio.sleep(0.3)
    assert len(mailbox.to(target.email)) == 2  # verification + invitation, nothing more
    assert len(mailbox.mails) == 4  # two sign-ups, the invitation, the transfer
    row = await OwnershipTransfer.get(id=pk_of(created["id"], "OwnershipTransfer"))
    assert row.token_hash == hash_token(token) and row.status == TransferStatus.PENDING

    pending = (await ok(client, PENDING, {"id": org.id}, org.owner.token))["organization"]
    assert pending["pendingOwnershipTransfer"]["id"] == created["id"]
    assert pending["pendingOwnershipTransfer"]["to"]["id"] == target_id
    # Nothing moves until the owner confirms.
    assert await owners(org) == [pk_of(owner_id, "Member")]

    payload = await mutate(client, CONFIRM, {"token": token}, org.owner.token)
    assert payload["organization"] == {"id": org.id, "name": "Acme", "viewerRole": "ADMIN"}
    roles = {
        m["id"]: m["role"]
        for m in (await ok(client, ROLES, {"id": org.id}, target.token))["organization"]["members"][
            "nodes"
        ]
    }
    assert roles == {owner_id: "ADMIN", target_id: "OWNER"}
    assert await owners(org) == [pk_of(target_id, "Member")]
    row = await OwnershipTransfer.get(id=row.id)
    assert (row.status, row.token_hash) == (TransferStatus.CONFIRMED, None)
    assert row.confirmed_at is not None
    assert (await ok(client, PENDING, {"id": org.id}, target.token))["organization"][
        "pendingOwnershipTransfer"
    ] is None
    assert (await actions(client, org, target.token))[:2] == [
        "ownership.transfer_confirmed",
        "ownership.transfer_requested",
    ]
    # The link works once.
    assert await refused(client, CONFIRM, {"token": token}, org.owner.token) == ["INVALID_TOKEN"]


async def test_only_the_owner_may_transfer_or_cancel(client, mailbox):
    org = await create_org(client)
    admin, admin_id = await add_member(client, mailbox, org, role="ADMIN")
    user, user_id = await add_member(client, mailbox, org, role="USER")
    outsider = await sign_up(client)
    before = await snapshot()
    for token in (admin.token, user.token):
        body = await gql(client, TRANSFER, {"id": user_id}, token)
        assert top_codes(body) == ["FORBIDDEN"]
        body = await gql(client, CANCEL, {"id": org.id}, token)
        assert top_codes(body) == ["FORBIDDEN"]
    assert await refused(client, TRANSFER, {"id": admin_id}, outsider.token) == ["NOT_FOUND"]
    assert await refused(client, CANCEL, {"id": org.id}, outsider.token) == ["NOT_FOUND"]
    assert top_codes(await gql(client, TRANSFER, {"id": admin_id})) == ["UNAUTHENTICATED"]
    assert await snapshot() == before


async def test_transfer_targets_must_be_active_admins_or_users(client, mailbox):
    org = await create_org(client)
    owner_id = await owner_member_id(client, org)
    _, viewer = await add_member(client, mailbox, org, role="VIEWER")
    _, blocked = await add_member(client, mailbox, org, role="ADMIN")
    _, removed = await add_member(client, mailbox, org, role="USER")
    await mutate(client, BLOCK, {"id": blocked}, org.owner.token)
    await mutate(client, REMOVE, {"id": removed}, org.owner.token)
    await asyncio.sleep(0.3)  # the removal notice
    before = await snapshot()
    for member_id in (owner_id, viewer, blocked, removed):
        data = await ok(client, TRANSFER, {"id": member_id}, org.owner.token)
        payload = data["transferOwnership"]
        assert payload["transfer"] is None
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [
            ("TRANSFER_TARGET_INVALID", ["memberId"])
        ]
    assert await snapshot() == before


async def test_only_the_owner_signed_in_confirms(client, mailbox):
    org = await create_org(client)
    target, target_id = await add_member(client, mailbox, org, role="ADMIN")
    await transfer(client, org, target_id)
    token = await confirm_mail_token(mailbox, org.owner.email, 1)
    stranger = await sign_up(client)
    before = await snapshot()
    assert top_codes(await gql(client, CONFIRM, {"token": token})) == ["UNAUTHENTICATED"]
    for person in (target, stranger):
        assert await refused(client, CONFIRM, {"token": token}, person.token) == ["FORBIDDEN_ROLE"]
    assert await snapshot() == before
    await mutate(client, CONFIRM, {"token": token}, org.owner.token)
    assert await owners(org) == [pk_of(target_id, "Member")]


@pytest.mark.parametrize("token", ["short", "x" * 43, "not a token at all, no no no", "é" * 43])
async def test_unknown_or_malformed_tokens_are_invalid(client, token):
    org = await create_org(client)
    assert await refused(client, CONFIRM, {"token": token}, org.owner.token) == ["INVALID_TOKEN"]


async def test_a_new_transfer_replaces_the_pending_one(client, mailbox):
    org = await create_org(client)
    _, first_id = await add_member(client, mailbox, org, role="ADMIN", name="First")
    second, second_id = await add_member(client, mailbox, org, role="USER", name="Second")
    first = await transfer(client, org, first_id)
    old_token = await confirm_mail_token(mailbox, org.owner.email, 1)
    await transfer(client, org, second_id)
    new_token = await confirm_mail_token(mailbox, org.owner.email, 2)

    old = await OwnershipTransfer.get(id=pk_of(first["id"], "OwnershipTransfer"))
    assert (old.status, old.token_hash) == (TransferStatus.REPLACED, None)
    pending = (await ok(client, PENDING, {"id": org.id}, org.owner.token))["organization"]
    assert pending["pendingOwnershipTransfer"]["to"]["name"] == "Second"
    assert await refused(client, CONFIRM, {"token": old_token}, org.owner.token) == [
        "INVALID_TOKEN"
    ]
    assert await owners(org) == [pk_of(await owner_member_id(client, org), "Member")]

    await mutate(client, CONFIRM, {"token": new_token}, org.owner.token)
    assert await owners(org) == [pk_of(second_id, "Member")]
    events = await ok(client, AUDIT, {"id": org.id}, second.token)
    requested = [
        e for e in events["organization"]["auditEvents"]["nodes"]
        if e["action"] == "ownership.transfer_requested"
    ]  # fmt: skip
    assert requested[0]["data"]["replacedTransferId"] == first["id"]


async def test_cancel_kills_the_link(client, mailbox):
    org = await create_org(client)
    _, target_id = await add_member(client, mailbox, org, role="ADMIN")
    await transfer(client, org, target_id)
    token = await confirm_mail_token(mailbox, org.owner.email, 1)
    assert (await mutate(client, CANCEL, {"id": org.id}, org.owner.token))["ok"] is True
    (row,) = await OwnershipTransfer.all()
    assert (row.status, row.token_hash) == (TransferStatus.CANCELLED, None)
    assert (await ok(client, PENDING, {"id": org.id}, org.owner.token))["organization"][
        "pendingOwnershipTransfer"
    ] is None
    assert (await actions(client, org, org.owner.token))[0] == "ownership.transfer_cancelled"
    before = await snapshot()
    assert await refused(client, CONFIRM, {"token": token}, org.owner.token) == ["INVALID_TOKEN"]
    assert await refused(client, CANCEL, {"id": org.id}, org.owner.token) == ["NOT_FOUND"]
    assert await snapshot() == before


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ("block", "TRANSFER_TARGET_INVALID"),
        ("viewer", "TRANSFER_TARGET_INVALID"),
        # Removal ends the pending transfer at once, so its link is dead.
        ("remove", "INVALID_TOKEN"),
    ],
)
async def test_a_target_no_longer_eligible_cannot_be_confirmed(client, mailbox, change, code):
    org = await create_org(client)
    _, target_id = await add_member(client, mailbox, org, role="USER")
    await transfer(client, org, target_id)
    token = await confirm_mail_token(mailbox, org.owner.email, 1)
    if change == "block":
        await mutate(client, BLOCK, {"id": target_id}, org.owner.token)
    elif change == "viewer":
        await mutate(client, UPDATE_ROLE, {"id": target_id, "role": "VIEWER"}, org.owner.token)
    else:
        await mutate(client, REMOVE, {"id": target_id}, org.owner.token)
    before = await snapshot()
    assert await refused(client, CONFIRM, {"token": token}, org.owner.token) == [code]
    assert await snapshot() == before
    assert await owners(org) == [pk_of(await owner_member_id(client, org), "Member")]


async def test_an_expired_transfer_cannot_be_confirmed(client, mailbox):
    org = await create_org(client)
    _, target_id = await add_member(client, mailbox, org, role="ADMIN")
    await transfer(client, org, target_id)
    token = await confirm_mail_token(mailbox, org.owner.email, 1)
    await OwnershipTransfer.all().update(expires_at=datetime.now(UTC) - timedelta(minutes=1))
    before = await snapshot()
    data = await ok(client, CONFIRM, {"token": token}, org.owner.token)
    (error,) = data["confirmOwnershipTransfer"]["errors"]
    assert error["code"] == "INVALID_TOKEN" and "expired" in error["message"]
    assert await snapshot() == before
    assert (await ok(client, PENDING, {"id": org.id}, org.owner.token))["organization"][
        "pendingOwnershipTransfer"
    ] is None
    # A new transfer replaces the expired one.
    await transfer(client, org, target_id)
    token = await confirm_mail_token(mailbox, org.owner.email, 2)
    await mutate(client, CONFIRM, {"token": token}, org.owner.token)
    assert await owners(org) == [pk_of(target_id, "Member")]


async def test_the_new_owner_holds_the_owner_rights(client, mailbox):
    org = await create_org(client)
    old_owner_id = await owner_member_id(client, org)
    target, target_id = await add_member(client, mailbox, org, role="ADMIN")
    await transfer(client, org, target_id)
    await mutate(
        client,
        CONFIRM,
        {"token": await confirm_mail_token(mailbox, org.owner.email, 1)},
        org.owner.token,
    )
    # The old owner is an ADMIN now: no more transfers, and the new owner is protected.
    body = await gql(client, TRANSFER, {"id": old_owner_id}, org.owner.token)
    assert top_codes(body) == ["FORBIDDEN"]
    assert await refused(client, REMOVE, {"id": target_id}, org.owner.token) == ["OWNER_PROTECTED"]
    # The new owner may hand it back.
    await transfer(client, Org(id=org.id, owner=target), old_owner_id)
    token = await confirm_mail_token(mailbox, target.email, 1)
    await mutate(client, CONFIRM, {"token": token}, target.token)
    assert await owners(org) == [pk_of(old_owner_id, "Member")]


async def test_concurrent_confirmations_make_exactly_one_owner(client, mailbox):
    """On PostgreSQL the requests really overlap; SQLite runs them one at a time."""
    org = await create_org(client)
    _, target_id = await add_member(client, mailbox, org, role="ADMIN")
    await transfer(client, org, target_id)
    token = await confirm_mail_token(mailbox, org.owner.email, 1)
    bodies = await asyncio.gather(
        *(gql(client, CONFIRM, {"token": token}, org.owner.token) for _ in range(8))
    )
    codes = sorted(
        tuple(e["code"] for e in b["data"]["confirmOwnershipTransfer"]["errors"]) for b in bodies
    )
    assert codes == [()] + [("INVALID_TOKEN",)] * 7
    assert await owners(org) == [pk_of(target_id, "Member")]
    assert await AuditEvent.filter(action="ownership.transfer_confirmed").count() == 1


async def test_concurrent_transfers_confirmations_and_cancels_keep_one_owner(client, mailbox):
    org = await create_org(client)
    owner_pk = pk_of(await owner_member_id(client, org), "Member")
    _, a = await add_member(client, mailbox, org, role="ADMIN", name="Amy")
    _, b = await add_member(client, mailbox, org, role="USER", name="Bob")
    await transfer(client, org, a)
    token = await confirm_mail_token(mailbox, org.owner.email, 1)
    requests = [
        *(gql(client, CONFIRM, {"token": token}, org.owner.token) for _ in range(4)),
        *(gql(client, TRANSFER, {"id": b}, org.owner.token) for _ in range(4)),
        *(gql(client, CANCEL, {"id": org.id}, org.owner.token) for _ in range(2)),
    ]
    bodies = await asyncio.gather(*requests)
    allowed = {"INVALID_TOKEN", "FORBIDDEN_ROLE", "FORBIDDEN", "NOT_FOUND"}
    for body in bodies:
        assert set(top_codes(body)) <= {"FORBIDDEN"}, body
        for payload in (body.get("data") or {}).values():
            if payload:
                assert {e["code"] for e in payload["errors"]} <= allowed, payload
    (owner,) = await owners(org)
    confirmed = await OwnershipTransfer.filter(status=TransferStatus.CONFIRMED).count()
    assert confirmed <= 1
    if confirmed:
        assert owner == pk_of(a, "Member")
        old = await Member.get(id=owner_pk)
        assert old.role == "ADMIN"
    else:
        assert owner == owner_pk
    assert await OwnershipTransfer.filter(status=TransferStatus.PENDING).count() <= 1
    assert await OwnershipTransfer.filter(token_hash__isnull=False).count() <= 1


async def test_concurrent_transfers_leave_one_pending_with_one_live_link(client, mailbox):
    org = await create_org(client)
    _, a = await add_member(client, mailbox, org, role="ADMIN", name="Amy")
    _, b = await add_member(client, mailbox, org, role="USER", name="Bob")
    bodies = await asyncio.gather(
        *(gql(client, TRANSFER, {"id": target}, org.owner.token) for target in [a, b] * 3)
    )
    assert all(b["data"]["transferOwnership"]["errors"] == [] for b in bodies), bodies
    (pending,) = await OwnershipTransfer.filter(status=TransferStatus.PENDING)
    assert await OwnershipTransfer.filter(status=TransferStatus.REPLACED).count() == 5
    assert await OwnershipTransfer.filter(token_hash__isnull=False).count() == 1
    tokens = [await confirm_mail_token(mailbox, org.owner.email, n) for n in range(1, 7)]
    live = [t for t in tokens if hash_token(t) == pending.token_hash]
    assert len(live) == 1
    for token in tokens:
        if token != live[0]:
            assert await refused(client, CONFIRM, {"token": token}, org.owner.token) == [
                "INVALID_TOKEN"
            ]
    await mutate(client, CONFIRM, {"token": live[0]}, org.owner.token)
    assert await owners(org) == [pending.to_member_id]
