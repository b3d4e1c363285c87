"""The event feed under concurrent writers on PostgreSQL: a reader resuming from its
`endCursor` sees every event exactly once, in a stable order, although ids are allocated
before commit and transactions commit out of id order.

SQLite runs one write transaction at a time (BEGIN IMMEDIATE), so ids are handed out in
commit order and there is nothing to race: these tests are PostgreSQL only.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest
from tortoise.transactions import in_transaction

from app.ids import pk_of
from app.models import AuditEvent
from app.services import audit
from app.services.audit import Actor
from tests.conftest import BACKEND
from tests.support.api import Org, create_org, ok

pytestmark = pytest.mark.skipif(
    BACKEND != "postgres",
    reason="SQLite serialises write transactions: ids are allocated in commit order, so "
    "there are no concurrent committers to race (PostgreSQL only)",
)

WRITERS = 20
TRANSACTIONS_PER_WRITER = 8
FEED = """
query($id: ID!, $after: String) {
  organization(id: $id) {
    events(first: 100, after: $after) {
      pageInfo { endCursor }
      edges { node { id action } }
    }
  }
}"""


@pytest.fixture
def settings_overrides() -> dict:
    # Room for every writer's transaction and the reader's requests at once.
    return {"db_pool_size": WRITERS + 10}


async def record(org_pk: int, action: str) -> None:
    await audit.record(
        Actor.for_user(None, None),
        action,
        organization_id=org_pk,
        target_type="Organization",
        target_id=org_pk,
    )


async def read_feed(client, org: Org, after: str | None) -> tuple[list[int], str | None]:
    """One page of the feed over HTTP: the events' pks and the endCursor (None when empty)."""
    data = await ok(client, FEED, {"id": org.id, "after": after}, org.owner.token)
    events = data["organization"]["events"]
    pks = [pk_of(edge["node"]["id"], "AuditEvent") or 0 for edge in events["edges"]]
    return pks, events["pageInfo"]["endCursor"]


async def read_when_listed(client, org: Org, after: str | None) -> tuple[list[int], str | None]:
    """The next page once it holds something: a transaction open elsewhere on the server
    (another test database's) may hold the horizon back for a moment."""
    for _ in range(100):
        pks, end = await read_feed(client, org, after)
        if pks:
            break
        await asyncio.sleep(0.05)
    return pks, end


async def read_naively(org_pk: int, after: int) -> list[int]:
    """What "WHERE id > cursor ORDER BY id" would list: the design the feed must not have."""
    return list(
        await AuditEvent.filter(organization_id=org_pk, id__gt=after)
        .order_by("id")
        .values_list("id", flat=True)
    )


async def table_order(org_pk: int) -> list[int]:
    """The table's rows of the organization in the feed's order, (tx_id, id)."""
    return list(
        await AuditEvent.filter(organization_id=org_pk)
        .order_by("tx_id", "id")
        .values_list("id", flat=True)
    )


async def test_a_late_committer_is_neither_skipped_nor_listed_out_of_order(client):
    """Deterministic interleaving: A inserts first (smaller id) but commits after B."""
    org = await create_org(client)
    org_pk = pk_of(org.id, "Organization") or 0
    seen, cursor = await read_feed(client, org, None)
    naive_cursor = max(seen)
    a_inserted, b_committed = asyncio.Event(), asyncio.Event()

    async def transaction_a() -> None:
        async with in_transaction():
            await record(org_pk, "test.a")
            a_inserted.set()
            await b_committed.wait()

    task = asyncio.create_task(transaction_a())
    try:
        await a_inserted.wait()
        async with in_transaction():
            await record(org_pk, "test.b")

        # B is committed, A is not: the naive reader lists B and moves its cursor past A's
        # id; the feed lists nothing yet (A, begun earlier, is still open).
        naive = await read_naively(org_pk, naive_cursor)
        assert len(naive) == 1
        naive_cursor = naive[-1]
        page, end = await read_feed(client, org, cursor)
        assert page == [] and end is None
    finally:
        b_committed.set()
        await task
    a_pk, b_pk = (
        await AuditEvent.filter(organization_id=org_pk, action__in=["test.a", "test.b"])
        .order_by("action")
        .values_list("id", flat=True)
    )
    assert a_pk < b_pk
    # The naive reader has lost A for good; the feed lists A then B, once.
    assert await read_naively(org_pk, naive_cursor) == []
    page, end = await read_when_listed(client, org, cursor)
    assert page == [a_pk, b_pk]
    assert await read_feed(client, org, end) == ([], None)


async def test_twenty_concurrent_writers_a_polling_reader_sees_every_event_once(client):
    org = await create_org(client)
    org_pk = pk_of(org.id, "Organization") or 0
    rng = random.Random(20)
    done = asyncio.Event()

    async def writer(n: int) -> None:
        for t in range(TRANSACTIONS_PER_WRITER):
            async with in_transaction():
                for e in range(rng.randint(1, 3)):
                    await record(org_pk, f"test.w{n}.t{t}.e{e}")
                    await asyncio.sleep(rng.uniform(0, 0.015))
                if rng.random() < 0.1:
                    await asyncio.sleep(0.05)  # now and then a long transaction
            await asyncio.sleep(rng.uniform(0, 0.005))

    seen: list[int] = []
    naive_seen: list[int] = []
    stats: dict[str, Any] = {"polls": 0}

    async def reader() -> None:
        cursor: str | None = None
        naive_cursor = 0
        idle_after_done = 0
        while idle_after_done < 2:
            finished = done.is_set()
            pks, end = await read_feed(client, org, cursor)
            seen.extend(pks)
            cursor = end or cursor
            naive = await read_naively(org_pk, naive_cursor)
            naive_seen.extend(naive)
            naive_cursor = naive[-1] if naive else naive_cursor
            stats["polls"] += 1
            if finished and not pks:
                idle_after_done += 1
                await asyncio.sleep(0.05)  # another transaction on the server may hold it
            await asyncio.sleep(0.002)

    reading = asyncio.create_task(reader())
    await asyncio.gather(*(writer(n) for n in range(WRITERS)))
    done.set()
    await asyncio.wait_for(reading, 60)

    table = await table_order(org_pk)
    assert len(table) > WRITERS * TRANSACTIONS_PER_WRITER
    assert len(seen) == len(set(seen)), "an event was listed twice"
    assert set(seen) == set(table), f"missing {sorted(set(table) - set(seen))}"
    assert seen == table, "the feed's order is not the table's (tx_id, id) order"
    # The same run read with "id > cursor": late committers fall behind its cursor.
    missed = set(table) - set(naive_seen)
    print(
        f"\n{len(table)} events, {stats['polls']} polls; "
        f"naive id > cursor reader missed {len(missed)}"
    )
