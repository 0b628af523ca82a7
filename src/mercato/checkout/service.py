"""Completing a cart: one order per seller inside one order group, all or nothing.

The process, in one database transaction:

1. lock the cart row (``FOR UPDATE``) — concurrent completions of one cart queue here;
2. if the cart already has a group, return it (idempotent; nothing is written, no event);
3. check every precondition (items, email, one shipping method per seller, payment, active
   sellers) before anything is written;
4. reserve stock with conditional updates, rows visited in a fixed (location, variant) order so
   concurrent checkouts cannot deadlock and can never oversell;
5. authorize the payment once (idempotency key = the payment session);
6. write orders, lines, shipping methods, payment links, the group, reservations, the
   seller↔customer links, ``cart.completed_at`` and the outbox events; commit.

A failure after step 5 cancels (voids) the authorization before the error leaves; events are
dispatched only after the commit.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Integer,
    String,
    bindparam,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mercato.carts.models import Cart, CartLineItem, CartShippingMethod
from mercato.db.base import new_id
from mercato.domain.split import SellerOrderDraft, split_cart
from mercato.domain.statuses import (
    GroupMember,
    OrderPaymentFacts,
    group_statuses,
    order_payment_status,
)
from mercato.domain.totals import (
    DocumentTotals,
    compute_document_totals,
    item_line_totals,
    shipping_method_totals,
)
from mercato.errors import MercatoError, invalid, not_allowed, not_found
from mercato.events.service import dispatch, emit_all
from mercato.orders.models import (
    Order,
    OrderGroup,
    OrderGroupOrder,
    OrderLineItem,
    OrderPaymentCollection,
    OrderShippingMethod,
    OrderTransaction,
    ReservationItem,
    SellerCustomer,
)
from mercato.payments.models import Capture, Payment, PaymentCollection, PaymentSession
from mercato.payments.providers import PaymentProvider, get_provider
from mercato.products.models import InventoryLevel, ProductVariant
from mercato.query.driver import FixedInsert, FixedQuery, driver_connection, keys_param, rows_of
from mercato.regions.models import Region
from mercato.sellers.models import Seller, StockLocation

PAYMENT_FAILURES = {
    "declined": ("payment_authorization_error", "Payment authorization failed"),
    "requires_more": ("payment_requires_more_error", "More information is required for payment"),
}


@dataclass(frozen=True)
class PaymentFailure:
    type: str
    message: str


@dataclass(frozen=True)
class CompletionOutcome:
    """Either the group (new or existing) or, when payment was not authorized, the failure."""

    cart_id: str
    order_group_id: str | None = None
    payment_failure: PaymentFailure | None = None


class _PaymentNotAuthorized(Exception):
    def __init__(self, failure: PaymentFailure, authorization: _Authorization) -> None:
        self.failure = failure
        self.authorization = authorization


@dataclass
class _Authorization:
    provider: PaymentProvider
    key: str
    amount: int
    session_id: str
    captured: bool = False


async def complete_cart(
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    cart_id: str,
    sales_channel_ids: tuple[str, ...],
    customer_id: str | None,
) -> CompletionOutcome:
    authorization: _Authorization | None = None
    try:
        async with sessionmaker() as session, session.begin():
            carts = await _CART_FOR_UPDATE.rows(session, cart_id=cart_id)
            cart = carts[0] if carts else None
            if cart is None or not _may_access(cart, sales_channel_ids, customer_id):
                raise not_found("Cart", cart_id)
            existing = await _GROUP_OF_CART.records(session, cart_id=cart.id)
            if existing:
                return CompletionOutcome(cart_id, order_group_id=existing[0][0])
            plan = await _prepare(session, cart)
            await _reserve_stock(session, plan)
            authorization = await _authorize(session, sessionmaker, plan)
            group_id, event_ids = await _place_orders(session, plan, authorization)
        await dispatch(sessionmaker, event_ids)
        return CompletionOutcome(cart_id, order_group_id=group_id)
    except _PaymentNotAuthorized as failed:
        await _void(sessionmaker, failed.authorization)
        return CompletionOutcome(cart_id, payment_failure=failed.failure)
    except BaseException:
        if authorization is not None:
            await _void(sessionmaker, authorization)
        raise


def _may_access(cart: Any, sales_channel_ids: tuple[str, ...], customer_id: str | None) -> bool:
    """A cart is reachable through its own sales channel; a customer's cart only with that
    customer's token (``carts.service.can_access``)."""
    if cart.sales_channel_id not in sales_channel_ids:
        return False
    return cart.customer_id is None or cart.customer_id == customer_id


