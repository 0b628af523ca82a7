from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Identity, Index, Integer, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from mercato.db.base import Base, id_column


class OutboxEvent(Base):
    """An event written in the business transaction; dispatched to subscribers after commit."""

    __tablename__ = "event_outbox"
    __table_args__ = (
        Index(
            "ix_event_outbox_pending", "created_at", postgresql_where=text("dispatched_at IS NULL")
        ),
        Index(
            "ix_event_outbox_undispatched_seq",
            "seq",
            postgresql_where=text("dispatched_at IS NULL"),
        ),
        Index("ix_event_outbox_name", "name", "created_at"),
        Index("ix_event_outbox_seller", "seller_id", "seq"),
    )
    id: Mapped[str] = id_column("evt")
    # Insert order, across processes: the relay and every envelope carry it.
    seq: Mapped[int] = mapped_column(BigInteger, Identity(), unique=True)
    name: Mapped[str]
    # The one seller the event is about (an order's seller, a seller promotion's owner), or null.
    seller_id: Mapped[str | None]
    resource_id: Mapped[str | None] = mapped_column(index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    dispatched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class EventDelivery(Base):
    """An event still owed to one subscriber: claimed with a lease, retried with backoff,
    deleted when handled (events-and-scale-out.md, PostgreSQL transport)."""

    __tablename__ = "event_delivery"
    __table_args__ = (Index("ix_event_delivery_due", "subscriber", "next_attempt_at", "event_seq"),)
    event_id: Mapped[str] = mapped_column(ForeignKey("event_outbox.id"), primary_key=True)
    subscriber: Mapped[str] = mapped_column(primary_key=True)
    event_seq: Mapped[int] = mapped_column(BigInteger)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class EventConsumption(Base):
    """A subscriber handled an event: inserted in the handler's own transaction first, so a
    redelivered event runs its handler's database effects exactly once."""

    __tablename__ = "event_consumption"
    # The primary key leads with the subscriber; deleting an event (retention) probes this.
    __table_args__ = (Index("ix_event_consumption_event_id", "event_id"),)
    subscriber: Mapped[str] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("event_outbox.id"), primary_key=True)
    consumed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class EventDeadLetter(Base):
    """An event a subscriber failed on every attempt: kept for an admin to retry."""

    __tablename__ = "event_dead_letter"
    __table_args__ = (
        Index("ix_event_dead_letter_failed_at", "failed_at", "id"),
        Index("ix_event_dead_letter_subscriber", "subscriber", "failed_at"),
    )
    id: Mapped[str] = id_column("evdl")
    event_id: Mapped[str] = mapped_column(ForeignKey("event_outbox.id"), index=True)
    event_name: Mapped[str] = mapped_column(index=True)
    subscriber: Mapped[str]
    attempts: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str | None]
    failed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    retried_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class MercatoProcess(Base):
    """A live API or worker process: its connection budget and heartbeat (``status`` carries
    what a worker last saw of its transport)."""

    __tablename__ = "mercato_process"
    __table_args__ = (Index("ix_mercato_process_heartbeat", "heartbeat_at"),)
    id: Mapped[str] = id_column("proc")
    kind: Mapped[str]
    host: Mapped[str]
    pid: Mapped[int] = mapped_column(Integer)
    pool_budget: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    heartbeat_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    status: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
