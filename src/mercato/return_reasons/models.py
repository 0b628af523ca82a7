from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from mercato.db.base import Base, SoftDelete, Timestamps, id_column, metadata_column


class ReturnReason(Timestamps, SoftDelete, Base):
    """Why an item comes back (order-changes.md §2.2): marketplace-wide, managed by the operator.
    A reason with live children is a heading only: it cannot be applied to an item."""

    __tablename__ = "return_reason"
    __table_args__ = (
        Index("ix_return_reason_created_at", "created_at"),
        Index("ix_return_reason_updated_at", "updated_at"),
    )
    id: Mapped[str] = id_column("rr")
    value: Mapped[str] = mapped_column(index=True)
    label: Mapped[str] = mapped_column(index=True)
    description: Mapped[str | None]
    parent_return_reason_id: Mapped[str | None] = mapped_column(
        ForeignKey("return_reason.id"), index=True
    )
    metadata_: Mapped[dict[str, Any] | None] = metadata_column()