@dataclass
class _Plan:
    """What completion read and checked, as plain rows."""

    cart: Any
    region: Any
    lines: list[Any]
    drafts: list[SellerOrderDraft[Any, Any]]
    totals: dict[str, DocumentTotals]  # per seller
    cart_total: int
    collection: Any | None
    payment_session: Any | None
    variants: dict[str, Any]
    locations: dict[str, str]  # seller → stock location


# What completion reads, as plain rows through the driver (the session's connection and
# transaction): compiled once, no ORM state to build. The cart and its payment collection are
# locked; what completion changes in them it changes with driver statements too.
_CART_FOR_UPDATE = FixedQuery(
    rows_of(Cart).where(Cart.id == bindparam("cart_id", type_=String)).with_for_update()
)
_GROUP_OF_CART = FixedQuery(select(OrderGroup.id).where(OrderGroup.cart_id == bindparam("cart_id")))
_COLLECTION_FOR_UPDATE = FixedQuery(
    rows_of(PaymentCollection)
    .where(PaymentCollection.cart_id == bindparam("cart_id"))
    .with_for_update()
)
_LATEST_SESSION = FixedQuery(
    rows_of(PaymentSession)
    .where(PaymentSession.payment_collection_id == bindparam("collection_id"))
    .order_by(PaymentSession.created_at.desc(), PaymentSession.id.desc())
    .limit(1)
)
_CART_LINES = FixedQuery(
    rows_of(CartLineItem)
    .where(CartLineItem.cart_id == bindparam("cart_id"))
    .order_by(CartLineItem.created_at, CartLineItem.id)
)
_CART_METHODS = FixedQuery(
    rows_of(CartShippingMethod).where(CartShippingMethod.cart_id == bindparam("cart_id"))
)
_REGION = FixedQuery(rows_of(Region).where(Region.id == bindparam("region_id")))
_SELLERS = FixedQuery(rows_of(Seller, ("id", "status", "deleted_at")).where(keys_param(Seller.id)))
_VARIANTS = FixedQuery(
    rows_of(ProductVariant, ("id", "manage_inventory", "allow_backorder")).where(
        keys_param(ProductVariant.id), ProductVariant.deleted_at.is_(None)
    )
)
_LOCATIONS = FixedQuery(
    select(StockLocation.seller_id, StockLocation.id).where(keys_param(StockLocation.seller_id))
)


async def _prepare(session: AsyncSession, cart: Any) -> _Plan:
    """Load the cart and check every precondition; nothing is written here."""
    driver = await driver_connection(session)
    lines = await _CART_LINES.rows(session, connection=driver, cart_id=cart.id)
    methods = await _CART_METHODS.rows(session, connection=driver, cart_id=cart.id)
    if lines and not cart.email:
        raise invalid(f"Cart {cart.id} has no email; set one before completing it")
    drafts = split_cart(lines, methods)
    (region,) = await _REGION.rows(session, connection=driver, region_id=cart.region_id)
    totals = {
        d.seller_id: compute_document_totals(d.lines, d.shipping_methods, region.tax_rate)
        for d in drafts
    }
    cart_total = sum(t.total for t in totals.values())

    collections = await _COLLECTION_FOR_UPDATE.rows(session, connection=driver, cart_id=cart.id)
    collection = collections[0] if collections else None
    payment_session = None
    if cart_total > 0:
        if collection is None:
            raise invalid("Payment collection has not been initiated for cart")
        sessions = await _LATEST_SESSION.rows(
            session, connection=driver, collection_id=collection.id
        )
        payment_session = sessions[0] if sessions else None
        if payment_session is None:
            raise invalid("Payment sessions are required to complete cart")
        if payment_session.status == "canceled":
            raise invalid(
                f"Payment session {payment_session.id} was canceled; start a new payment session"
            )
        if collection.amount != cart_total or payment_session.amount != cart_total:
            raise invalid(
                "The payment collection amount no longer matches the cart total; "
                "start a new payment session"
            )

    seller_ids = sorted({d.seller_id for d in drafts})
    sellers = {s.id: s for s in await _SELLERS.rows(session, connection=driver, keys=seller_ids)}
    for seller_id in seller_ids:
        seller = sellers.get(seller_id)
        if seller is None or seller.deleted_at is not None or seller.status != "active":
            raise not_allowed(
                f"Seller {seller_id} is not active; cart {cart.id} cannot be completed"
            )
    variant_ids = sorted({line.variant_id for line in lines})
    variants = {v.id: v for v in await _VARIANTS.rows(session, connection=driver, keys=variant_ids)}
    for line in lines:
        if line.variant_id not in variants:
            raise invalid(
                f"Variant {line.variant_id} of line item {line.id} is no longer available"
            )
    locations = dict(await _LOCATIONS.rows(session, connection=driver, keys=seller_ids))
    return _Plan(
        cart,
        region,
        lines,
        drafts,
        totals,
        cart_total,
        collection,
        payment_session,
        variants,
        locations,
    )


