"""Seats: who counts, when a new invitation is refused, and races at the last seat."""

from __future__ import annotations

import asyncio

from tests.support.api import (
    PASSWORD,
    add_member,
    create_org,
    gql,
    mutate,
    refused,
    sign_up_by_api,
    unique_email,
)
from tests.support.invitations import (
    ACCEPT,
    BLOCK,
    DECLINE,
    EXTEND,
    INVITE,
    INVITE_MANY,
    REMOVE,
    RESEND,
    REVOKE,
    SIGN_UP_INVITED,
    expire,
    invitation,
    invite,
    invite_refused,
    org_state,
    seats,
    set_org,
    token_for,
)


async def test_seats_used_counts_members_and_live_pending_invitations(client, mailbox):
    org = await create_org(client)
    assert await seats(client, org) == 1  # the owner
    _, blocked_id = await add_member(client, mailbox, org)
    _, removed_id = await add_member(client, mailbox, org)
    assert await seats(client, org) == 3
    await mutate(client, BLOCK, {"id": blocked_id}, org.owner.token)
    assert await seats(client, org) == 3  # BLOCKED still holds a seat
    await mutate(client, REMOVE, {"id": removed_id}, org.owner.token)
    assert await seats(client, org) == 2  # removal frees it at once
    pending = await invite(client, org, unique_email())
    assert await seats(client, org) == 3
    await expire(pending["id"])
    assert await seats(client, org) == 2  # an expired invitation holds none


async def test_invite_at_the_seat_limit_is_refused_and_writes_nothing(client, mailbox):
    org = await create_org(client)
    await set_org(client, org, seatLimit=2)
    await invite(client, org, unique_email())
    email = unique_email()
    before = await org_state(client, org)
    assert await invite_refused(client, org, email) == ["SEAT_LIMIT_REACHED"]
    assert await org_state(client, org) == before
    await asyncio.sleep(0.4)  # the outbox worker polls every 0.2 s
    assert mailbox.to(email) == []


async def test_null_seat_limit_is_unlimited(client):
    org = await create_org(client)
    await set_org(client, org, seatLimit=1)
    assert await invite_refused(client, org, unique_email()) == ["SEAT_LIMIT_REACHED"]
    await set_org(client, org, seatLimit=None)
    for _ in range(3):
        await invite(client, org, unique_email())
    assert await seats(client, org) == 4


async def test_accepting_a_counted_invitation_never_fails_for_seats(client, mailbox):
    org = await create_org(client)
    await set_org(client, org, seatLimit=3)
    person = await sign_up_by_api(client)
    await invite(client, org, person.email)
    newcomer = await invite(client, org, unique_email())
    assert await seats(client, org) == 3
    # Lowered below usage meanwhile: allowed, nobody is removed.
    updated = await set_org(client, org, seatLimit=1)
    assert updated["seatLimit"] == 1 and updated["seatsUsed"] == 3
    token = await token_for(mailbox, person.email, count=2)
    member = (await mutate(client, ACCEPT, {"token": token}, person.token))["member"]
    assert member["status"] == "ACTIVE"
    # signUp with an invitation token also joins without a seat check.
    signup_token = await token_for(mailbox, newcomer["email"])
    payload = await mutate(
        client,
        SIGN_UP_INVITED,
        {
            "input": {
                "email": newcomer["email"],
                "password": PASSWORD,
                "name": "New Comer",
                "invitationToken": signup_token,
            }
        },
    )
    assert payload["member"]["status"] == "ACTIVE"
    assert await seats(client, org) == 3


async def test_a_limit_below_usage_only_blocks_new_invitations(client, mailbox):
    org = await create_org(client)
    _, member_id = await add_member(client, mailbox, org)
    pending = await invite(client, org, unique_email())
    await set_org(client, org, seatLimit=2)
    assert await seats(client, org) == 3
    assert await invite_refused(client, org, unique_email()) == ["SEAT_LIMIT_REACHED"]
    # Pending invitations keep working: resend and extend of a live one take no new seat.
    await mutate(client, RESEND, {"id": pending["id"]}, org.owner.token)
    await mutate(client, EXTEND, {"id": pending["id"], "days": 2}, org.owner.token)
    await mutate(client, REVOKE, {"id": pending["id"]}, org.owner.token)
    assert await seats(client, org) == 2
    assert await invite_refused(client, org, unique_email()) == ["SEAT_LIMIT_REACHED"]
    await mutate(client, REMOVE, {"id": member_id}, org.owner.token)
    assert (await invite(client, org, unique_email()))["status"] == "PENDING"


async def test_resending_an_expired_invitation_takes_a_seat_again(client, mailbox):
    org = await create_org(client)
    await set_org(client, org, seatLimit=2)
    old = await invite(client, org, unique_email())
    await mailbox.wait_for(old["email"])
    await expire(old["id"])
    other = await invite(client, org, unique_email())
    before = await org_state(client, org)
    assert await refused(client, RESEND, {"id": old["id"]}, org.owner.token) == [
        "SEAT_LIMIT_REACHED"
    ]
    assert await org_state(client, org) == before
    assert (await invitation(client, org, old["id"]))["status"] == "EXPIRED"
    assert (await invitation(client, org, old["id"]))["sendCount"] == 1
    await mutate(client, REVOKE, {"id": other["id"]}, org.owner.token)
    resent = (await mutate(client, RESEND, {"id": old["id"]}, org.owner.token))["invitation"]
    assert resent["status"] == "PENDING"
    assert await seats(client, org) == 2


