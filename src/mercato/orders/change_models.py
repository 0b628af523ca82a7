"""Tables of order changes (order-changes.md §2): changes and their actions, returns and their
items, credit lines (migration 0011); exchanges and claims (0013)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Identity, Index, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from mercato.db.base import Base, Timestamps, id_column, metadata_column, one_of
from mercato.domain.order_changes import (
    CHANGE_STATUSES,
    CHANGE_TYPES,
    CLAIM_REASONS,
    CLAIM_TYPES,
    RETURN_STATUSES,
)


class OrderChange(Timestamps, Base):
    """One change of an order's contents — or of a draft order's (``draft_order_id``, no
    order; migration 0014) — at most one active (pending or requested) per order and per
    draft, which the partial unique indexes enforce."""

    __tablename__ = "order_change"
    __table_args__ = (
        Index(
            "ux_order_change_active",
            "order_id",
            unique=True,
            postgresql_where=text("status IN ('pending', 'requested')"),
        ),
        Index(
            "ux_order_change_draft_active",
            "draft_order_id",
            unique=True,
            postgresql_where=text("status IN ('pending', 'requested')"),
        ),
        Index("ix_order_change_order_created", "order_id", "created_at"),
        Index("ix_order_change_draft_created", "draft_order_id", "created_at"),
        # A change belongs to an order or to a draft order, never both.
        CheckConstraint("(order_id IS NULL) <> (draft_order_id IS NULL)", name="owner"),
        one_of("change_type", CHANGE_TYPES),
        one_of("status", CHANGE_STATUSES),
    )
    id: Mapped[str] = id_column("ordch")
    order_id: Mapped[str | None] = mapped_column(ForeignKey("order.id"))
    return_id: Mapped[str | None] = mapped_column(index=True)
    exchange_id: Mapped[str | None]
    claim_id: Mapped[str | None]
    draft_order_id: Mapped[str | None] = mapped_column(ForeignKey("draft_order.id"))
    version: Mapped[int]
    change_type: Mapped[str]
    status: Mapped[str]
    description: Mapped[str | None]
    internal_note: Mapped[str | None]
    created_by: Mapped[str | None]
    requested_by: Mapped[str | None]
    requested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    confirmed_by: Mapped[str | None]
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    declined_by: Mapped[str | None]
    declined_reason: Mapped[str | None]
    declined_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    canceled_by: Mapped[str | None]
    canceled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    metadata_: Mapped[dict[str, Any] | None] = metadata_column()


class OrderChangeAction(Timestamps, Base):
    __tablename__ = "order_change_action"
    id: Mapped[str] = id_column("ordchact")
    order_change_id: Mapped[str] = mapped_column(ForeignKey("order_change.id"), index=True)
    order_id: Mapped[str | None] = mapped_column(ForeignKey("order.id"))  # null: a draft's
    return_id: Mapped[str | None]
    exchange_id: Mapped[str | None]
    claim_id: Mapped[str | None]
    version: Mapped[int]
    ordering: Mapped[int]
    action: Mapped[str]
    reference: Mapped[str | None]
    reference_id: Mapped[str | None]
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    currency_code: Mapped[str]
    amount: Mapped[int] = mapped_column(BigInteger, default=0)
    internal_note: Mapped[str | None]
    applied: Mapped[bool] = mapped_column(default=False)


class OrderReturn(Timestamps, Base):
    """A return (API object ``return``) of units of one seller's order."""

    __tablename__ = "order_return"
    __table_args__ = (
        Index("ix_order_return_order", "order_id"),
        Index("ix_order_return_created", "created_at", "id"),
        Index("ix_order_return_seller_created", "seller_id", "created_at"),
        Index("ix_order_return_status", "status"),
        Index("ix_order_return_updated_at", "updated_at"),  # migration 0012
        one_of("status", RETURN_STATUSES),
    )
    id: Mapped[str] = id_column("return")
    display_id: Mapped[int] = mapped_column(BigInteger, Identity(), unique=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("order.id"))
    seller_id: Mapped[str] = mapped_column(ForeignKey("seller.id"))
    exchange_id: Mapped[str | None]
    claim_id: Mapped[str | None]
    order_version: Mapped[int]
    status: Mapped[str]
    location_id: Mapped[str | None] = mapped_column(ForeignKey("stock_location.id"))
    no_notification: Mapped[bool] = mapped_column(default=False)
    currency_code: Mapped[str]
    refund_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    created_by: Mapped[str | None]
    requested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    canceled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    metadata_: Mapped[dict[str, Any] | None] = metadata_column()


