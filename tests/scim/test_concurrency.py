"""Concurrent SCIM PATCHes to one group leave a consistent team (run it on PostgreSQL:
ROSTER_TEST_BACKEND=postgres; SQLite serializes writers anyway)."""

from __future__ import annotations

import asyncio

from app.ids import pk_of
from app.models import AuditEvent, Member, TeamMember
from tests.scim.support import connect, new_user


async def test_twenty_concurrent_patches_to_one_group(client, mailbox):
    scim = await connect(
        client, default_role="VIEWER", mappings=[{"group": "Engineering", "role": "USER"}]
    )
    leaving = [
        (await scim.post("/Users", new_user(f"a{n}@example.com"), status=201))["id"]
        for n in range(10)
    ]
    joining = [
        (await scim.post("/Users", new_user(f"b{n}@example.com"), status=201))["id"]
        for n in range(10)
    ]
    group = await scim.post(
        "/Groups",
        {"displayName": "Engineering", "members": [{"value": v} for v in leaving]},
        status=201,
    )
    path = f"/Groups/{group['id']}"
    removes = [
        scim.patch(
            path,
            {"Operations": [{"op": "Remove", "path": f'members[value eq "{v}"]'}]},
            status=200,
        )
        for v in leaving
    ]
    adds = [
        scim.patch(
            path,
            {"Operations": [{"op": "add", "path": "members", "value": [{"value": v}]}]},
            status=200,
        )
        for v in joining
    ]
    # Interleave the removals and additions, all in flight at once.
    await asyncio.gather(*[op for pair in zip(removes, adds, strict=True) for op in pair])

    team_id = pk_of(group["id"], "Team")
    members = set(await TeamMember.filter(team_id=team_id).values_list("member_id", flat=True))
    assert members == {pk_of(v, "Member") for v in joining}
    read = await scim.get(path)
    assert sorted(m["value"] for m in read["members"]) == sorted(joining)
    roles = dict(
        await Member.filter(id__in=[pk_of(v, "Member") for v in leaving + joining]).values_list(
            "id", "role"
        )
    )
    assert {roles[pk_of(v, "Member")] for v in leaving} == {"VIEWER"}
    assert {roles[pk_of(v, "Member")] for v in joining} == {"USER"}
    added = await AuditEvent.filter(action="team.members_added").count()
    removed = await AuditEvent.filter(action="team.members_removed").count()
    assert (added, removed) == (11, 10)  # the creation's addition, then one per PATCH


async def test_two_providers_creating_one_new_account_at_once_share_it(client, mailbox):
    from app.models import User

    first, second = await connect(client), await connect(client)
    for n in range(5):
        email = f"both{n}@example.com"
        created = await asyncio.gather(
            first.post("/Users", new_user(email), status=201),
            second.post("/Users", new_user(email), status=201),
        )
        assert created[0]["id"] != created[1]["id"]
        assert await User.filter(email=email).count() == 1