async def test_extending_an_expired_invitation_takes_a_seat_again(client):
    org = await create_org(client)
    await set_org(client, org, seatLimit=2)
    old = await invite(client, org, unique_email())
    await expire(old["id"])
    other = await invite(client, org, unique_email())
    before = await org_state(client, org)
    codes = await refused(client, EXTEND, {"id": old["id"], "days": 5}, org.owner.token)
    assert codes == ["SEAT_LIMIT_REACHED"]
    assert await org_state(client, org) == before
    assert (await invitation(client, org, old["id"]))["status"] == "EXPIRED"
    await mutate(client, REVOKE, {"id": other["id"]}, org.owner.token)
    extended = await mutate(client, EXTEND, {"id": old["id"], "days": 5}, org.owner.token)
    assert extended["invitation"]["status"] == "PENDING"
    assert await seats(client, org) == 2


async def test_revoke_decline_and_removal_free_a_seat_at_once(client, mailbox):
    org = await create_org(client)
    await set_org(client, org, seatLimit=2)
    first = await invite(client, org, unique_email())
    assert await invite_refused(client, org, unique_email()) == ["SEAT_LIMIT_REACHED"]
    await mutate(client, REVOKE, {"id": first["id"]}, org.owner.token)
    second = await invite(client, org, unique_email())
    assert await invite_refused(client, org, unique_email()) == ["SEAT_LIMIT_REACHED"]
    await mutate(client, DECLINE, {"token": await token_for(mailbox, second["email"])})
    person = await sign_up_by_api(client)
    await invite(client, org, person.email)
    await mutate(
        client, ACCEPT, {"token": await token_for(mailbox, person.email, count=2)}, person.token
    )
    assert await invite_refused(client, org, unique_email()) == ["SEAT_LIMIT_REACHED"]
    members = await gql(
        client,
        "query($id: ID!) { organization(id: $id) { members { nodes { id role } } } }",
        {"id": org.id},
        org.owner.token,
    )
    (member_id,) = [
        m["id"] for m in members["data"]["organization"]["members"]["nodes"] if m["role"] == "USER"
    ]
    await mutate(client, REMOVE, {"id": member_id}, org.owner.token)
    assert (await invite(client, org, unique_email()))["status"] == "PENDING"


async def test_invite_members_stops_at_the_seat_limit(client, mailbox):
    org = await create_org(client)
    await set_org(client, org, seatLimit=3)
    emails = [unique_email("bulk") for _ in range(4)]
    payload = await mutate(
        client,
        INVITE_MANY,
        {"input": {"organizationId": org.id, "emails": emails}},
        org.owner.token,
    )
    codes = [[e["code"] for e in r["errors"]] for r in payload["results"]]
    assert codes == [[], [], ["SEAT_LIMIT_REACHED"], ["SEAT_LIMIT_REACHED"]]
    assert await seats(client, org) == 3
    await mailbox.wait_for(emails[1])
    await asyncio.sleep(0.4)
    assert mailbox.to(emails[2]) == [] and mailbox.to(emails[3]) == []


# --- races over HTTP (real concurrency on PostgreSQL) ----------------------------------------


async def _invite_raw(client, org, email):
    body = await gql(
        client, INVITE, {"input": {"organizationId": org.id, "email": email}}, org.owner.token
    )
    assert "errors" not in body, body
    return body["data"]["inviteMember"]


async def test_two_concurrent_invitations_at_the_last_seat(client):
    org = await create_org(client)
    for used in range(1, 6):  # several rounds: one lucky interleaving proves little
        await set_org(client, org, seatLimit=used + 1)
        before = await org_state(client, org)
        results = await asyncio.gather(
            *[_invite_raw(client, org, unique_email("race")) for _ in range(2)]
        )
        codes = sorted(tuple(e["code"] for e in r["errors"]) for r in results)
        assert codes == [(), ("SEAT_LIMIT_REACHED",)]
        after = await org_state(client, org)
        assert after["invitations"] == before["invitations"] + 1
        assert await seats(client, org) == used + 1


async def test_many_concurrent_invitations_at_the_last_seats(client):
    org = await create_org(client)
    await set_org(client, org, seatLimit=4)
    results = await asyncio.gather(
        *[_invite_raw(client, org, unique_email("race")) for _ in range(8)]
    )
    codes = [tuple(e["code"] for e in r["errors"]) for r in results]
    assert codes.count(()) == 3
    assert codes.count(("SEAT_LIMIT_REACHED",)) == 5
    assert await seats(client, org) == 4


async def test_ten_concurrent_invitations_of_one_email_create_exactly_one(client, mailbox):
    org = await create_org(client)
    email = unique_email("same")
    before = await org_state(client, org)
    results = await asyncio.gather(*[_invite_raw(client, org, email) for _ in range(10)])
    codes = [tuple(e["code"] for e in r["errors"]) for r in results]
    assert codes.count(()) == 1
    assert codes.count(("ALREADY_INVITED",)) == 9
    after = await org_state(client, org)
    assert after["invitations"] == before["invitations"] + 1
    assert after["audit"] == before["audit"] + 1
    assert after["outbox"] == before["outbox"] + 1
    await mailbox.wait_for(email)
    await asyncio.sleep(0.4)
    assert len(mailbox.to(email)) == 1
