"""Rows the driver decodes (``query.driver.FixedQuery``) equal the rows SQLAlchemy returns, for
every model: the fast read path must not change a single value or type."""

from __future__ import annotations

from mercato.db.models import Base
from mercato.query.driver import FixedQuery, rows_of
from tests.api.checkout_helpers import build_marketplace, complete, ready_cart
from tests.api.helpers import ok


async def test_driver_rows_equal_sqlalchemy_rows_for_every_model(
    client, app, admin_headers, count_statements
):
    market = await build_marketplace(client, admin_headers, sellers=2)
    cart = await ready_cart(client, market, email="shopper@example.com")
    ok(await complete(client, market, cart["id"]))

    checked = 0
    async with app.state.sessionmaker() as session:
        for mapper in sorted(Base.registry.mappers, key=lambda m: m.class_.__name__):
            model = mapper.class_
            statement = rows_of(model)
            expected = [tuple(row) for row in await session.execute(statement)]
            async with count_statements() as counter:
                rows = await FixedQuery(statement).rows(session)
            assert counter.count == 1  # statement listeners see driver statements too
            assert [tuple(row) for row in rows] == expected, model.__name__
            for got, want in zip(rows, expected, strict=True):
                assert [type(v) for v in got] == [type(v) for v in want], model.__name__
            checked += bool(expected)
    assert checked >= 15  # the checkout wrote rows into most tables


async def test_fixed_insert_writes_what_the_orm_would(app):
    """``FixedInsert`` rows: given values through their types' bind processors (JSON), scalar
    defaults and NULLs for what a row leaves out, and a clear error for a required column."""
    from datetime import UTC, datetime

    import pytest
    from sqlalchemy import select

    from mercato.events.models import OutboxEvent
    from mercato.orders.models import Order
    from mercato.query.driver import FixedInsert

    now = datetime.now(UTC)
    data = {"id": "x", "nested": [1, "two", None, {"three": 3.5}]}
    async with app.state.sessionmaker() as session, session.begin():
        await FixedInsert(OutboxEvent).run(
            session,
            [{"id": "evt_1", "name": "a.b", "data": data, "resource_id": "x", "created_at": now}],
        )
        with pytest.raises(KeyError, match="'name'"):
            await FixedInsert(OutboxEvent).run(session, [{"id": "evt_2", "created_at": now}])
    async with app.state.sessionmaker() as session:
        event = await session.scalar(select(OutboxEvent))
        assert (event.id, event.name, event.data, event.created_at) == ("evt_1", "a.b", data, now)
        assert event.dispatched_at is None  # nullable, left out
    fallbacks = FixedInsert(Order)._fallbacks
    assert fallbacks["status"] == "pending" and fallbacks["no_notification"] is False
    assert fallbacks["total"] == 0 and fallbacks["metadata_"] is None
    assert "id" not in fallbacks and "created_at" not in fallbacks


async def test_driver_statements_are_part_of_the_session_transaction(app):
    """A driver statement run before any ORM statement still runs inside the session's
    transaction: a rollback undoes it (``query.driver.DriverConnection``)."""
    from datetime import UTC, datetime

    from sqlalchemy import func, select

    from mercato.events.models import OutboxEvent
    from mercato.query.driver import FixedInsert

    row = {"id": "evt_1", "name": "a", "data": {}, "created_at": datetime.now(UTC)}
    async with app.state.sessionmaker() as session:
        await FixedInsert(OutboxEvent).run(session, [row])  # the transaction's first statement
        await FixedInsert(OutboxEvent).run(session, [{**row, "id": "evt_2"}])  # asyncpg's own
        await session.rollback()
    async with app.state.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(OutboxEvent)) == 0
        await FixedInsert(OutboxEvent).run(session, [row])
        await session.commit()
    async with app.state.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(OutboxEvent)) == 1
