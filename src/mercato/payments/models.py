from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from mercato.db.base import Base, Timestamps, id_column, one_of
from mercato.domain.payments import (
    COLLECTION_SOURCES,
    PAYMENT_COLLECTION_STATUSES,
    PAYMENT_SESSION_STATUSES,
)


class PaymentCollection(Timestamps, Base):
    """A payment the customer makes: a cart's, shared by its group's orders (each holds its
    share), or an order change's amount due, linked to that one order."""

    __tablename__ = "payment_collection"
    __table_args__ = (
        one_of("status", PAYMENT_COLLECTION_STATUSES),
        one_of("source", COLLECTION_SOURCES),
    )
    id: Mapped[str] = id_column("pay_col")
    # A cart's collection (shared by the group's orders) or an order change's (one order's).
    cart_id: Mapped[str | None] = mapped_column(ForeignKey("cart.id"), unique=True)
    source: Mapped[str] = mapped_column(default="cart", server_default="cart")
    order_change_id: Mapped[str | None]
    currency_code: Mapped[str]
    amount: Mapped[int] = mapped_column(BigInteger)
    authorized_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    captured_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(default="not_paid")  # domain.payments' vocabulary
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PaymentSession(Timestamps, Base):
    __tablename__ = "payment_session"
    __table_args__ = (one_of("status", PAYMENT_SESSION_STATUSES),)
    id: Mapped[str] = id_column("payses")
    payment_collection_id: Mapped[str] = mapped_column(
        ForeignKey("payment_collection.id"), index=True
    )
    provider_id: Mapped[str]
    currency_code: Mapped[str]
    amount: Mapped[int] = mapped_column(BigInteger)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    status: Mapped[str] = mapped_column(default="pending")  # domain.payments' vocabulary


class Payment(Timestamps, Base):
    """An authorized payment; captures and refunds are attributed to one order each."""

    __tablename__ = "payment"
    id: Mapped[str] = id_column("pay")
    payment_collection_id: Mapped[str] = mapped_column(
        ForeignKey("payment_collection.id"), index=True
    )
    payment_session_id: Mapped[str] = mapped_column(ForeignKey("payment_session.id"))
    provider_id: Mapped[str]
    currency_code: Mapped[str]
    amount: Mapped[int] = mapped_column(BigInteger)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    captured_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    canceled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ProviderCall(Base):
    """Every call made to a payment provider, written outside the business transaction, so a
    voided or declined authorization stays visible even when the checkout rolled back."""

    __tablename__ = "payment_provider_call"
    id: Mapped[str] = id_column("ppcall")
    provider_id: Mapped[str]
    operation: Mapped[str]  # authorize | capture | refund | cancel
    idempotency_key: Mapped[str] = mapped_column(index=True)
    amount: Mapped[int | None] = mapped_column(BigInteger)
    result: Mapped[str]
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Capture(Base):
    """Money captured from a payment, attributed to one order."""

    __tablename__ = "capture"
    id: Mapped[str] = id_column("capt")
    payment_id: Mapped[str] = mapped_column(ForeignKey("payment.id"), index=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("order.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    idempotency_key: Mapped[str | None] = mapped_column(unique=True)
    created_by: Mapped[str | None]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Refund(Base):
    """Money refunded from a payment, attributed to one order."""

    __tablename__ = "refund"
    id: Mapped[str] = id_column("ref")
    payment_id: Mapped[str] = mapped_column(ForeignKey("payment.id"), index=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("order.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    note: Mapped[str | None]
    reason: Mapped[str | None]
    idempotency_key: Mapped[str | None] = mapped_column(unique=True)
    created_by: Mapped[str | None]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
