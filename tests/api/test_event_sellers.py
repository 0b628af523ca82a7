"""The outbox row carries the one seller an event is about (events-and-scale-out.md, Event model):
an order's events its order's seller, a group's events none."""

from __future__ import annotations

from sqlalchemy import select

from mercato.db.engine import session_factory
from mercato.domain.events import ORDER_UPDATED, DomainEvent
from mercato.events.models import OutboxEvent
from mercato.unit_of_work import UnitOfWork


async def _rows(sessionmaker) -> list[OutboxEvent]:
    async with sessionmaker() as session:
        return list(await session.scalars(select(OutboxEvent).order_by(OutboxEvent.seq)))


async def test_emit_and_tracked_events_write_their_seller(engine):
    sessionmaker = session_factory(engine)

    class Aggregate:
        events = [DomainEvent(ORDER_UPDATED, {"id": "order_a"}, seller_id="sel_a")]

    uow = UnitOfWork(sessionmaker)
    async with uow:
        uow.emit(ORDER_UPDATED, {"id": "order_b"}, seller_id="sel_b")
        uow.emit(ORDER_UPDATED, {"id": "order_c"})
        uow.track(Aggregate())
        await uow.commit()
    rows = await _rows(sessionmaker)
    assert [(r.resource_id, r.seller_id) for r in rows] == [
        ("order_b", "sel_b"),
        ("order_c", None),
        ("order_a", "sel_a"),
    ]
    assert [r.seq for r in rows] == sorted(r.seq for r in rows)


async def test_order_placed_has_its_orders_seller_and_the_group_event_none(app, place_group):
    _, group, by_seller = await place_group()
    assert len(by_seller) >= 2
    rows = await _rows(app.state.sessionmaker)
    placed = {r.resource_id: r.seller_id for r in rows if r.name == "order.placed"}
    assert placed == {order_id: seller_id for seller_id, order_id in by_seller.items()}
    created = [r for r in rows if r.name == "order_group.created"]
    assert [(r.resource_id, r.seller_id) for r in created] == [(group["id"], None)]