def _insufficient(variant_id: str) -> MercatoError:
    return not_allowed(
        f"Variant {variant_id} does not have the required inventory", code="insufficient_inventory"
    )


# A conditional increment of one level's reservations: no row when the stock is short.
_RESERVE = FixedQuery(
    update(InventoryLevel)
    .where(
        InventoryLevel.location_id == bindparam("location_id"),
        InventoryLevel.variant_id == bindparam("variant_id"),
        or_(
            InventoryLevel.stocked_quantity - InventoryLevel.reserved_quantity
            >= bindparam("quantity", type_=Integer),
            bindparam("backorder", type_=Boolean),
        ),
    )
    .values(
        reserved_quantity=InventoryLevel.reserved_quantity + bindparam("quantity", type_=Integer),
        updated_at=func.now(),
    )
    .returning(InventoryLevel.id)
)


async def _reserve_stock(session: AsyncSession, plan: _Plan) -> None:
    """Conditional increments of ``reserved_quantity``, one per (location, variant), sorted."""
    wanted: dict[tuple[str, str], int] = defaultdict(int)
    backorder: dict[str, bool] = {}
    for line in plan.lines:
        variant = plan.variants[line.variant_id]
        if variant.manage_inventory:
            wanted[(plan.locations[line.seller_id], variant.id)] += line.quantity
            backorder[variant.id] = variant.allow_backorder
    driver = await driver_connection(session)
    for (location_id, variant_id), quantity in sorted(wanted.items()):
        reserved = await _RESERVE.records(
            session,
            connection=driver,
            location_id=location_id,
            variant_id=variant_id,
            quantity=quantity,
            backorder=backorder[variant_id],
        )
        if not reserved:
            raise _insufficient(variant_id)


async def _authorize(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession], plan: _Plan
) -> _Authorization | None:
    if plan.payment_session is None:
        return None
    payment_session = plan.payment_session
    provider = get_provider(payment_session.provider_id, sessionmaker)
    key = f"{plan.cart.id}:{payment_session.id}:authorize"
    result = await provider.authorize(
        amount=plan.cart_total,
        currency_code=plan.cart.currency_code,
        data=payment_session.data,
        idempotency_key=key,
    )
    authorization = _Authorization(provider, key, plan.cart_total, payment_session.id)
    if result.status in PAYMENT_FAILURES:
        # Leave nothing dangling: a "requires more" authorization may hold funds.
        raise _PaymentNotAuthorized(PaymentFailure(*PAYMENT_FAILURES[result.status]), authorization)
    await _SESSION_AUTHORIZED.records(session, session_id=payment_session.id)
    authorization.captured = result.status == "captured"
    return authorization


async def _void(
    sessionmaker: async_sessionmaker[AsyncSession], authorization: _Authorization
) -> None:
    """Compensation: cancel the authorization and retire its session (a retry needs a new one)."""
    await authorization.provider.cancel(
        amount=authorization.amount,
        idempotency_key=authorization.key.replace(":authorize", ":cancel"),
    )
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(PaymentSession)
            .where(PaymentSession.id == authorization.session_id)
            .values(status="canceled")
        )


