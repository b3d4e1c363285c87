"""The live stream's broker, directly: bounded queues, the per-process bound, and that
subscribers see the feed's rows in the feed's order, read once per organization."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from app.models import AuditEvent
from app.services import event_stream
from app.services.audit import NOTIFY_CHANNEL
from app.services.event_stream import (
    BROKER,
    QUEUE_LIMIT,
    Subscriber,
    SubscriberTooSlow,
    TooManySubscribers,
)
from app.services.events import organization_updated
from app.services.tx import atomic
from tests.conftest import BACKEND
from tests.support.factories import actor_for, make_organization, make_user


def event(action: str = "organization.updated") -> AuditEvent:
    return AuditEvent(id=1, action=action, target_type="Organization", tx_id=0)


async def test_a_subscriber_that_falls_behind_is_cut_off():
    subscriber = Subscriber(1, None)
    for _ in range(QUEUE_LIMIT):
        subscriber.offer(event())
    assert await subscriber.next(0) is not None
    subscriber.offer(event())
    subscriber.offer(event())  # QUEUE_LIMIT waiting, and one more
    with pytest.raises(SubscriberTooSlow):
        await subscriber.next(0)


async def test_types_filter_what_a_subscriber_is_offered():
    subscriber = Subscriber(1, frozenset({"member.removed"}))
    subscriber.offer(event("organization.updated"))
    assert await subscriber.next(0) is None
    subscriber.offer(event("member.removed"))
    assert (await subscriber.next(0)).action == "member.removed"


async def test_the_process_bound(db, database_url, monkeypatch):
    monkeypatch.setattr(event_stream, "MAX_SUBSCRIBERS", 1)
    await BROKER.start(database_url)
    try:
        user = await make_user()
        organization, _ = await make_organization(user)
        async with BROKER.subscribe(organization.id, None):
            with pytest.raises(TooManySubscribers):
                async with BROKER.subscribe(organization.id, None):
                    pass
        assert BROKER.open_subscriptions == 0
    finally:
        await BROKER.stop()


async def test_subscribers_get_the_feeds_rows_in_order(db, database_url):
    await BROKER.start(database_url)
    try:
        user = await make_user()
        organization, member = await make_organization(user)
        actor = await actor_for(member)
        async with (
            BROKER.subscribe(organization.id, None) as first,
            BROKER.subscribe(organization.id, None) as second,
        ):
            for name in ("One", "Two", "Three"):
                async with atomic():
                    await organization_updated(actor, organization, {}, {"name": name})
            seen = [[(await s.next(5)).id for _ in range(3)] for s in (first, second)]
        feed = await AuditEvent.filter(organization_id=organization.id).order_by("tx_id", "id")
        assert seen[0] == seen[1] == [e.id for e in feed[-3:]]
    finally:
        await BROKER.stop()


async def test_a_rolled_back_event_is_never_delivered(db, database_url):
    await BROKER.start(database_url)
    try:
        user = await make_user()
        organization, member = await make_organization(user)
        actor = await actor_for(member)
        async with BROKER.subscribe(organization.id, None) as subscriber:
            with pytest.raises(RuntimeError):
                async with atomic():
                    await organization_updated(actor, organization, {}, {"name": "Never"})
                    raise RuntimeError("roll back")
            async with atomic():
                await organization_updated(actor, organization, {}, {"name": "Kept"})
            delivered = await subscriber.next(5)
            assert delivered is not None and delivered.data["after"] == {"name": "Kept"}
            assert await subscriber.next(1.5) is None  # the safety-net read finds nothing more
    finally:
        await BROKER.stop()


async def test_the_safety_net_read_runs_while_other_organizations_keep_waking_it(db, database_url):
    """An event written unannounced (another process on SQLite, a lost notification) is
    delivered by the periodic re-read even when wake-ups for another organization never
    let the broker idle."""

    await BROKER.start(database_url)
    try:
        user = await make_user()
        quiet, _ = await make_organization(user, "Quiet")
        busy, busy_owner = await make_organization(user, "Busy")
        actor = await actor_for(busy_owner)
        async with (
            BROKER.subscribe(quiet.id, None) as listener,
            BROKER.subscribe(busy.id, None),
        ):
            await AuditEvent.create(
                organization_id=quiet.id,
                action="organization.updated",
                target_type="Organization",
                target_id=quiet.id,
                data={},
            )
            for i in range(60):  # every 50 ms, for up to 3 s
                async with atomic():
                    await organization_updated(actor, busy, {}, {"name": f"Busy {i}"})
                delivered = await listener.next(0.05)
                if delivered is not None:
                    break
            assert delivered is not None and delivered.organization_id == quiet.id
    finally:
        await BROKER.stop()


@pytest.mark.skipif(BACKEND != "postgres", reason="NOTIFY is PostgreSQL's")
async def test_the_notification_is_sent_at_commit_and_never_for_a_rollback(db, database_url):
    user = await make_user()
    organization, member = await make_organization(user)
    actor = await actor_for(member)
    received: asyncio.Queue[str] = asyncio.Queue()
    listener = await asyncpg.connect(database_url.replace("postgres://", "postgresql://", 1))
    try:
        await listener.add_listener(NOTIFY_CHANNEL, lambda *args: received.put_nowait(args[3]))
        with pytest.raises(RuntimeError):
            async with atomic():
                await organization_updated(actor, organization, {}, {"name": "Never"})
                raise RuntimeError("roll back")
        async with atomic():
            await organization_updated(actor, organization, {}, {"name": "Kept"})
            await organization_updated(actor, organization, {}, {"name": "Kept again"})
            await asyncio.sleep(0.3)
            assert received.empty()  # not before the commit
        assert await asyncio.wait_for(received.get(), 10) == str(organization.id)
        await asyncio.sleep(0.3)
        # Once for the transaction's two events, and nothing for the rolled-back one.
        assert received.empty()
    finally:
        await listener.close()


def test_the_listener_connects_as_the_pool_does_without_pool_options():
    parameters = event_stream._connect_parameters(
        "postgresql://roster:secret@db.internal:6543/roster?maxsize=20&minsize=2"
    )
    assert parameters == {
        "host": "db.internal",
        "port": 6543,
        "user": "roster",
        "password": "secret",
        "database": "roster",
    }
