"""Event retention (events-and-scale-out.md, Event model): settled events older than
``MERCATO_EVENT_RETENTION_DAYS`` go, with their consumption records; anything still owed stays.
Also the outbox ``resource_id`` (``data.id``, else ``data.order_id``)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select, text

from mercato.db.base import new_id
from mercato.db.engine import session_factory
from mercato.events import retention
from mercato.events.delivery import PARTS, EventWorker
from mercato.events.models import OutboxEvent
from mercato.events.service import emit, emit_all, resource_id
from mercato.settings import get_settings


def test_resource_id_is_the_id_else_the_order_id():
    assert resource_id({"id": "order_1", "order_id": "order_2"}) == "order_1"
    assert resource_id({"order_id": "order_2", "amount": 5}) == "order_2"
    assert resource_id({"amount": 5}) is None


async def test_emit_and_emit_all_store_the_resource_id(engine):
    sessionmaker = session_factory(engine)
    async with sessionmaker() as session, session.begin():
        one = emit(session, "payment.captured", {"order_id": "order_a"}).id
        two = emit(session, "order.placed", {"id": "order_b"}).id
        three, four = await emit_all(
            session,
            [
                ("payment.refunded", {"order_id": "order_c"}, "sel_1"),
                ("webhook.disabled", {"id": "whe_1"}, None),
            ],
        )
    async with sessionmaker() as session:
        result = await session.execute(select(OutboxEvent.id, OutboxEvent.resource_id))
        rows = {event_id: resource for event_id, resource in result.all()}
    assert [rows[i] for i in (one, two, three, four)] == ["order_a", "order_b", "order_c", "whe_1"]


# ----------------------------------------------------------------------------- retention


async def _event(
    session, *, age_days: float, dispatched: bool = True, name: str = "order.placed"
) -> str:
    event_id = new_id("evt")
    await session.execute(
        text(
            "INSERT INTO event_outbox (id, name, data, resource_id, created_at, dispatched_at)"
            " VALUES (:id, :name, CAST(:data AS jsonb), :id, now() - make_interval(secs => :age * 86400),"
            " CASE WHEN :dispatched THEN now() - make_interval(secs => :age * 86400) END)"
        ),
        {"id": event_id, "name": name, "data": "{}", "age": age_days, "dispatched": dispatched},
    )
    return event_id


async def _consumed(session, event_id: str, subscriber: str = "search") -> None:
    await session.execute(
        text("INSERT INTO event_consumption (subscriber, event_id) VALUES (:s, :e)"),
        {"s": subscriber, "e": event_id},
    )


async def _webhook(session) -> str:
    webhook_id = new_id("whe")
    await session.execute(
        text(
            "INSERT INTO webhook (id, url, events, is_active, secret_ciphertext, secret_hint)"
            " VALUES (:id, 'https://hooks.example.com/x', ARRAY['*'], true, 'x', 'whsec_…x')"
        ),
        {"id": webhook_id},
    )
    return webhook_id


async def _webhook_delivery(session, webhook_id: str, event_id: str, status: str) -> str:
    delivery_id = new_id("whd")
    await session.execute(
        text(
            "INSERT INTO webhook_delivery (id, webhook_id, event_id, event_name, status)"
            " VALUES (:id, :w, :e, 'order.placed', :status)"
        ),
        {"id": delivery_id, "w": webhook_id, "e": event_id, "status": status},
    )
    await session.execute(
        text("INSERT INTO webhook_attempt (id, delivery_id, status_code) VALUES (:id, :d, 200)"),
        {"id": new_id("wha"), "d": delivery_id},
    )
    return delivery_id


async def _dead_letter(session, event_id: str, *, retried: bool) -> None:
    await session.execute(
        text(
            "INSERT INTO event_dead_letter"
            " (id, event_id, event_name, subscriber, attempts, last_error, retried_at)"
            " VALUES (:id, :e, 'order.placed', 'search', 10, 'boom',"
            " CASE WHEN :retried THEN now() END)"
        ),
        {"id": new_id("evdl"), "e": event_id, "retried": retried},
    )


async def _ids(sessionmaker, table: str, column: str = "event_id") -> set[str]:
    async with sessionmaker() as session:
        return set((await session.scalars(text(f"SELECT {column} FROM {table}"))).all())


async def test_old_settled_events_go_with_their_records_and_the_rest_stays(engine):
    sessionmaker = session_factory(engine)
    async with sessionmaker() as session, session.begin():
        hook = await _webhook(session)
        # Old and settled: go.
        settled = await _event(session, age_days=8)
        await _consumed(session, settled)
        await _consumed(session, settled, "webhooks")
        await _event(session, age_days=30)  # settled, nobody subscribed
        hooked = await _event(session, age_days=8)
        await _consumed(session, hooked, "webhooks")
        finished = {
            await _webhook_delivery(session, hook, hooked, "succeeded"),
        }
        gave_up = await _event(session, age_days=9)
        finished.add(await _webhook_delivery(session, hook, gave_up, "failed"))
        retried = await _event(session, age_days=8)
        await _dead_letter(session, retried, retried=True)
        await _consumed(session, retried)  # the retry succeeded
        # Old but still owed: stay.
        undispatched = await _event(session, age_days=8, dispatched=False)
        owed = await _event(session, age_days=8)
        await session.execute(
            text(
                "INSERT INTO event_delivery (event_id, event_seq, subscriber)"
                " SELECT id, seq, 'search' FROM event_outbox WHERE id = :id"
            ),
            {"id": owed},
        )
        await _consumed(session, owed, "webhooks")
        dead = await _event(session, age_days=8)
        await _dead_letter(session, dead, retried=False)
        pending_hook = await _event(session, age_days=8)
        kept_delivery = await _webhook_delivery(session, hook, pending_hook, "pending")
        # Recent: stays, settled or not.
        recent = await _event(session, age_days=6.9)
        await _consumed(session, recent)

    assert await retention.purge(sessionmaker, 7) == 5

    kept = {undispatched, owed, dead, pending_hook, recent}
    assert await _ids(sessionmaker, "event_outbox", "id") == kept
    assert await _ids(sessionmaker, "event_consumption") == {owed, recent}
    assert await _ids(sessionmaker, "event_dead_letter") == {dead}
    assert await _ids(sessionmaker, "webhook_delivery", "id") == {kept_delivery}
    assert await _ids(sessionmaker, "webhook_attempt", "delivery_id") == {kept_delivery}
    assert finished.isdisjoint(await _ids(sessionmaker, "webhook_attempt", "delivery_id"))
    assert await _ids(sessionmaker, "event_delivery") == {owed}
    # A second pass finds nothing more to do.
    assert await retention.purge(sessionmaker, 7) == 0


async def test_a_backlog_goes_in_bounded_batches(engine):
    sessionmaker = session_factory(engine)
    async with sessionmaker() as session, session.begin():
        old = [await _event(session, age_days=2) for _ in range(25)]
        for event_id in old:
            await _consumed(session, event_id)
        young = await _event(session, age_days=0)

    # One statement deletes at most a batch, the oldest first ...
    async with sessionmaker() as session, session.begin():
        first = (await session.execute(retention._PURGE, {"days": 1, "n": 10})).scalar_one()
    assert first == 10
    assert await _ids(sessionmaker, "event_outbox", "id") == {*old[10:], young}
    assert await _ids(sessionmaker, "event_consumption") == set(old[10:])
    # ... and a pass commits batch after batch until one comes back short.
    assert await retention.purge(sessionmaker, 1, batch=10) == 15
    assert await _ids(sessionmaker, "event_outbox", "id") == {young}
    assert await _ids(sessionmaker, "event_consumption") == set()


async def test_the_worker_purges_at_start_and_retention_is_a_part(
    engine, monkeypatch: pytest.MonkeyPatch
):
    assert "retention" in PARTS
    monkeypatch.setenv("MERCATO_EVENT_RETENTION_DAYS", "3")
    get_settings.cache_clear()
    sessionmaker = session_factory(engine)
    try:
        async with sessionmaker() as session, session.begin():
            old = await _event(session, age_days=4)
            young = await _event(session, age_days=2)
        worker = EventWorker(sessionmaker, parts=["retention"], listen=False)
        await worker.start()
        try:
            for _ in range(200):
                if old not in await _ids(sessionmaker, "event_outbox", "id"):
                    break
                await asyncio.sleep(0.02)
        finally:
            await worker.stop()
        assert await _ids(sessionmaker, "event_outbox", "id") == {young}
    finally:
        monkeypatch.delenv("MERCATO_EVENT_RETENTION_DAYS")
        get_settings.cache_clear()