def _order_rows(
    plan: _Plan, draft: SellerOrderDraft, totals: DocumentTotals, now: datetime
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """One seller's order, its lines and its shipping methods, as rows to insert."""
    cart, rate = plan.cart, plan.region.tax_rate
    order = {
        "id": new_id("order"),
        "status": "pending",
        "fulfillment_status": "not_fulfilled",
        "seller_id": draft.seller_id,
        "customer_id": cart.customer_id,
        "email": cart.email,
        "region_id": cart.region_id,
        "sales_channel_id": cart.sales_channel_id,
        "currency_code": cart.currency_code,
        "cart_id": cart.id,
        "shipping_address": cart.shipping_address,
        "billing_address": cart.billing_address,
        "created_at": now,
        "updated_at": now,
        **{k: v for k, v in totals.as_dict().items() if k != "original_total"},
    }
    lines = []
    for line in draft.lines:
        line_totals = item_line_totals(line, rate)
        lines.append(
            {
                "id": new_id("ordli"),
                "order_id": order["id"],
                "cart_line_item_id": line.id,
                "variant_id": line.variant_id,
                "product_id": line.product_id,
                "title": line.title,
                "subtitle": line.subtitle,
                "thumbnail": line.thumbnail,
                "product_title": line.product_title,
                "product_handle": line.product_handle,
                "variant_title": line.variant_title,
                "variant_sku": line.variant_sku,
                "currency_code": cart.currency_code,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "requires_shipping": line.requires_shipping,
                "is_tax_inclusive": line.is_tax_inclusive,
                "subtotal": line_totals.subtotal,
                "tax_total": line_totals.tax_total,
                "total": line_totals.total,
                "metadata_": line.metadata_,
                "created_at": now,
                "updated_at": now,
            }
        )
    methods = []
    for method in draft.shipping_methods:
        method_totals = shipping_method_totals(method, rate)
        methods.append(
            {
                "id": new_id("ordsm"),
                "order_id": order["id"],
                "shipping_option_id": method.shipping_option_id,
                "seller_id": method.seller_id,
                "currency_code": cart.currency_code,
                "name": method.name,
                "amount": method.amount,
                "is_tax_inclusive": method.is_tax_inclusive,
                "subtotal": method_totals.subtotal,
                "tax_total": method_totals.tax_total,
                "total": method_totals.total,
                "data": method.data,
                "created_at": now,
                "updated_at": now,
            }
        )
    return order, lines, methods


# What completion changes in rows it read, as driver statements (nothing is left for the
# session to flush at commit).
_SESSION_AUTHORIZED = FixedQuery(
    update(PaymentSession)
    .where(PaymentSession.id == bindparam("session_id"))
    .values(status="authorized", updated_at=func.now())
)
_COLLECTION_AUTHORIZED = FixedQuery(
    update(PaymentCollection)
    .where(PaymentCollection.id == bindparam("collection_id"))
    .values(
        status="authorized",
        authorized_amount=bindparam("authorized", type_=BigInteger),
        captured_amount=bindparam("captured", type_=BigInteger),
        completed_at=bindparam("completed_at", type_=DateTime(timezone=True)),
        updated_at=func.now(),
    )
)
_CART_COMPLETED = FixedQuery(
    update(Cart)
    .where(Cart.id == bindparam("cart_id"))
    .values(
        completed_at=bindparam("completed_at", type_=DateTime(timezone=True)),
        updated_at=func.now(),
    )
)

# The rows of a completion, written by the driver table by table in foreign-key order.
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
    )
}


