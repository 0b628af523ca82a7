"""The order aggregate's tables: order groups, their orders (lines, shipping methods, payment
links, reservations, money transactions), fulfilments, and the tallies that count them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    SmallInteger,
    String,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from mercato.db.base import Base, Timestamps, id_column, metadata_column, one_of
from mercato.domain.statuses import (
    FULFILLMENT_STATUSES,
    GROUP_STATUSES,
    LIFECYCLE_STATUSES,
    ORDER_STATUSES,
    PAYMENT_STATUSES,
)


class OrderGroup(Timestamps, Base):
    """One checkout (or one converted draft order): wraps the per-seller orders created from one
    cart (draft).

    ``seller_count``, ``total`` and the three statuses are derived from the orders; they are
    stored so filters and sorts use indexes, and every use case that changes an order rewrites
    them in the same transaction (tests check they always equal the recomputed values).
    """

    __tablename__ = "order_group"
    __table_args__ = (
        Index("ix_order_group_created_at", "created_at"),
        Index("ix_order_group_customer_created", "customer_id", "created_at"),
        Index("ix_order_group_status", "status", "payment_status"),
        Index("ix_order_group_payment_status", "payment_status"),
        Index("ix_order_group_fulfillment_status", "fulfillment_status"),
        # Migration 0002: live groups in list order (count by index-only scan, page without sort).
        Index("ix_order_group_seller_ids", "seller_ids", postgresql_using="gin"),
        Index(
            "ix_order_group_live_created",
            "created_at",
            "id",
            postgresql_where=text("deleted_at IS NULL"),
        ),
        Index(
            "ix_order_group_live_status",
            "status",
            "payment_status",
            "created_at",
            "id",
            postgresql_where=text("deleted_at IS NULL"),
        ),
        one_of("status", GROUP_STATUSES),
        one_of("payment_status", PAYMENT_STATUSES),
        one_of("fulfillment_status", FULFILLMENT_STATUSES),
    )
    id: Mapped[str] = id_column("og")
    display_id: Mapped[int] = mapped_column(BigInteger, Identity(), unique=True)
    customer_id: Mapped[str | None] = mapped_column(ForeignKey("customer.id"))
    # A checkout's cart, or the draft order it was converted from (order-changes.md §12): the
    # unique columns make concurrent completions (conversions) yield one group.
    cart_id: Mapped[str | None] = mapped_column(ForeignKey("cart.id"), unique=True)
    draft_order_id: Mapped[str | None] = mapped_column(ForeignKey("draft_order.id"), unique=True)
    sales_channel_id: Mapped[str] = mapped_column(ForeignKey("sales_channel.id"), index=True)
    currency_code: Mapped[str]
    seller_count: Mapped[int]
    # The distinct sellers of the group's orders (GIN-indexed): `seller_id` filters probe it.
    seller_ids: Mapped[list[str]] = mapped_column(
        ARRAY(String), default=list, server_default=text("'{}'::varchar[]")
    )
    total: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str]
    payment_status: Mapped[str]
    fulfillment_status: Mapped[str]
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    metadata_: Mapped[dict[str, Any] | None] = metadata_column()


class OrderGroupOrder(Base):
    """A group's order, with the order's seller and the group's creation time (both fixed for
    life): a seller's groups, newest first, are read along
    ``ix_order_group_order_seller_created`` (the ``seller_id`` filter's page, migration 0005)."""

    __tablename__ = "order_group_order"
    __table_args__ = (
        Index(
            "ix_order_group_order_seller_created", "seller_id", "group_created_at", "order_group_id"
        ),
        # One order per seller in a group: a seller's page never lists a group twice.
        Index("ux_order_group_order_group_seller", "order_group_id", "seller_id", unique=True),
    )
    order_group_id: Mapped[str] = mapped_column(ForeignKey("order_group.id"), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("order.id"), primary_key=True, unique=True)
    seller_id: Mapped[str] = mapped_column(ForeignKey("seller.id"))
    group_created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OrderGroupTally(Base):
    """Live groups per (status, payment_status, fulfillment_status), kept exact by triggers on
    ``order_group`` (migration 0004).

    The admin list must report ``count``; counting the live groups reads one index entry per
    group on every request (a status tab still a large share of them), while summing these rows
    reads at most 64 per status triple, however many groups there are.
    Writers add to the slot of their backend (``pg_backend_pid() % 64``) so concurrent checkouts
    rarely touch the same row; the sum is transactional like any other read (no staleness).
    """

    __tablename__ = "order_group_tally"
    slot: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    status: Mapped[str] = mapped_column(primary_key=True)
    payment_status: Mapped[str] = mapped_column(primary_key=True)
    fulfillment_status: Mapped[str] = mapped_column(primary_key=True)
    live: Mapped[int] = mapped_column(BigInteger)


class OrderGroupSellerTally(Base):
    """Live groups containing an order of each seller, kept exact by the same triggers
    (migration 0004): the ``seller_id`` filter's count without probing every such group."""

    __tablename__ = "order_group_seller_tally"
    slot: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    seller_id: Mapped[str] = mapped_column(primary_key=True)
    live: Mapped[int] = mapped_column(BigInteger)


class OrderTotalsColumns:
    """Totals fixed at placement (integer minor units); edits would write new values."""

    item_total: Mapped[int] = mapped_column(BigInteger, default=0)
    item_subtotal: Mapped[int] = mapped_column(BigInteger, default=0)
    item_tax_total: Mapped[int] = mapped_column(BigInteger, default=0)
    shipping_total: Mapped[int] = mapped_column(BigInteger, default=0)
    shipping_subtotal: Mapped[int] = mapped_column(BigInteger, default=0)
    shipping_tax_total: Mapped[int] = mapped_column(BigInteger, default=0)
    subtotal: Mapped[int] = mapped_column(BigInteger, default=0)
    tax_total: Mapped[int] = mapped_column(BigInteger, default=0)
    discount_total: Mapped[int] = mapped_column(BigInteger, default=0)
    discount_subtotal: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    discount_tax_total: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    original_item_total: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    original_shipping_total: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    total: Mapped[int] = mapped_column(BigInteger, default=0)


class Order(OrderTotalsColumns, Timestamps, Base):
    """One seller's share of a checkout. Statuses are stored and moved by the use cases that
    change them, in the same transaction, so list filters can use indexes."""

    __tablename__ = "order"
    __table_args__ = (
        Index("ix_order_seller_created", "seller_id", "created_at"),
        Index("ix_order_customer_created", "customer_id", "created_at"),
        Index("ix_order_created_at", "created_at"),
        one_of("status", ORDER_STATUSES),
        one_of("lifecycle_status", LIFECYCLE_STATUSES),
        one_of("payment_status", PAYMENT_STATUSES),
        one_of("fulfillment_status", FULFILLMENT_STATUSES),
    )
    id: Mapped[str] = id_column("order")
    display_id: Mapped[int] = mapped_column(BigInteger, Identity(), unique=True)
    status: Mapped[str] = mapped_column(default="pending", index=True)
    payment_status: Mapped[str] = mapped_column(default="not_paid", index=True)
    fulfillment_status: Mapped[str] = mapped_column(default="not_fulfilled", index=True)
    seller_id: Mapped[str] = mapped_column(ForeignKey("seller.id"))
    customer_id: Mapped[str | None] = mapped_column(ForeignKey("customer.id"))
    email: Mapped[str | None]
    region_id: Mapped[str] = mapped_column(ForeignKey("region.id"), index=True)
    sales_channel_id: Mapped[str] = mapped_column(ForeignKey("sales_channel.id"), index=True)
    currency_code: Mapped[str]
    # The cart of the checkout; null for an order converted from a draft order.
    cart_id: Mapped[str | None] = mapped_column(ForeignKey("cart.id"), index=True)
    shipping_address: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    billing_address: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    no_notification: Mapped[bool] = mapped_column(default=False)
    canceled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    metadata_: Mapped[dict[str, Any] | None] = metadata_column()
    # ``status`` is what clients see and filter on (``requires_action`` over a pending or
    # completed order with money due); ``lifecycle_status`` the stored lifecycle under it
    # (order-changes.md §4). Migration 0011.
    lifecycle_status: Mapped[str] = mapped_column(default="pending")
    version: Mapped[int] = mapped_column(default=1)
    # order-changes.md §3.3 in minor units, written with every change, capture and refund.
    summary: Mapped[dict[str, int]] = mapped_column(JSONB, default=dict)


class OrderTally(Base):
    """Orders per (status, payment_status, fulfillment_status), kept exact by triggers on
    ``order`` (migration 0007, ``migrations/tally.py``): ``GET /admin/orders``' ``count``
    without filters, or with status filters, sums these rows instead of counting every order.
    Writers add to the slot of their backend, as for ``OrderGroupTally``."""

    __tablename__ = "order_tally"
    slot: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    status: Mapped[str] = mapped_column(primary_key=True)
    payment_status: Mapped[str] = mapped_column(primary_key=True)
    fulfillment_status: Mapped[str] = mapped_column(primary_key=True)
    live: Mapped[int] = mapped_column(BigInteger)


class OrderSellerTally(Base):
    """Orders per seller and status triple, kept by the same triggers: the count of one
    seller's orders (the admin ``seller_id`` filter, every vendor list), with or without status
    filters. The key leads with the seller, so one seller's rows are read by index."""

    __tablename__ = "order_seller_tally"
    seller_id: Mapped[str] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(primary_key=True)
    payment_status: Mapped[str] = mapped_column(primary_key=True)
    fulfillment_status: Mapped[str] = mapped_column(primary_key=True)
    slot: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    live: Mapped[int] = mapped_column(BigInteger)


class LineDiscountColumns:
    """A line's or shipping method's discount after tax (promotions.md, Tax after discounts);
    its ``subtotal`` is before discounts, its ``tax_total`` and ``total`` after."""

    discount_subtotal: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    discount_tax_total: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    discount_total: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class OrderLineItem(LineDiscountColumns, Timestamps, Base):
    __tablename__ = "order_line_item"
    id: Mapped[str] = id_column("ordli")
    order_id: Mapped[str] = mapped_column(ForeignKey("order.id"), index=True)
    cart_line_item_id: Mapped[str | None]
    variant_id: Mapped[str | None] = mapped_column(index=True)
    product_id: Mapped[str | None]
    title: Mapped[str]
    subtitle: Mapped[str | None]
    thumbnail: Mapped[str | None]
    product_title: Mapped[str]
    product_handle: Mapped[str]
    variant_title: Mapped[str]
    variant_sku: Mapped[str | None]
    currency_code: Mapped[str]
    quantity: Mapped[int]
    unit_price: Mapped[int] = mapped_column(BigInteger)
    requires_shipping: Mapped[bool]
    is_tax_inclusive: Mapped[bool]
    subtotal: Mapped[int] = mapped_column(BigInteger)
    tax_total: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[int] = mapped_column(BigInteger)
    fulfilled_quantity: Mapped[int] = mapped_column(default=0)
    shipped_quantity: Mapped[int] = mapped_column(default=0)
    delivered_quantity: Mapped[int] = mapped_column(default=0)
    return_requested_quantity: Mapped[int] = mapped_column(default=0)
    return_received_quantity: Mapped[int] = mapped_column(default=0)
    return_dismissed_quantity: Mapped[int] = mapped_column(default=0)
    written_off_quantity: Mapped[int] = mapped_column(default=0)
    deducted_quantity: Mapped[int] = mapped_column(default=0)
    # Internal (order-changes.md §3.1): the value deducted for ``deducted_quantity`` units.
    deducted_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    metadata_: Mapped[dict[str, Any] | None] = metadata_column()
    # The exchange or claim whose outbound part added the line (migration 0013).
    exchange_id: Mapped[str | None] = mapped_column(index=True)
    claim_id: Mapped[str | None] = mapped_column(index=True)


class OrderShippingMethod(LineDiscountColumns, Timestamps, Base):
    __tablename__ = "order_shipping_method"
    id: Mapped[str] = id_column("ordsm")
    order_id: Mapped[str] = mapped_column(ForeignKey("order.id"), index=True)
    shipping_option_id: Mapped[str | None]
    seller_id: Mapped[str] = mapped_column(ForeignKey("seller.id"))
    currency_code: Mapped[str]
    name: Mapped[str]
    amount: Mapped[int] = mapped_column(BigInteger)
    is_tax_inclusive: Mapped[bool]
    subtotal: Mapped[int] = mapped_column(BigInteger)
    tax_total: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[int] = mapped_column(BigInteger)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    return_id: Mapped[str | None] = mapped_column(index=True)
    exchange_id: Mapped[str | None] = mapped_column(index=True)
    claim_id: Mapped[str | None] = mapped_column(index=True)


class OrderPaymentCollection(Base):
    """Link order ↔ payment collection carrying the order's own share (its total)."""

    __tablename__ = "order_payment_collection"
    order_id: Mapped[str] = mapped_column(ForeignKey("order.id"), primary_key=True)
    payment_collection_id: Mapped[str] = mapped_column(
        ForeignKey("payment_collection.id"), primary_key=True, index=True
    )
    amount: Mapped[int] = mapped_column(BigInteger)


class ReservationItem(Timestamps, Base):
    """Units of a variant held at a seller's stock location for one order line."""

    __tablename__ = "reservation_item"
    __table_args__ = (
        Index("ix_reservation_item_created_at", "created_at", "id"),
        Index("ix_reservation_item_updated_at", "updated_at"),
    )
    id: Mapped[str] = id_column("resitem")
    line_item_id: Mapped[str] = mapped_column(ForeignKey("order_line_item.id"), index=True)
    variant_id: Mapped[str] = mapped_column(ForeignKey("product_variant.id"), index=True)
    location_id: Mapped[str] = mapped_column(ForeignKey("stock_location.id"), index=True)
    quantity: Mapped[int]


class SellerCustomer(Base):
    """Created when a customer first buys from a seller."""

    __tablename__ = "seller_customer"
    seller_id: Mapped[str] = mapped_column(ForeignKey("seller.id"), primary_key=True)
    customer_id: Mapped[str] = mapped_column(
        ForeignKey("customer.id"), primary_key=True, index=True
    )


class OrderTransaction(Base):
    """Money that moved for one order: captures positive, refunds negative (Medusa 2.8)."""

    __tablename__ = "order_transaction"
    id: Mapped[str] = id_column("ordtrx")
    order_id: Mapped[str] = mapped_column(ForeignKey("order.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency_code: Mapped[str]
    reference: Mapped[str]  # capture | refund
    reference_id: Mapped[str]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Fulfillment(Timestamps, Base):
    """Items of one order packed at the seller's location; later shipped, delivered or canceled."""

    __tablename__ = "fulfillment"
    id: Mapped[str] = id_column("ful")
    order_id: Mapped[str] = mapped_column(ForeignKey("order.id"), index=True)
    location_id: Mapped[str] = mapped_column(ForeignKey("stock_location.id"))
    # The option it ships with (admin-dashboard.md §7); null for fulfilments made before 0019.
    shipping_option_id: Mapped[str | None] = mapped_column(ForeignKey("shipping_option.id"))
    packed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    shipped_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    canceled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    no_notification: Mapped[bool] = mapped_column(default=False)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    # Internal: the stock each line converted from its reservation, restored exactly on cancel.
    converted_inventory: Mapped[list[dict[str, Any]] | None] = mapped_column(
        JSONB(none_as_null=True)
    )


class FulfillmentItem(Base):
    __tablename__ = "fulfillment_item"
    id: Mapped[str] = id_column("fulit")
    fulfillment_id: Mapped[str] = mapped_column(ForeignKey("fulfillment.id"), index=True)
    line_item_id: Mapped[str] = mapped_column(ForeignKey("order_line_item.id"), index=True)
    quantity: Mapped[int]
    title: Mapped[str | None]  # the line's, copied at creation
    sku: Mapped[str | None]


class FulfillmentLabel(Base):
    __tablename__ = "fulfillment_label"
    id: Mapped[str] = id_column("fulla")
    fulfillment_id: Mapped[str] = mapped_column(ForeignKey("fulfillment.id"), index=True)
    tracking_number: Mapped[str]
    tracking_url: Mapped[str | None]
    label_url: Mapped[str | None]
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), default=func.now()
    )


class OrderAdjustmentColumns:
    """An adjustment copied from the cart at placement, with its tax split (never recomputed)."""

    order_id: Mapped[str] = mapped_column(ForeignKey("order.id"), index=True)
    # Stacking order of the cart's adjustments: a line's tax split gives ties to the earlier.
    position: Mapped[int]
    promotion_id: Mapped[str] = mapped_column(ForeignKey("promotion.id"))
    code: Mapped[str]
    description: Mapped[str | None]
    amount: Mapped[int] = mapped_column(BigInteger)
    subtotal: Mapped[int] = mapped_column(BigInteger)
    tax_total: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[int] = mapped_column(BigInteger)
    is_tax_inclusive: Mapped[bool]
    funded_by: Mapped[str]
    seller_id: Mapped[str] = mapped_column(ForeignKey("seller.id"))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), default=func.now()
    )


class OrderLineItemAdjustment(OrderAdjustmentColumns, Base):
    __tablename__ = "order_line_item_adjustment"
    id: Mapped[str] = id_column("ordliadj")
    item_id: Mapped[str] = mapped_column(ForeignKey("order_line_item.id"), index=True)


class OrderShippingMethodAdjustment(OrderAdjustmentColumns, Base):
    __tablename__ = "order_shipping_method_adjustment"
    id: Mapped[str] = id_column("ordsmadj")
    shipping_method_id: Mapped[str] = mapped_column(
        ForeignKey("order_shipping_method.id"), index=True
    )


class OrderPromotion(Base):
    """Seed 004's order ↔ promotion link: each promotion that produced an adjustment in it."""

    __tablename__ = "order_promotion"
    order_id: Mapped[str] = mapped_column(ForeignKey("order.id"), primary_key=True)
    promotion_id: Mapped[str] = mapped_column(
        ForeignKey("promotion.id"), primary_key=True, index=True
    )
