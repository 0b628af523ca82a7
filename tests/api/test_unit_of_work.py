"""The unit of work: one transaction, the outbox written in it, dispatch only after commit."""

from __future__ import annotations

from sqlalchemy import func, select

from mercato.db.engine import session_factory
from mercato.domain.events import ORDER_UPDATED, DomainEvent
from mercato.events import service as events
from mercato.events.models import OutboxEvent
from mercato.unit_of_work import UnitOfWork


async def _outbox(sessionmaker) -> list[OutboxEvent]:
    async with sessionmaker() as session:
        return list(await session.scalars(select(OutboxEvent).order_by(OutboxEvent.created_at)))


class _Aggregate:
    def __init__(self) -> None:
        self.events = [DomainEvent(ORDER_UPDATED, {"id": "order_1"}, seller_id="sel_1")]


async def test_leaving_without_a_commit_writes_nothing(engine):
    sessionmaker = session_factory(engine)
    uow = UnitOfWork(sessionmaker)
    async with uow:
        uow.emit(ORDER_UPDATED, {"id": "order_1"})
        uow.track(_Aggregate())
        await uow.session.execute(select(func.now()))
    assert await _outbox(sessionmaker) == []


async def test_a_failure_inside_rolls_back_the_outbox_too(engine):
    sessionmaker = session_factory(engine)
    uow = UnitOfWork(sessionmaker)
    try:
        async with uow:
            uow.emit(ORDER_UPDATED, {"id": "order_1"})
            await uow.flush()
            raise RuntimeError("a step failed")
    except RuntimeError:
        pass
    assert await _outbox(sessionmaker) == []


async def test_commit_writes_the_events_then_dispatches_them_after_the_commit(engine):
    sessionmaker = session_factory(engine)
    seen: list[tuple[str, bool]] = []

    async def subscriber(event: OutboxEvent) -> None:
        # Another session sees the event: it was committed before the subscriber ran.
        async with sessionmaker() as other:
            committed = await other.scalar(select(OutboxEvent.id).where(OutboxEvent.id == event.id))
        seen.append((event.resource_id or "", committed is not None))

    unsubscribe = events.subscribe(ORDER_UPDATED, subscriber)
    try:
        uow = UnitOfWork(sessionmaker)
        async with uow:
            uow.emit(ORDER_UPDATED, {"id": "order_plain"})
            uow.track(_Aggregate())
            ids = await uow.commit()
    finally:
        unsubscribe()
    assert len(ids) == 2
    assert sorted(seen) == [("order_1", True), ("order_plain", True)]
    rows = await _outbox(sessionmaker)
    assert {r.id for r in rows} == set(ids)
    assert all(r.dispatched_at is not None for r in rows)


async def test_a_workflow_step_gets_a_fresh_unit_of_work(engine):
    uow = UnitOfWork(session_factory(engine))
    async with uow:
        await uow.commit()
    async with uow.fresh() as again:
        await again.commit()
