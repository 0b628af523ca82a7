"""The admin event routes (events-and-scale-out.md): the outbox list with ``seq``, ``seller_id``
and ``dispatched``, an event's consumers, the delivery status and dead letters."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from mercato import subscribers
from mercato.domain.events import ORDER_PLACED, ORDER_UPDATED
from mercato.events import delivery
from mercato.events.delivery import DeliveryConfig, Envelope
from mercato.events.models import EventDelivery
from mercato.events.service import emit_all, subscribe
from mercato.unit_of_work import UnitOfWork
from tests.api.helpers import error, ok

ONE_TRY = DeliveryConfig(lease_s=10, retry_base_ms=0, retry_max_ms=0, max_attempts=1)


@pytest.fixture
def subscriptions() -> Iterator[list]:
    made: list = []
    subscribers.load()  # registered before suspending: an app created later imports nothing new
    with delivery.suspended("webhooks"):  # only the test's own subscribers deliver
        yield made
    for unsubscribe in made:
        unsubscribe()


async def _fine(event: Envelope, session: AsyncSession) -> None:
    return None


async def _broken(event: Envelope, session: AsyncSession) -> None:
    raise RuntimeError("the search index is down")


async def _deliver_all(app) -> None:
    """One consumer pass over every due delivery, as a worker's would be."""
    sessionmaker = app.state.sessionmaker
    for item in await delivery.claim(sessionmaker, ["t_fine", "t_broken"], 100, 10):
        await delivery.handle(sessionmaker, item, ONE_TRY)


async def test_the_list_has_seq_seller_and_the_dispatched_filter(client, app, admin_headers):
    uow = UnitOfWork(app.state.sessionmaker)
    async with uow:
        uow.emit(ORDER_PLACED, {"id": "order_1"}, seller_id="sel_1")
        uow.emit(ORDER_UPDATED, {"id": "order_2"}, seller_id="sel_2")
        relayed = await uow.commit()
    async with app.state.sessionmaker() as session, session.begin():
        (pending,) = await emit_all(session, [(ORDER_UPDATED, {"id": "order_3"}, None)])

    def get(**params):
        return client.get("/admin/events", params=params, headers=admin_headers)

    events = ok(await get(order="seq"))["events"]
    assert [e["id"] for e in events] == [*relayed, pending]
    assert [e["seller_id"] for e in events] == ["sel_1", "sel_2", None]
    assert events[0]["seq"] < events[1]["seq"] < events[2]["seq"]
    assert [e["id"] for e in ok(await get(order="-seq"))["events"]] == [pending, *relayed[::-1]]
    assert [e["id"] for e in ok(await get(dispatched="false"))["events"]] == [pending]
    assert sorted(e["id"] for e in ok(await get(dispatched="true"))["events"]) == sorted(relayed)
    assert [e["id"] for e in ok(await get(seller_id="sel_2"))["events"]] == [relayed[1]]
    error(await get(dispatched="maybe"), 400, "invalid_data", "dispatched must be a boolean")


async def test_an_event_lists_its_consumers(client, app, admin_headers, subscriptions):
    subscriptions.append(subscribe("*", _fine, subscriber_id="t_fine"))
    subscriptions.append(subscribe(ORDER_PLACED, _broken, subscriber_id="t_broken"))
    uow = UnitOfWork(app.state.sessionmaker)
    async with uow:
        uow.emit(ORDER_PLACED, {"id": "order_1"}, seller_id="sel_1")
        (event_id,) = await uow.commit()
    url = f"/admin/events/{event_id}"
    event = ok(await client.get(url, headers=admin_headers))["event"]
    assert (event["id"], event["seller_id"], event["name"]) == (event_id, "sel_1", ORDER_PLACED)
    assert event["consumers"] == [
        {
            "subscriber": s,
            "status": "pending",
            "attempts": 0,
            "last_error": None,
            "consumed_at": None,
        }
        for s in ("t_broken", "t_fine")
    ]
    await _deliver_all(app)
    consumers = ok(await client.get(url, headers=admin_headers))["event"]["consumers"]
    assert consumers[0] == {
        "subscriber": "t_broken",
        "status": "dead",
        "attempts": 1,
        "last_error": "RuntimeError: the search index is down",
        "consumed_at": None,
    }
    assert consumers[1]["subscriber"] == "t_fine" and consumers[1]["status"] == "consumed"
    assert consumers[1]["consumed_at"].endswith("Z")
    missing = await client.get("/admin/events/evt_nope", headers=admin_headers)
    error(missing, 404, "not_found", "Event with id evt_nope was not found")


