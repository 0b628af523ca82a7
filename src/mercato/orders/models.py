from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Identity, Index, SmallInteger, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from mercato.db.base import Base, Timestamps, id_column, metadata_column


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
    total: Mapped[int] = mapped_column(BigInteger, default=0)


class Order(OrderTotalsColumns, Timestamps, Base):
    """One seller's share of a checkout. Statuses are stored and moved by the use cases that
    change them, in the same transaction, so list filters can use indexes."""

    __tablename__ = "order"
    __table_args__ = (
        Index("ix_order_seller_created", "seller_id", "created_at"),
        Index("ix_order_customer_created", "customer_id", "created_at"),
        Index("ix_order_created_at", "created_at"),
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
    cart_id: Mapped[str] = mapped_column(ForeignKey("cart.id"), index=True)
    shipping_address: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    billing_address: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    no_notification: Mapped[bool] = mapped_column(default=False)
    canceled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    metadata_: Mapped[dict[str, Any] | None] = metadata_column()


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


class OrderLineItem(Timestamps, Base):
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
    metadata_: Mapped[dict[str, Any] | None] = metadata_column()


class OrderShippingMethod(Timestamps, Base):
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
    id: Mapped[str] = id_column("resitem")
    line_item_id: Mapped[str] = mapped_column(ForeignKey("order_line_item.id"), index=True)
    variant_id: Mapped[str] = mapped_column(ForeignKey("product_variant.id"), index=True)
    location_id: Mapped[str] = mapped_column(ForeignKey("stock_location.id"))
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