class ReturnItem(Timestamps, Base):
    __tablename__ = "return_item"
    id: Mapped[str] = id_column("retitem")
    return_id: Mapped[str] = mapped_column(ForeignKey("order_return.id"), index=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("order_line_item.id"), index=True)
    quantity: Mapped[int]
    received_quantity: Mapped[int] = mapped_column(default=0)
    damaged_quantity: Mapped[int] = mapped_column(default=0)
    # Internal (order-changes.md §3.1): the value the request deducted for these units.
    deducted_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    reason_id: Mapped[str | None]
    note: Mapped[str | None]
    metadata_: Mapped[dict[str, Any] | None] = metadata_column()


class OrderCreditLine(Timestamps, Base):
    __tablename__ = "order_credit_line"
    id: Mapped[str] = id_column("ordcl")
    order_id: Mapped[str] = mapped_column(ForeignKey("order.id"), index=True)
    currency_code: Mapped[str]
    amount: Mapped[int] = mapped_column(BigInteger)
    reference: Mapped[str | None]
    reference_id: Mapped[str | None]
    metadata_: Mapped[dict[str, Any] | None] = metadata_column()


class OrderExchange(Timestamps, Base):
    """An exchange (API object ``exchange``): units back (its return), others out (§2.3)."""

    __tablename__ = "order_exchange"
    __table_args__ = (
        Index("ix_order_exchange_order", "order_id"),
        Index("ix_order_exchange_created", "created_at", "id"),
        Index("ix_order_exchange_seller_created", "seller_id", "created_at"),
        Index("ix_order_exchange_updated_at", "updated_at"),
    )
    id: Mapped[str] = id_column("oexc")
    display_id: Mapped[int] = mapped_column(BigInteger, Identity(), unique=True)
    difference_due: Mapped[int] = mapped_column(BigInteger, default=0)
    allow_backorder: Mapped[bool] = mapped_column(default=False)
    order_id: Mapped[str] = mapped_column(ForeignKey("order.id"))
    seller_id: Mapped[str] = mapped_column(ForeignKey("seller.id"))
    return_id: Mapped[str | None]
    order_version: Mapped[int]
    currency_code: Mapped[str]
    no_notification: Mapped[bool] = mapped_column(default=False)
    created_by: Mapped[str | None]
    canceled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    metadata_: Mapped[dict[str, Any] | None] = metadata_column()


class OrderExchangeItem(Timestamps, Base):
    """An outbound line of an exchange (``additional_items``)."""

    __tablename__ = "order_exchange_item"
    id: Mapped[str] = id_column("oexcitem")
    exchange_id: Mapped[str] = mapped_column(ForeignKey("order_exchange.id"), index=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("order_line_item.id"))
    quantity: Mapped[int]
    metadata_: Mapped[dict[str, Any] | None] = metadata_column()


class OrderClaim(Timestamps, Base):
    """A claim (API object ``claim``): units missing or faulty, refunded or replaced (§2.3)."""

    __tablename__ = "order_claim"
    __table_args__ = (
        Index("ix_order_claim_order", "order_id"),
        Index("ix_order_claim_created", "created_at", "id"),
        Index("ix_order_claim_seller_created", "seller_id", "created_at"),
        Index("ix_order_claim_updated_at", "updated_at"),
        Index("ix_order_claim_type", "type"),
        one_of("type", CLAIM_TYPES),
    )
    id: Mapped[str] = id_column("claim")
    display_id: Mapped[int] = mapped_column(BigInteger, Identity(), unique=True)
    type: Mapped[str]
    reason_id: Mapped[str | None]
    refund_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    order_id: Mapped[str] = mapped_column(ForeignKey("order.id"))
    seller_id: Mapped[str] = mapped_column(ForeignKey("seller.id"))
    return_id: Mapped[str | None]
    order_version: Mapped[int]
    currency_code: Mapped[str]
    no_notification: Mapped[bool] = mapped_column(default=False)
    created_by: Mapped[str | None]
    canceled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    metadata_: Mapped[dict[str, Any] | None] = metadata_column()


class OrderClaimItem(Timestamps, Base):
    """Claimed units of one order line, with their reason (``claim_items``)."""

    __tablename__ = "order_claim_item"
    __table_args__ = (one_of("reason", CLAIM_REASONS),)
    id: Mapped[str] = id_column("claitem")
    claim_id: Mapped[str] = mapped_column(ForeignKey("order_claim.id"), index=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("order_line_item.id"))
    quantity: Mapped[int]
    # Claimed units carry a reason; outbound lines (``is_additional_item``) none.
    reason: Mapped[str | None]
    is_additional_item: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str | None]
    # Internal (§3.1): the value a refund claim deducted for these units.
    deducted_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    metadata_: Mapped[dict[str, Any] | None] = metadata_column()