async def test_status_counts_backlog_retries_dead_letters_and_processes(
    client, app, admin_headers, subscriptions
):
    empty = ok(await client.get("/admin/events/status", headers=admin_headers))
    assert empty == {
        "transport": "postgres",
        "outbox_backlog": 0,
        "oldest_undispatched_at": None,
        "pending_deliveries": 0,
        "pending_retries": 0,
        "dead_letters": 0,
        "processes": [],
    }
    subscriptions.append(subscribe(ORDER_PLACED, _broken, subscriber_id="t_broken"))
    async with app.state.sessionmaker() as session, session.begin():
        await emit_all(session, [(ORDER_PLACED, {"id": f"o_{i}"}, None) for i in range(3)])
        await session.execute(
            text(
                "INSERT INTO mercato_process (id, kind, host, pid, pool_budget, status)"
                " VALUES ('proc_1', 'worker', 'box', 42, 10, '{\"transport\": \"postgres\"}'),"
                " ('proc_old', 'worker', 'box', 43, 10, NULL)"
            )
        )
        await session.execute(
            text(
                "UPDATE mercato_process SET heartbeat_at = now() - interval '1 minute'"
                " WHERE id = 'proc_old'"
            )
        )
    status = ok(await client.get("/admin/events/status", headers=admin_headers))
    assert status["outbox_backlog"] == 3 and status["oldest_undispatched_at"].endswith("Z")
    assert [(p["id"], p["kind"], p["pid"], p["pool_budget"]) for p in status["processes"]] == [
        ("proc_1", "worker", 42, 10)
    ]
    assert status["processes"][0]["status"] == {"transport": "postgres"}
    await delivery.relay_batch(app.state.sessionmaker)
    sessionmaker = app.state.sessionmaker
    items = await delivery.claim(sessionmaker, ["t_broken"], 100, 10)
    retrying = DeliveryConfig(lease_s=10, retry_base_ms=60_000, max_attempts=5)
    await delivery.handle(sessionmaker, items[0], retrying)
    await delivery.handle(sessionmaker, items[1], ONE_TRY)
    status = ok(await client.get("/admin/events/status", headers=admin_headers))
    assert (status["outbox_backlog"], status["oldest_undispatched_at"]) == (0, None)
    assert (status["pending_deliveries"], status["pending_retries"]) == (2, 1)
    assert status["dead_letters"] == 1


async def test_dead_letters_are_listed_and_retried_once(client, app, admin_headers, subscriptions):
    subscriptions.append(
        subscribe([ORDER_PLACED, ORDER_UPDATED], _broken, subscriber_id="t_broken")
    )
    subscriptions.append(subscribe(ORDER_UPDATED, _broken, subscriber_id="t_fine"))
    uow = UnitOfWork(app.state.sessionmaker)
    async with uow:
        uow.emit(ORDER_PLACED, {"id": "order_1"})
        uow.emit(ORDER_UPDATED, {"id": "order_1"})
        placed, updated = await uow.commit()
    await _deliver_all(app)

    def get(**params):
        return client.get("/admin/events/dead-letters", params=params, headers=admin_headers)

    body = ok(await get())
    assert body["count"] == 3 and len(body["dead_letters"]) == 3
    letter = ok(await get(subscriber="t_fine"))["dead_letters"]
    assert [(d["event_id"], d["event_name"], d["attempts"]) for d in letter] == [
        (updated, ORDER_UPDATED, 1)
    ]
    by_name = ok(await get(event_name=ORDER_PLACED, order="failed_at"))["dead_letters"]
    assert [(d["event_id"], d["subscriber"]) for d in by_name] == [(placed, "t_broken")]
    assert ok(await get(**{"failed_at[$lt]": "2000-01-01T00:00:00Z"}))["dead_letters"] == []
    dead = by_name[0]
    assert dead["id"].startswith("evdl_") and dead["retried_at"] is None
    assert dead["last_error"] == "RuntimeError: the search index is down"

    retry = f"/admin/events/dead-letters/{dead['id']}/retry"
    retried = ok(await client.post(retry, headers=admin_headers))["dead_letter"]
    assert retried["id"] == dead["id"] and retried["retried_at"] is not None
    async with app.state.sessionmaker() as session:
        owed = (
            await session.execute(
                select(EventDelivery.event_id, EventDelivery.subscriber, EventDelivery.attempts)
            )
        ).all()
    assert owed == [(placed, "t_broken", 0)]  # queued again, attempts from one
    message = f"Dead letter {dead['id']} was already retried"
    error(await client.post(retry, headers=admin_headers), 400, "invalid_data", message)
    nope = await client.post("/admin/events/dead-letters/evdl_nope/retry", headers=admin_headers)
    error(nope, 404, "not_found", "Dead letter with id evdl_nope was not found")
    # Its status is pending again; a new failure makes a new dead letter.
    consumers = ok(await client.get(f"/admin/events/{placed}", headers=admin_headers))["event"]
    assert {c["subscriber"]: c["status"] for c in consumers["consumers"]} == {"t_broken": "pending"}
    await _deliver_all(app)
    assert ok(await get(subscriber="t_broken", event_name=ORDER_PLACED))["count"] == 2
    assert ok(await client.get("/admin/events/status", headers=admin_headers))["dead_letters"] == 3
