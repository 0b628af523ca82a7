"""Webhook endpoints, their deliveries (one per endpoint and event) and every attempt."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from mercato.db.base import Base, SoftDelete, Timestamps, id_column, metadata_column, one_of

DELIVERY_STATUSES = ("pending", "succeeded", "failed")
DISABLED_REASONS = ("consecutive_failures", "gone", "manual")


class Webhook(Timestamps, SoftDelete, Base):
    """An endpoint of the operator (``seller_id`` null) or of one seller. The secret is stored
    encrypted (AES-GCM, key from ``MERCATO_SECRET_KEY``); during a rotation the previous one
    keeps signing until ``previous_secret_expires_at``."""

    __tablename__ = "webhook"
    __table_args__ = (
        Index("ix_webhook_created_at", "created_at", "id"),
        Index("ix_webhook_updated_at", "updated_at"),
        Index("ix_webhook_events", "events", postgresql_using="gin"),
        Index("ix_webhook_active", "is_active", postgresql_where=text("deleted_at IS NULL")),
    )
    id: Mapped[str] = id_column("whe")
    url: Mapped[str]
    description: Mapped[str | None]
    events: Mapped[list[str]] = mapped_column(ARRAY(String))
    is_active: Mapped[bool] = mapped_column(default=True)
    disabled_reason: Mapped[str | None]
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    seller_id: Mapped[str | None] = mapped_column(ForeignKey("seller.id"), index=True)
    secret_ciphertext: Mapped[str]
    secret_hint: Mapped[str]
    previous_secret_ciphertext: Mapped[str | None]
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    metadata_: Mapped[dict[str, Any] | None] = metadata_column()


class WebhookDelivery(Timestamps, Base):
    """One event owed to one endpoint: the same ``webhook-id`` (the event id) on every attempt."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        UniqueConstraint("webhook_id", "event_id"),
        one_of("status", DELIVERY_STATUSES),
        Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
        Index("ix_webhook_delivery_webhook_created", "webhook_id", "created_at", "id"),
    )
    id: Mapped[str] = id_column("whd")
    webhook_id: Mapped[str] = mapped_column(ForeignKey("webhook.id"))
    event_id: Mapped[str] = mapped_column(ForeignKey("event_outbox.id"), index=True)
    event_name: Mapped[str]
    status: Mapped[str] = mapped_column(default="pending")
    attempt_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None]
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WebhookAttempt(Base):
    """One HTTP attempt of a delivery: status, duration, error, the response's first 2 KiB."""

    __tablename__ = "webhook_attempt"
    id: Mapped[str] = id_column("wha")
    delivery_id: Mapped[str] = mapped_column(ForeignKey("webhook_delivery.id"), index=True)
    attempted_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    status_code: Mapped[int | None] = mapped_column(Integer)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None]
    response_body: Mapped[str | None]
