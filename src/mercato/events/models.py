from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Index, func, text
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
        Index("ix_event_outbox_name", "name", "created_at"),
    )
    id: Mapped[str] = id_column("evt")
    name: Mapped[str]
    resource_id: Mapped[str | None] = mapped_column(index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    dispatched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
