"""Return and credit-line events (order-changes.md §14): written to the outbox in the step's
transaction, ids only, one ``order_group.updated`` beside each; none for a pending change's
edits, none for a refused request; the order's seller on each order event."""

from __future__ import annotations

from typing import Any

import pytest

from mercato.domain.events import DomainEvent
from mercato.unit_of_work import UnitOfWork
from tests.api.helpers import error, ok
from tests.api.return_helpers import Returns, setup


class _New:
    """The outbox events written since the last call."""

    def __init__(self, r: Returns) -> None:
        self.r = r
        self.seen = 0

    async def start(self) -> None:
        self.seen = len(await self.r.events())

    async def __call__(self) -> list[tuple[str, dict[str, Any]]]:
        events = await self.r.events()
        new, self.seen = events[self.seen :], len(events)
        return new


@pytest.fixture
def raised(monkeypatch) -> list[DomainEvent]:
    """Every domain event the aggregates hand to a unit of work, with its seller (the outbox
    row's ``seller_id``, tests/api/test_event_sellers.py). Commands track an aggregate
    after its operation, so its events are all there when it is tracked."""
    seen: list[DomainEvent] = []
    track = UnitOfWork.track

    def spying(self: UnitOfWork, aggregate: Any) -> None:
        seen.extend(aggregate.events)
        track(self, aggregate)

    monkeypatch.setattr(UnitOfWork, "track", spying)
    return seen


async def test_request_receipt_cancel_and_credit_line_events(
    client, app, place_group, raised: list[DomainEvent]
):
    r = await setup(client, app, place_group)
    await r.fulfil(r.a)
    await r.capture(r.a)
    new = _New(r)
    await new.start()
    group_updated = ("order_group.updated", {"id": r.group_id, "order_id": r.a})

    # a pending change's edits raise nothing
    ret = await r.begin()
    one = {"items": [{"id": r.shirt, "quantity": 1}]}
    ok(await r.post(f"/admin/returns/{ret}/request-items", one))
    ok(await r.post(f"/admin/returns/{ret}/shipping-method", {"shipping_option_id": r.option}))
    assert await new() == []

    ok(await r.post(f"/admin/returns/{ret}/request"))
    requested = ("order.return_requested", {"order_id": r.a, "return_id": ret})
    assert await new() == [requested, group_updated]

    ok(await r.post(f"/admin/returns/{ret}/receive"))
    ok(await r.post(f"/admin/returns/{ret}/receive-items", one))
    assert await new() == []
    ok(await r.post(f"/admin/returns/{ret}/receive/confirm"))
    received = ("order.return_received", {"order_id": r.a, "return_id": ret})
    assert await new() == [received, group_updated]

    canceled_ret = await r.requested(1, r.cap)
    await new.start()
    ok(await r.post(f"/admin/returns/{canceled_ret}/cancel", {}))
    canceled = ("order.return_canceled", {"order_id": r.a, "return_id": canceled_ret})
    assert await new() == [canceled, group_updated]

    order = ok(
        await r.post(
            f"/admin/orders/{r.a}/credit-lines",
            {"amount": -1, "reference": "goodwill", "reference_id": "t-1"},
        )
    )["order"]
    (credit_line,) = order["credit_lines"]
    created = ("order.credit_line_created", {"order_id": r.a, "credit_line_id": credit_line["id"]})
    assert await new() == [created, group_updated]

    # the aggregates raised them with the order's seller; the group's event carries none
    sellers = {(e.name, e.data.get("return_id")): e.seller_id for e in raised}
    assert sellers[requested[0], ret] == r.a_seller
    assert sellers[received[0], ret] == r.a_seller
    assert sellers[canceled[0], canceled_ret] == r.a_seller
    assert sellers["order.credit_line_created", None] == r.a_seller
    assert {e.seller_id for e in raised if e.name == "order_group.updated"} == {None}


async def test_refused_requests_raise_no_event(client, app, place_group):
    r = await setup(client, app, place_group)
    await r.fulfil(r.a)
    vendor_b = await r.member(r.b_seller, "staff@b.test")
    new = _New(r)
    ret = await r.requested(1)
    empty = await r.begin()
    await new.start()
    too_many = {"items": [{"id": r.shirt, "quantity": 2}]}
    error(
        await r.post(f"/admin/returns/{empty}/request"),
        400,
        "invalid_data",
        "Order return request should have at least 1 item",
    )
    error(await r.post(f"/admin/returns/{ret}/cancel", {"unknown": 1}), 400, "invalid_data")
    error(await r.post(f"/vendor/returns/{ret}/cancel", {}, vendor_b), 404, "not_found")
    ok(await client.delete(f"/admin/returns/{empty}/request", headers=r.admin))
    ok(await r.post(f"/admin/returns/{ret}/receive"))
    error(await r.post(f"/admin/returns/{ret}/receive-items", too_many), 400, "invalid_data")
    ok(await client.delete(f"/admin/returns/{ret}/receive", headers=r.admin))  # discarded
    error(await r.post(f"/admin/returns/{ret}/receive/confirm"), 400, "invalid_data")
    error(
        await r.post(
            f"/admin/orders/{r.a}/credit-lines",
            {"amount": -1, "reference": "goodwill", "reference_id": "t-1"},
        ),
        400,
        "invalid_data",
    )
    assert await new() == []
