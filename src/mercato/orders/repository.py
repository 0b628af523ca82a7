"""The order-group repository: loads the aggregate with its rows locked, saves what changed.

Lock order, the same for every writer of an order group, so two commands never wait on each
other in a circle: the ``order_group`` row, then its ``order`` rows in id order, then its
payment collection; inventory levels last, in (location, variant) order, by the conditional
updates of :meth:`OrderGroupRepository.save`. Checkout takes no group lock (the group is new) and
locks only inventory levels, in the same order.

The repository keeps the ORM rows it loaded beside the domain entities it built from them;
``save`` copies the entities' state back onto those rows (SQLAlchemy writes only the columns that
changed), inserts the new rows (fulfilments, labels, captures, refunds, transactions,
reservations) and applies the aggregate's stock moves. ``add`` writes a group just placed
(checkout): every row is new, so it goes table by table in foreign-key order as one pipelined
driver insert per table (``query.driver.FixedInsert``) — a completion's hot path — instead of
through the ORM's unit of work.

Money held by a workflow: a payment workflow (``orders.payment_workflows``) holds an amount of
an order's share in its ``workflow_run`` (subject: the group) while the provider is called with
no lock held. :meth:`OrderGroupRepository.get` reads the group's running runs after taking the
group lock and adds what they hold — ``state["held"]``: ``[{kind, order_id, amount}]``, kind
``capture`` / ``void`` (pending capture) or ``refund`` (pending refund) — to the shares, so a
concurrent request cannot capture or refund the same money while a provider call is in flight.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import BigInteger, DateTime, bindparam, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.domain import order_changes as chg
from mercato.domain import order_group as dom
from mercato.domain.errors import DomainError
from mercato.domain.totals import DocumentTotals
from mercato.errors import not_found
from mercato.orders.change_models import (
    OrderChange,
    OrderChangeAction,
    OrderClaim,
    OrderClaimItem,
    OrderCreditLine,
    OrderExchange,
    OrderExchangeItem,
    OrderReturn,
    ReturnItem,
)
from mercato.orders.change_rows import (
    change_entity,
    claim_entity,
    exchange_entity,
    return_entity,
    save_changes,
)
from mercato.orders.models import (
    Fulfillment,
    FulfillmentItem,
    FulfillmentLabel,
    Order,
    OrderGroup,
    OrderGroupOrder,
    OrderLineItem,
    OrderLineItemAdjustment,
    OrderPaymentCollection,
    OrderPromotion,
    OrderShippingMethod,
    OrderShippingMethodAdjustment,
    OrderTransaction,
    ReservationItem,
    SellerCustomer,
)
from mercato.payments.models import Capture, Payment, PaymentCollection, Refund
from mercato.products.models import InventoryLevel
from mercato.query.driver import FixedInsert, FixedQuery
from mercato.sellers.models import StockLocation
from mercato.unit_of_work import UnitOfWork
from mercato.workflows import runs as workflow_runs
from mercato.workflows.models import WorkflowRun

_TOTALS = tuple(DocumentTotals.__dataclass_fields__)
_LINE_SNAPSHOT = (
    "cart_line_item_id",
    "title",
    "subtitle",
    "thumbnail",
    "product_title",
    "product_handle",
    "variant_title",
    "variant_sku",
    "currency_code",
    "metadata_",
)


# A placed group's rows, written by the driver table by table in foreign-key order.
_INSERT = {
    model: FixedInsert(model)
    for model in (
        Order,
        OrderLineItem,
        OrderShippingMethod,
        ReservationItem,
        Payment,
        Capture,
        OrderTransaction,
        OrderPaymentCollection,
        OrderGroup,
        OrderGroupOrder,
        OrderLineItemAdjustment,
        OrderShippingMethodAdjustment,
        OrderPromotion,
    )
}
# The collection a placement authorized (and maybe captured): the one existing row it changes.
_COLLECTION_PLACED = FixedQuery(
    update(PaymentCollection)
    .where(PaymentCollection.id == bindparam("collection_id"))
    .values(
        status=bindparam("status"),
        authorized_amount=bindparam("authorized", type_=BigInteger),
        captured_amount=bindparam("captured", type_=BigInteger),
        completed_at=bindparam("completed_at", type_=DateTime(timezone=True)),
        updated_at=func.now(),
    )
)


@dataclass
class _Rows:
    """The ORM rows one aggregate was built from, by id."""

    group: OrderGroup
    orders: dict[str, Order]
    lines: dict[str, OrderLineItem]
    reservations: dict[str, ReservationItem]
    fulfillments: dict[str, Fulfillment]
    labels: set[str]
    collection: PaymentCollection | None
    payment: Payment | None
    methods: dict[str, OrderShippingMethod] = field(default_factory=dict)
    changes: dict[str, OrderChange] = field(default_factory=dict)
    actions: dict[str, OrderChangeAction] = field(default_factory=dict)
    returns: dict[str, OrderReturn] = field(default_factory=dict)
    return_items: dict[str, ReturnItem] = field(default_factory=dict)
    credit_lines: set[str] = field(default_factory=set)
    change_collections: dict[str, PaymentCollection] = field(default_factory=dict)
    exchanges: dict[str, OrderExchange] = field(default_factory=dict)
    exchange_items: set[str] = field(default_factory=set)
    claims: dict[str, OrderClaim] = field(default_factory=dict)
    claim_items: set[str] = field(default_factory=set)
    new: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class OrderGroupRepository:
    """Order groups for one unit of work's session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._rows: dict[str, _Rows] = {}
        self._children: list[Any] = []
        self._running: dict[str, list[WorkflowRun]] = {}

    # ----------------------------------------------------------------- loading

    async def group_id_of_order(self, order_id: str, *, seller_id: str | None = None) -> str:
        """The group of an order; another seller's order is not found (404)."""
        query = select(OrderGroupOrder.order_group_id).where(OrderGroupOrder.order_id == order_id)
        if seller_id is not None:
            query = query.where(OrderGroupOrder.seller_id == seller_id)
        group_id = await self.session.scalar(query)
        if group_id is None:
            raise not_found("Order", order_id)
        return group_id

    async def for_order(self, order_id: str, *, seller_id: str | None = None) -> dom.OrderGroup:
        """The group holding ``order_id``, locked (see the module's lock order)."""
        return await self.get(await self.group_id_of_order(order_id, seller_id=seller_id))

    async def get(self, group_id: str) -> dom.OrderGroup:
        """The group ``group_id`` with every row it owns, locked (see the module's lock order)."""
        session = self.session
        group_row = await session.scalar(
            select(OrderGroup).where(OrderGroup.id == group_id).with_for_update()
        )
        if group_row is None:
            raise not_found("Order group", group_id)
        orders = list(
            await session.scalars(
                select(Order)
                .join(OrderGroupOrder, OrderGroupOrder.order_id == Order.id)
                .where(OrderGroupOrder.order_group_id == group_id)
                .order_by(Order.id)
                .with_for_update(of=Order)
            )
        )
        order_ids = [o.id for o in orders]
        links: dict[str, OrderPaymentCollection] = {}
        change_collections: dict[str, list[tuple[OrderPaymentCollection, PaymentCollection]]] = (
            defaultdict(list)
        )
        for order_link, linked in (
            await session.execute(
                select(OrderPaymentCollection, PaymentCollection)
                .join(
                    PaymentCollection,
                    PaymentCollection.id == OrderPaymentCollection.payment_collection_id,
                )
                .where(OrderPaymentCollection.order_id.in_(order_ids))
                .order_by(PaymentCollection.created_at, PaymentCollection.id)
            )
        ).all():
            if linked.source == "order_change":
                change_collections[order_link.order_id].append((order_link, linked))
            else:
                links[order_link.order_id] = order_link
        collection_ids = sorted({link.payment_collection_id for link in links.values()})
        collection = None
        payment = None
        if collection_ids:
            collection = await session.scalar(
                select(PaymentCollection)
                .where(PaymentCollection.id == collection_ids[0])
                .with_for_update()
                .execution_options(populate_existing=True)
            )
            payment = await session.scalar(
                select(Payment)
                .where(Payment.payment_collection_id == collection_ids[0])
                .order_by(Payment.created_at, Payment.id)
                .limit(1)
            )
        lines = list(
            await session.scalars(
                select(OrderLineItem)
                .where(OrderLineItem.order_id.in_(order_ids))
                .order_by(OrderLineItem.order_id, OrderLineItem.id)
            )
        )
        methods = list(
            await session.scalars(
                select(OrderShippingMethod)
                .where(OrderShippingMethod.order_id.in_(order_ids))
                .order_by(OrderShippingMethod.id)
            )
        )
        reservations = list(
            await session.scalars(
                select(ReservationItem)
                .where(ReservationItem.line_item_id.in_([line.id for line in lines]))
                .order_by(ReservationItem.id)
            )
        )
        fulfillments = list(
            await session.scalars(
                select(Fulfillment)
                .where(Fulfillment.order_id.in_(order_ids))
                .order_by(Fulfillment.created_at, Fulfillment.id)
            )
        )
        fulfillment_ids = [f.id for f in fulfillments]
        items: dict[str, list[FulfillmentItem]] = defaultdict(list)
        labels: dict[str, list[FulfillmentLabel]] = defaultdict(list)
        if fulfillment_ids:
            for item in await session.scalars(
                select(FulfillmentItem)
                .where(FulfillmentItem.fulfillment_id.in_(fulfillment_ids))
                .order_by(FulfillmentItem.id)
            ):
                items[item.fulfillment_id].append(item)
            for label in await session.scalars(
                select(FulfillmentLabel)
                .where(FulfillmentLabel.fulfillment_id.in_(fulfillment_ids))
                .order_by(FulfillmentLabel.id)
            ):
                labels[label.fulfillment_id].append(label)
        changes = list(
            await session.scalars(
                select(OrderChange)
                .where(
                    OrderChange.order_id.in_(order_ids),
                    OrderChange.status.in_(chg.ACTIVE_CHANGE_STATUSES),
                )
                .order_by(OrderChange.created_at, OrderChange.id)
            )
        )
        actions: dict[str, list[OrderChangeAction]] = defaultdict(list)
        if changes:
            for action in await session.scalars(
                select(OrderChangeAction)
                .where(OrderChangeAction.order_change_id.in_([c.id for c in changes]))
                .order_by(OrderChangeAction.ordering, OrderChangeAction.id)
            ):
                actions[action.order_change_id].append(action)
        returns = list(
            await session.scalars(
                select(OrderReturn)
                .where(OrderReturn.order_id.in_(order_ids))
                .order_by(OrderReturn.created_at, OrderReturn.id)
            )
        )
        return_items: dict[str, list[ReturnItem]] = defaultdict(list)
        if returns:
            for return_item in await session.scalars(
                select(ReturnItem)
                .where(ReturnItem.return_id.in_([r.id for r in returns]))
                .order_by(ReturnItem.id)
            ):
                return_items[return_item.return_id].append(return_item)
        exchanges_of = await self._exchanges(order_ids)
        claims_of = await self._claims(order_ids)
        credit_lines = list(
            await session.scalars(
                select(OrderCreditLine)
                .where(OrderCreditLine.order_id.in_(order_ids))
                .order_by(OrderCreditLine.created_at, OrderCreditLine.id)
            )
        )
        changes_of: dict[str, list[chg.OrderChange]] = defaultdict(list)
        for change in changes:
            entity = change_entity(change, actions[change.id])
            assert entity.order_id is not None  # the group's orders' changes
            changes_of[entity.order_id].append(entity)
        returns_of: dict[str, list[chg.Return]] = defaultdict(list)
        for ret in returns:
            returns_of[ret.order_id].append(return_entity(ret, return_items[ret.id]))
        credit_lines_of: dict[str, list[chg.CreditLine]] = defaultdict(list)
        for credit_line in credit_lines:
            credit_lines_of[credit_line.order_id].append(
                chg.CreditLine(
                    credit_line.id,
                    credit_line.amount,
                    credit_line.reference,
                    credit_line.reference_id,
                    credit_line.metadata_,
                    credit_line.created_at,
                )
            )
        captured = await self._sums(Capture, order_ids)
        refunded = await self._sums(Refund, order_ids)
        change_payments = await self._change_payments(
            [linked.id for found in change_collections.values() for _, linked in found]
        )
        # Read under the group lock: a run started by a command that held it before us is
        # committed and visible now (read committed: each statement sees the latest commits).
        running = self._running[group_id] = await workflow_runs.running_for(session, group_id)
        # Held per order and payment: a capture or void holds against captures, a refund
        # against refunds.
        pending_capture: dict[tuple[str, str], int] = defaultdict(int)
        pending_refund: dict[tuple[str, str], int] = defaultdict(int)
        for run in running:
            for held in run.state.get("held", ()):
                pending = pending_refund if held["kind"] == "refund" else pending_capture
                pending[(held["order_id"], held["payment_id"])] += int(held["amount"])
        cart_payment = payment.id if payment is not None else ""
        locations = dict(
            (
                await session.execute(
                    select(StockLocation.seller_id, StockLocation.id).where(
                        StockLocation.seller_id.in_({o.seller_id for o in orders})
                    )
                )
            ).all()
        )

        lines_of: dict[str, list[dom.Line]] = defaultdict(list)
        line_of_id: dict[str, str] = {}
        for line in lines:
            line_of_id[line.id] = line.order_id
            lines_of[line.order_id].append(_line(line))
        methods_of: dict[str, list[dom.ShippingMethod]] = defaultdict(list)
        for method in methods:
            methods_of[method.order_id].append(_method(method))
        reservations_of: dict[str, list[dom.Reservation]] = defaultdict(list)
        for r in reservations:
            reservations_of[line_of_id[r.line_item_id]].append(
                dom.Reservation(r.id, r.line_item_id, r.variant_id, r.location_id, r.quantity)
            )
        fulfillments_of: dict[str, list[dom.Fulfillment]] = defaultdict(list)
        for f in fulfillments:
            fulfillments_of[f.order_id].append(_fulfillment(f, items[f.id], labels[f.id]))

        domain_orders = []
        for row in orders:
            link = links.get(row.id)
            share = None
            if link is not None:
                share = dom.Share(
                    collection_id=link.payment_collection_id,
                    allocated=link.amount,
                    captured=captured.get((row.id, cart_payment), 0),
                    refunded=refunded.get((row.id, cart_payment), 0),
                    pending_capture=pending_capture[(row.id, cart_payment)],
                    pending_refund=pending_refund[(row.id, cart_payment)],
                )
            domain_orders.append(
                dom.Order(
                    id=row.id,
                    seller_id=row.seller_id,
                    currency_code=row.currency_code,
                    status=row.status,
                    totals=DocumentTotals(**{name: getattr(row, name) for name in _TOTALS}),
                    location_id=locations.get(row.seller_id),
                    canceled_at=row.canceled_at,
                    no_notification=row.no_notification,
                    lines=lines_of[row.id],
                    shipping_methods=methods_of[row.id],
                    reservations=reservations_of[row.id],
                    fulfillments=fulfillments_of[row.id],
                    share=share,
                    payment_status=row.payment_status,
                    fulfillment_status=row.fulfillment_status,
                    updated_at=row.updated_at,
                    region_id=row.region_id,
                    version=row.version,
                    original_total=row.summary.get("original_order_total", row.total),
                    credit_lines=credit_lines_of[row.id],
                    change_collections=[
                        _change_collection(
                            linked,
                            change_payments.get(linked.id),
                            order_id=row.id,
                            pending_capture=pending_capture,
                            pending_refund=pending_refund,
                        )
                        for _, linked in change_collections[row.id]
                    ],
                    changes=changes_of[row.id],
                    returns=returns_of[row.id],
                    exchanges=[exchange_entity(e, i) for e, i in exchanges_of[row.id]],
                    claims=[claim_entity(c, i) for c, i in claims_of[row.id]],
                    shown_status=row.status,
                )
            )
            domain_orders[-1].status = row.lifecycle_status
        group = dom.OrderGroup(
            id=group_row.id,
            cart_id=group_row.cart_id,
            customer_id=group_row.customer_id,
            sales_channel_id=group_row.sales_channel_id,
            currency_code=group_row.currency_code,
            created_at=group_row.created_at,
            orders=domain_orders,
            collection=_collection(collection) if collection is not None else None,
            payment=_payment(payment) if payment is not None else None,
            updated_at=group_row.updated_at,
            status=group_row.status,
            payment_status=group_row.payment_status,
            fulfillment_status=group_row.fulfillment_status,
            seller_count=group_row.seller_count,
            seller_ids=list(group_row.seller_ids or []),
            total=group_row.total,
            draft_order_id=group_row.draft_order_id,
        )
        for order in group.orders:
            group.refresh_order(order)
        self._rows[group.id] = _Rows(
            methods={m.id: m for m in methods},
            changes={c.id: c for c in changes},
            actions={a.id: a for found in actions.values() for a in found},
            returns={r.id: r for r in returns},
            return_items={i.id: i for found in return_items.values() for i in found},
            credit_lines={c.id for c in credit_lines},
            exchanges={e.id: e for found in exchanges_of.values() for e, _ in found},
            exchange_items={
                i.id for found in exchanges_of.values() for _, items in found for i in items
            },
            claims={c.id: c for found in claims_of.values() for c, _ in found},
            claim_items={i.id for found in claims_of.values() for _, items in found for i in items},
            change_collections={
                linked.id: linked for found in change_collections.values() for _, linked in found
            },
            group=group_row,
            orders={o.id: o for o in orders},
            lines={line.id: line for line in lines},
            reservations={r.id: r for r in reservations},
            fulfillments={f.id: f for f in fulfillments},
            labels={label.id for group_labels in labels.values() for label in group_labels},
            collection=collection,
            payment=payment,
        )
        return group

    async def _exchanges(
        self, order_ids: list[str]
    ) -> dict[str, list[tuple[OrderExchange, list[OrderExchangeItem]]]]:
        found: dict[str, list[tuple[OrderExchange, list[OrderExchangeItem]]]] = defaultdict(list)
        rows = list(
            await self.session.scalars(
                select(OrderExchange)
                .where(OrderExchange.order_id.in_(order_ids))
                .order_by(OrderExchange.created_at, OrderExchange.id)
            )
        )
        if not rows:
            return found
        items: dict[str, list[OrderExchangeItem]] = defaultdict(list)
        for item in await self.session.scalars(
            select(OrderExchangeItem)
            .where(OrderExchangeItem.exchange_id.in_([r.id for r in rows]))
            .order_by(OrderExchangeItem.id)
        ):
            items[item.exchange_id].append(item)
        for row in rows:
            found[row.order_id].append((row, items[row.id]))
        return found

    async def _claims(
        self, order_ids: list[str]
    ) -> dict[str, list[tuple[OrderClaim, list[OrderClaimItem]]]]:
        found: dict[str, list[tuple[OrderClaim, list[OrderClaimItem]]]] = defaultdict(list)
        rows = list(
            await self.session.scalars(
                select(OrderClaim)
                .where(OrderClaim.order_id.in_(order_ids))
                .order_by(OrderClaim.created_at, OrderClaim.id)
            )
        )
        if not rows:
            return found
        items: dict[str, list[OrderClaimItem]] = defaultdict(list)
        for item in await self.session.scalars(
            select(OrderClaimItem)
            .where(OrderClaimItem.claim_id.in_([r.id for r in rows]))
            .order_by(OrderClaimItem.id)
        ):
            items[item.claim_id].append(item)
        for row in rows:
            found[row.order_id].append((row, items[row.id]))
        return found

    def running(self, group_id: str) -> list[WorkflowRun]:
        """The workflow runs that were running on the group when :meth:`get` loaded it."""
        return self._running.get(group_id, [])

    async def _sums(
        self, model: type[Capture] | type[Refund], order_ids: list[str]
    ) -> dict[tuple[str, str], int]:
        """Captured (or refunded) per order and payment."""
        rows = await self.session.execute(
            select(model.order_id, model.payment_id, func.sum(model.amount))
            .where(model.order_id.in_(order_ids))
            .group_by(model.order_id, model.payment_id)
        )
        return {(order_id, payment_id): int(total) for order_id, payment_id, total in rows.all()}

    async def _change_payments(self, collection_ids: list[str]) -> dict[str, Payment]:
        """The authorized payment of each change collection that has one."""
        if not collection_ids:
            return {}
        payments = await self.session.scalars(
            select(Payment)
            .where(Payment.payment_collection_id.in_(collection_ids))
            .order_by(Payment.created_at, Payment.id)
        )
        return {payment.payment_collection_id: payment for payment in payments}

    # ----------------------------------------------------------------- adding

    async def add(self, group: dom.OrderGroup) -> None:
        """Insert a group just placed (:meth:`OrderGroup.place`) with everything in it, in this
        transaction: orders, lines, shipping methods, reservations, the payment and what its
        placement booked (captures, transactions), the collection's new state, each order's
        share link, the group, its order links and the seller↔customer links.

        Every order's descriptive columns (email, addresses, region, ...) come from its
        ``snapshot``, every line's from its own. The stock a group's reservations hold was taken
        by the caller (checkout reserves before it places), so ``add`` moves no stock. Load the
        group with :meth:`get` to change it later."""
        session = self.session
        now = group.created_at
        orders: list[dict[str, Any]] = []
        lines: list[dict[str, Any]] = []
        methods: list[dict[str, Any]] = []
        reservations: list[dict[str, Any]] = []
        shares: list[dict[str, Any]] = []
        for order in group.orders:
            orders.append(
                {
                    **order.snapshot,
                    "id": order.id,
                    "status": order.shown_status,
                    "lifecycle_status": order.status,
                    "version": order.version,
                    "summary": order.summary.as_dict() if order.summary else {},
                    "payment_status": order.payment_status,
                    "fulfillment_status": order.fulfillment_status,
                    "seller_id": order.seller_id,
                    "customer_id": group.customer_id,
                    "sales_channel_id": group.sales_channel_id,
                    "cart_id": group.cart_id,
                    "currency_code": order.currency_code,
                    "no_notification": order.no_notification,
                    "canceled_at": order.canceled_at,
                    "created_at": now,
                    "updated_at": order.updated_at or now,
                    **{name: getattr(order.totals, name) for name in _TOTALS},
                }
            )
            for line in order.lines:
                lines.append(
                    {
                        **line.snapshot,
                        "id": line.id,
                        "order_id": order.id,
                        "variant_id": line.variant_id,
                        "product_id": line.product_id,
                        "quantity": line.quantity,
                        "unit_price": line.unit_price,
                        "requires_shipping": line.requires_shipping,
                        "is_tax_inclusive": line.is_tax_inclusive,
                        "subtotal": line.subtotal,
                        "tax_total": line.tax_total,
                        "total": line.total,
                        "discount_subtotal": line.discount_subtotal,
                        "discount_tax_total": line.discount_tax_total,
                        "discount_total": line.discount_total,
                        "fulfilled_quantity": line.fulfilled_quantity,
                        "shipped_quantity": line.shipped_quantity,
                        "delivered_quantity": line.delivered_quantity,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
            for method in order.shipping_methods:
                methods.append(
                    {
                        "id": method.id,
                        "order_id": order.id,
                        "shipping_option_id": method.shipping_option_id,
                        "seller_id": method.seller_id,
                        "currency_code": order.currency_code,
                        "name": method.name,
                        "amount": method.amount,
                        "is_tax_inclusive": method.is_tax_inclusive,
                        "subtotal": method.subtotal,
                        "tax_total": method.tax_total,
                        "total": method.total,
                        "discount_subtotal": method.discount_subtotal,
                        "discount_tax_total": method.discount_tax_total,
                        "discount_total": method.discount_total,
                        "data": method.data,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
            for r in order.reservations:
                reservations.append(
                    {
                        "id": r.id,
                        "line_item_id": r.line_id,
                        "variant_id": r.variant_id,
                        "location_id": r.location_id,
                        "quantity": r.quantity,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
            if order.share is not None:
                shares.append(
                    {
                        "order_id": order.id,
                        "payment_collection_id": order.share.collection_id,
                        "amount": order.share.allocated,
                    }
                )
        await _INSERT[Order].run(session, orders)
        await _INSERT[OrderLineItem].run(session, lines)
        await _INSERT[OrderShippingMethod].run(session, methods)
        await self._add_adjustments(group, now)
        await _INSERT[ReservationItem].run(session, reservations)
        payment, collection = group.payment, group.collection
        if payment is not None:
            await _INSERT[Payment].run(
                session,
                [
                    {
                        "id": payment.id,
                        "payment_collection_id": payment.collection_id,
                        "payment_session_id": payment.session_id,
                        "provider_id": payment.provider_id,
                        "currency_code": group.currency_code,
                        "amount": payment.amount,
                        "data": payment.data,
                        "captured_at": payment.captured_at,
                        "canceled_at": payment.canceled_at,
                        "created_at": now,
                        "updated_at": now,
                    }
                ],
            )
            if collection is not None:
                await _COLLECTION_PLACED.records(
                    session,
                    collection_id=collection.id,
                    status=collection.status,
                    authorized=collection.authorized_amount,
                    captured=collection.captured_amount,
                    completed_at=collection.completed_at,
                )
        records = group.new_records
        await _INSERT[Capture].run(
            session, (_record_values(r) for r in records if isinstance(r, dom.Capture))
        )
        await _INSERT[OrderTransaction].run(
            session, (_record_values(r) for r in records if isinstance(r, dom.Transaction))
        )
        group.new_records.clear()
        await _INSERT[OrderPaymentCollection].run(session, shares)
        await _INSERT[OrderGroup].run(
            session,
            [
                {
                    "id": group.id,
                    "customer_id": group.customer_id,
                    "cart_id": group.cart_id,
                    "draft_order_id": group.draft_order_id,
                    "sales_channel_id": group.sales_channel_id,
                    "currency_code": group.currency_code,
                    "seller_count": group.seller_count,
                    "seller_ids": list(group.seller_ids),
                    "total": group.total,
                    "status": group.status,
                    "payment_status": group.payment_status,
                    "fulfillment_status": group.fulfillment_status,
                    "created_at": now,
                    "updated_at": group.updated_at or now,
                }
            ],
        )
        await _INSERT[OrderGroupOrder].run(
            session,
            (
                {
                    "order_group_id": group.id,
                    "order_id": order.id,
                    "seller_id": order.seller_id,
                    "group_created_at": now,
                }
                for order in group.orders
            ),
        )
        if group.customer_id is not None:
            await session.execute(
                insert(SellerCustomer)
                .values(
                    [
                        {"seller_id": seller_id, "customer_id": group.customer_id}
                        for seller_id in group.seller_ids
                    ]
                )
                .on_conflict_do_nothing()
            )

    async def _add_adjustments(self, group: dom.OrderGroup, now: datetime) -> None:
        """The adjustments placement copied from the cart, and each order's links to the
        promotions that gave it one (seed 004's ``order_promotion``)."""
        line_rows: list[dict[str, Any]] = []
        method_rows: list[dict[str, Any]] = []
        links: list[dict[str, Any]] = []
        for order in group.orders:
            promotions: dict[str, None] = {}
            owners: list[tuple[str, str, list[dom.Adjustment], list[dict[str, Any]]]] = [
                ("item_id", line.id, line.adjustments, line_rows) for line in order.lines
            ]
            owners += [
                ("shipping_method_id", m.id, m.adjustments, method_rows)
                for m in order.shipping_methods
            ]
            for key, owner_id, adjustments, rows in owners:
                for a in adjustments:
                    promotions[a.promotion_id] = None
                    rows.append(
                        {
                            "id": a.id,
                            key: owner_id,
                            "order_id": order.id,
                            "position": a.position,
                            "promotion_id": a.promotion_id,
                            "code": a.code,
                            "description": a.description,
                            "amount": a.amount,
                            "subtotal": a.subtotal,
                            "tax_total": a.tax_total,
                            "total": a.total,
                            "is_tax_inclusive": a.is_tax_inclusive,
                            "funded_by": a.funded_by,
                            "seller_id": a.seller_id,
                            "created_at": now,
                        }
                    )
            links += [{"order_id": order.id, "promotion_id": pid} for pid in promotions]
        await _INSERT[OrderLineItemAdjustment].run(self.session, line_rows)
        await _INSERT[OrderShippingMethodAdjustment].run(self.session, method_rows)
        await _INSERT[OrderPromotion].run(self.session, links)

    # ----------------------------------------------------------------- saving

    async def save(self, group: dom.OrderGroup) -> None:
        """Write what the aggregate's operations changed, in this transaction.

        Stock moves run first, in (location, variant) order; a move the level cannot take
        (``shortage``) refuses the whole operation with its message, before anything else is
        written (the caller's transaction rolls back)."""
        rows = self._rows[group.id]
        await self._apply_stock_moves(group)
        session = self.session
        _assign(
            rows.group,
            status=group.status,
            payment_status=group.payment_status,
            fulfillment_status=group.fulfillment_status,
            seller_count=group.seller_count,
            seller_ids=list(group.seller_ids),
            total=group.total,
            updated_at=group.updated_at or rows.group.updated_at,
        )
        for order in group.orders:
            row = rows.orders[order.id]
            _assign(
                row,
                status=order.shown_status,
                lifecycle_status=order.status,
                version=order.version,
                summary=order.summary.as_dict() if order.summary else row.summary,
                payment_status=order.payment_status,
                fulfillment_status=order.fulfillment_status,
                canceled_at=order.canceled_at,
                updated_at=order.updated_at or row.updated_at,
                **{name: getattr(order.totals, name) for name in _TOTALS},
            )
            for line in order.lines:
                if line.id not in rows.lines:
                    rows.lines[line.id] = _new_line(order, line)
                    self.session.add(rows.lines[line.id])
                    # Before the rows that reference it (no ORM relationships order them).
                    await self.session.flush()
                _assign(
                    rows.lines[line.id],
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                    subtotal=line.subtotal,
                    tax_total=line.tax_total,
                    total=line.total,
                    fulfilled_quantity=line.fulfilled_quantity,
                    shipped_quantity=line.shipped_quantity,
                    delivered_quantity=line.delivered_quantity,
                    return_requested_quantity=line.return_requested_quantity,
                    return_received_quantity=line.return_received_quantity,
                    return_dismissed_quantity=line.return_dismissed_quantity,
                    written_off_quantity=line.written_off_quantity,
                    deducted_quantity=line.deducted_quantity,
                    deducted_amount=line.deducted_amount,
                )
            await save_changes(self.session, order, rows, self._children)
            await self._save_reservations(order, rows)
            for fulfillment in order.fulfillments:
                self._save_fulfillment(order, fulfillment, rows)
        if group.collection is not None and rows.collection is not None:
            c = group.collection
            _assign(
                rows.collection,
                status=c.status,
                authorized_amount=c.authorized_amount,
                captured_amount=c.captured_amount,
                refunded_amount=c.refunded_amount,
                completed_at=c.completed_at,
                updated_at=c.updated_at or rows.collection.updated_at,
            )
        if group.payment is not None and rows.payment is None:
            # The shared collection authorized since loading (a draft order's, paid after
            # conversion): its payment row, before the captures that reference it.
            rows.payment = _new_payment(group.payment, group.currency_code)
            session.add(rows.payment)
            await session.flush()
        elif group.payment is not None and rows.payment is not None:
            _assign(
                rows.payment,
                captured_at=group.payment.captured_at,
                canceled_at=group.payment.canceled_at,
            )
        session.add_all(_record_row(record) for record in group.new_records)
        group.new_records.clear()
        # A new fulfilment's items and labels go in a second flush: the tables have foreign keys
        # but no ORM relationships for the flush to order the inserts by.
        await session.flush()
        if self._children:
            session.add_all(self._children)
            self._children = []
            await session.flush()

    async def _apply_stock_moves(self, group: dom.OrderGroup) -> None:
        moves = sorted(group.stock_moves, key=lambda m: (m.location_id, m.variant_id))
        group.stock_moves.clear()
        for move in moves:
            query = (
                update(InventoryLevel)
                .where(
                    InventoryLevel.location_id == move.location_id,
                    InventoryLevel.variant_id == move.variant_id,
                )
                .values(
                    stocked_quantity=InventoryLevel.stocked_quantity + move.stocked,
                    reserved_quantity=InventoryLevel.reserved_quantity + move.reserved,
                )
                .returning(InventoryLevel.id)
            )
            code = None
            if move.shortage is not None and move.reserved > 0:
                # A new reservation (an outbound line): the level must have the units free.
                query = query.where(
                    InventoryLevel.stocked_quantity - InventoryLevel.reserved_quantity
                    >= move.reserved
                )
                code = "insufficient_inventory"
            elif move.shortage is not None:
                query = query.where(InventoryLevel.reserved_quantity >= -move.reserved)
            moved = await self.session.scalar(query)
            if moved is None and move.shortage is not None:
                raise DomainError(move.shortage, code)

    async def _save_reservations(self, order: dom.Order, rows: _Rows) -> None:
        kept = {r.id for r in order.reservations}
        gone = [
            rid
            for rid, row in rows.reservations.items()
            if rid not in kept and rows.lines[row.line_item_id].order_id == order.id
        ]
        if gone:
            await self.session.execute(delete(ReservationItem).where(ReservationItem.id.in_(gone)))
            for rid in gone:
                del rows.reservations[rid]
        for r in order.reservations:
            row = rows.reservations.get(r.id)
            if row is None:
                row = ReservationItem(
                    id=r.id,
                    line_item_id=r.line_id,
                    variant_id=r.variant_id,
                    location_id=r.location_id,
                    quantity=r.quantity,
                )
                self.session.add(row)
                rows.reservations[r.id] = row
            else:
                _assign(row, quantity=r.quantity)

    def _save_fulfillment(self, order: dom.Order, f: dom.Fulfillment, rows: _Rows) -> None:
        row = rows.fulfillments.get(f.id)
        if row is None:
            row = Fulfillment(
                id=f.id,
                order_id=order.id,
                location_id=f.location_id,
                shipping_option_id=f.shipping_option_id,
                packed_at=f.packed_at,
                no_notification=f.no_notification,
                converted_inventory=[
                    {
                        "line_item_id": c.line_id,
                        "variant_id": c.variant_id,
                        "location_id": c.location_id,
                        "quantity": c.quantity,
                    }
                    for c in f.converted
                ],
                created_at=f.packed_at,
                updated_at=f.updated_at or f.packed_at,
            )
            self.session.add(row)
            rows.fulfillments[f.id] = row
            for line_id, quantity in f.items:
                snapshot = order.line(line_id).snapshot
                self._children.append(
                    FulfillmentItem(
                        fulfillment_id=f.id,
                        line_item_id=line_id,
                        quantity=quantity,
                        title=snapshot.get("title"),
                        sku=snapshot.get("variant_sku"),
                    )
                )
        _assign(
            row,
            shipped_at=f.shipped_at,
            delivered_at=f.delivered_at,
            canceled_at=f.canceled_at,
            updated_at=f.updated_at or row.updated_at,
        )
        for label in f.labels:
            if label.id not in rows.labels:
                self._children.append(
                    FulfillmentLabel(
                        id=label.id,
                        fulfillment_id=f.id,
                        tracking_number=label.tracking_number,
                        tracking_url=label.tracking_url,
                        label_url=label.label_url,
                    )
                )
                rows.labels.add(label.id)


# --------------------------------------------------------------------------- row ↔ entity


def _assign(row: Any, **values: Any) -> None:
    """Set only what differs, so an unchanged row is not written."""
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)


def _line(row: OrderLineItem) -> dom.Line:
    return dom.Line(
        id=row.id,
        quantity=row.quantity,
        unit_price=row.unit_price,
        subtotal=row.subtotal,
        tax_total=row.tax_total,
        total=row.total,
        requires_shipping=row.requires_shipping,
        is_tax_inclusive=row.is_tax_inclusive,
        variant_id=row.variant_id,
        product_id=row.product_id,
        fulfilled_quantity=row.fulfilled_quantity,
        shipped_quantity=row.shipped_quantity,
        delivered_quantity=row.delivered_quantity,
        return_requested_quantity=row.return_requested_quantity,
        return_received_quantity=row.return_received_quantity,
        return_dismissed_quantity=row.return_dismissed_quantity,
        written_off_quantity=row.written_off_quantity,
        deducted_quantity=row.deducted_quantity,
        deducted_amount=row.deducted_amount,
        exchange_id=row.exchange_id,
        claim_id=row.claim_id,
        snapshot={name: getattr(row, name) for name in _LINE_SNAPSHOT},
        discount_subtotal=row.discount_subtotal,
        discount_tax_total=row.discount_tax_total,
        discount_total=row.discount_total,
    )


def _new_line(order: dom.Order, line: dom.Line) -> OrderLineItem:
    """The row of a line an exchange or claim added (its descriptive columns from the
    variant, as a cart line's)."""
    snapshot = line.snapshot
    return OrderLineItem(
        id=line.id,
        order_id=order.id,
        cart_line_item_id=None,
        variant_id=line.variant_id,
        product_id=line.product_id,
        title=snapshot.get("title") or "",
        subtitle=snapshot.get("subtitle"),
        thumbnail=snapshot.get("thumbnail"),
        product_title=snapshot.get("product_title") or "",
        product_handle=snapshot.get("product_handle") or "",
        variant_title=snapshot.get("variant_title") or "",
        variant_sku=snapshot.get("variant_sku"),
        currency_code=order.currency_code,
        quantity=line.quantity,
        unit_price=line.unit_price,
        requires_shipping=line.requires_shipping,
        is_tax_inclusive=line.is_tax_inclusive,
        subtotal=line.subtotal,
        tax_total=line.tax_total,
        total=line.total,
        metadata_=snapshot.get("metadata_"),
        exchange_id=line.exchange_id,
        claim_id=line.claim_id,
    )


def _method(row: OrderShippingMethod) -> dom.ShippingMethod:
    return dom.ShippingMethod(
        id=row.id,
        seller_id=row.seller_id,
        name=row.name,
        amount=row.amount,
        subtotal=row.subtotal,
        tax_total=row.tax_total,
        total=row.total,
        is_tax_inclusive=row.is_tax_inclusive,
        shipping_option_id=row.shipping_option_id,
        data=row.data,
        return_id=row.return_id,
        exchange_id=row.exchange_id,
        claim_id=row.claim_id,
        discount_subtotal=row.discount_subtotal,
        discount_tax_total=row.discount_tax_total,
        discount_total=row.discount_total,
    )


def _fulfillment(
    row: Fulfillment, items: list[FulfillmentItem], labels: list[FulfillmentLabel]
) -> dom.Fulfillment:
    return dom.Fulfillment(
        id=row.id,
        location_id=row.location_id,
        items=tuple((item.line_item_id, item.quantity) for item in items),
        shipping_option_id=row.shipping_option_id,
        converted=tuple(
            dom.Conversion(c["line_item_id"], c["variant_id"], c["location_id"], c["quantity"])
            for c in row.converted_inventory or ()
        ),
        no_notification=row.no_notification,
        packed_at=row.packed_at,
        shipped_at=row.shipped_at,
        delivered_at=row.delivered_at,
        canceled_at=row.canceled_at,
        labels=tuple(
            dom.Label(label.id, label.tracking_number, label.tracking_url, label.label_url)
            for label in labels
        ),
        updated_at=row.updated_at,
    )


def _collection(row: PaymentCollection) -> dom.Collection:
    return dom.Collection(
        id=row.id,
        currency_code=row.currency_code,
        amount=row.amount,
        status=row.status,
        authorized_amount=row.authorized_amount,
        captured_amount=row.captured_amount,
        refunded_amount=row.refunded_amount,
        completed_at=row.completed_at,
        updated_at=row.updated_at,
    )


def _change_collection(
    row: PaymentCollection,
    payment: Payment | None,
    *,
    order_id: str,
    pending_capture: dict[tuple[str, str], int],
    pending_refund: dict[tuple[str, str], int],
) -> chg.ChangeCollection:
    held = (order_id, payment.id if payment is not None else "")
    return chg.ChangeCollection(
        id=row.id,
        order_change_id=row.order_change_id,
        currency_code=row.currency_code,
        amount=row.amount,
        status=row.status,
        authorized_amount=row.authorized_amount,
        captured_amount=row.captured_amount,
        refunded_amount=row.refunded_amount,
        created_at=row.created_at,
        updated_at=row.updated_at,
        payment_id=payment.id if payment is not None else None,
        provider_id=payment.provider_id if payment is not None else None,
        pending_capture=pending_capture.get(held, 0),
        pending_refund=pending_refund.get(held, 0),
    )


def _payment(row: Payment) -> dom.Payment:
    return dom.Payment(
        id=row.id,
        collection_id=row.payment_collection_id,
        provider_id=row.provider_id,
        amount=row.amount,
        session_id=row.payment_session_id,
        data=row.data,
        captured_at=row.captured_at,
        canceled_at=row.canceled_at,
    )


def _new_payment(payment: dom.Payment, currency_code: str) -> Payment:
    assert payment.session_id is not None, "a payment is authorized through a session"
    return Payment(
        id=payment.id,
        payment_collection_id=payment.collection_id,
        payment_session_id=payment.session_id,
        provider_id=payment.provider_id,
        currency_code=currency_code,
        amount=payment.amount,
        data=payment.data,
        captured_at=payment.captured_at,
        canceled_at=payment.canceled_at,
    )


def _record_values(record: dom.Capture | dom.Transaction) -> dict[str, Any]:
    """A new capture's or transaction's row for :class:`FixedInsert`."""
    return {f.name: getattr(record, f.name) for f in fields(record)}


def _record_row(record: dom.Record) -> Capture | Refund | OrderTransaction:
    if isinstance(record, dom.Capture):
        return Capture(
            id=record.id,
            payment_id=record.payment_id,
            order_id=record.order_id,
            amount=record.amount,
            idempotency_key=record.idempotency_key,
            created_by=record.created_by,
            created_at=record.created_at,
        )
    if isinstance(record, dom.Refund):
        return Refund(
            id=record.id,
            payment_id=record.payment_id,
            order_id=record.order_id,
            amount=record.amount,
            note=record.note,
            reason=record.reason,
            idempotency_key=record.idempotency_key,
            created_by=record.created_by,
            created_at=record.created_at,
        )
    return OrderTransaction(
        id=record.id,
        order_id=record.order_id,
        amount=record.amount,
        currency_code=record.currency_code,
        reference=record.reference,
        reference_id=record.reference_id,
        created_at=record.created_at,
    )


_T = TypeVar("_T")


async def change_group(
    uow: UnitOfWork,
    order_id: str,
    change: Callable[[dom.OrderGroup], _T],
    *,
    seller_id: str | None = None,
) -> _T:
    """One command on an order's group: load it locked, apply ``change``, save, commit (its
    events go to the outbox of that transaction). Returns what ``change`` returned."""
    async with uow:
        groups = OrderGroupRepository(uow.session)
        group = await groups.for_order(order_id, seller_id=seller_id)
        result = change(group)
        await groups.save(group)
        uow.track(group)
        await uow.commit()
    return result