async def _place_orders(
    session: AsyncSession, plan: _Plan, authorization: _Authorization | None
) -> tuple[str, list[str]]:
    """Write the group and everything in it; returns the group id and the staged event ids."""
    now = datetime.now(UTC)
    cart = plan.cart
    captured = authorization is not None and authorization.captured
    paid = plan.collection is not None and authorization is not None
    collection_status = "authorized" if paid else getattr(plan.collection, "status", None)
    orders: list[dict[str, Any]] = []
    lines: list[dict[str, Any]] = []
    methods: list[dict[str, Any]] = []
    reservations: list[dict[str, Any]] = []
    for draft in plan.drafts:
        order, order_lines, order_methods = _order_rows(
            plan, draft, plan.totals[draft.seller_id], now
        )
        order["payment_status"] = order_payment_status(
            OrderPaymentFacts(
                allocated=order["total"],
                captured=order["total"] if captured else 0,
                collection_status=collection_status,
            )
        )
        orders.append(order)
        lines += order_lines
        methods += order_methods
        for line in order_lines:
            variant = plan.variants[line["variant_id"]]
            if variant.manage_inventory:
                reservations.append(
                    {
                        "id": new_id("resitem"),
                        "line_item_id": line["id"],
                        "variant_id": variant.id,
                        "location_id": plan.locations[order["seller_id"]],
                        "quantity": line["quantity"],
                        "created_at": now,
                        "updated_at": now,
                    }
                )
    await _INSERT[Order].run(session, orders)
    await _INSERT[OrderLineItem].run(session, lines)
    await _INSERT[OrderShippingMethod].run(session, methods)
    await _INSERT[ReservationItem].run(session, reservations)

    if paid:
        collection = plan.collection
        payment_id = new_id("pay")
        payment = {
            "id": payment_id,
            "payment_collection_id": collection.id,
            "payment_session_id": authorization.session_id,
            "provider_id": authorization.provider.id,
            "currency_code": cart.currency_code,
            "amount": plan.cart_total,
            "data": plan.payment_session.data if plan.payment_session else None,
            "captured_at": now if captured else None,
            "created_at": now,
            "updated_at": now,
        }
        await _INSERT[Payment].run(session, [payment])
        await _COLLECTION_AUTHORIZED.records(
            session,
            collection_id=collection.id,
            authorized=plan.cart_total,
            captured=plan.cart_total if captured else 0,
            completed_at=now if captured else None,
        )
        if captured:
            captures = [
                {
                    "id": new_id("capt"),
                    "payment_id": payment_id,
                    "order_id": o["id"],
                    "amount": o["total"],
                    "created_at": now,
                }
                for o in orders
                if o["total"] > 0
            ]
            await _INSERT[Capture].run(session, captures)
            await _INSERT[OrderTransaction].run(
                session,
                (
                    {
                        "id": new_id("ordtrx"),
                        "order_id": c["order_id"],
                        "amount": c["amount"],
                        "currency_code": cart.currency_code,
                        "reference": "capture",
                        "reference_id": c["id"],
                        "created_at": now,
                    }
                    for c in captures
                ),
            )
    if plan.collection is not None:
        await _INSERT[OrderPaymentCollection].run(
            session,
            (
                {
                    "order_id": o["id"],
                    "payment_collection_id": plan.collection.id,
                    "amount": o["total"],
                }
                for o in orders
            ),
        )
    statuses = group_statuses(
        GroupMember(o["status"], o["payment_status"], o["fulfillment_status"]) for o in orders
    )
    seller_ids = sorted({o["seller_id"] for o in orders})
    group = {
        "id": new_id("og"),
        "customer_id": cart.customer_id,
        "cart_id": cart.id,
        "sales_channel_id": cart.sales_channel_id,
        "currency_code": cart.currency_code,
        "seller_count": len(seller_ids),
        "seller_ids": seller_ids,
        "total": sum(o["total"] for o in orders),
        "status": statuses.status,
        "payment_status": statuses.payment_status,
        "fulfillment_status": statuses.fulfillment_status,
        "created_at": now,
        "updated_at": now,
    }
    await _INSERT[OrderGroup].run(session, [group])
    await _INSERT[OrderGroupOrder].run(
        session,
        (
            {
                "order_group_id": group["id"],
                "order_id": o["id"],
                "seller_id": o["seller_id"],
                "group_created_at": group["created_at"],
            }
            for o in orders
        ),
    )
    if cart.customer_id:
        await session.execute(
            insert(SellerCustomer)
            .values([{"seller_id": s, "customer_id": cart.customer_id} for s in seller_ids])
            .on_conflict_do_nothing()
        )
    await _CART_COMPLETED.records(session, cart_id=cart.id, completed_at=now)
    event_ids = await emit_all(
        session,
        [
            *(("order.placed", {"id": o["id"]}) for o in orders),
            ("order_group.created", {"id": group["id"]}),
        ],
    )
    return group["id"], event_ids
