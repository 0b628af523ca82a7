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
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from mercato.db.base import Base, Timestamps, id_column, metadata_column


class OrderGroup(Timestamps, Base):
    """One checkout: wraps the per-seller orders created from one cart.

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
    )
    id: Mapped[str] = id_column("og")
    display_id: Mapped[int] = mapped_column(BigInteger, Identity(), unique=True)
    customer_id: Mapped[str | None] = mapped_column(ForeignKey("customer.id"))
    cart_id: Mapped[str] = mapped_column(ForeignKey("cart.id"), unique=True)
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

    The admin list must report ``count``; counting 100,000 index entries costs ~6 ms of
    PostgreSQL CPU per request (a status tab still ~2-4 ms), summing these rows microseconds.
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
