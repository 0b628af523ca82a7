from __future__ import annotations

from typing import Any

from sqlalchemy import Index, text
from sqlalchemy.orm import Mapped, mapped_column

from mercato.db.base import Base, SoftDelete, Timestamps, id_column, metadata_column


class Customer(Timestamps, SoftDelete, Base):
    __tablename__ = "customer"
    __table_args__ = (
        Index(
            "uq_customer_email_account",
            "email",
            unique=True,
            postgresql_where=text("has_account AND deleted_at IS NULL"),
        ),
        Index("ix_customer_email_lower", text("lower(email)")),
    )
    id: Mapped[str] = id_column("cus")
    email: Mapped[str | None]
    first_name: Mapped[str | None]
    last_name: Mapped[str | None]
    phone: Mapped[str | None]
    company_name: Mapped[str | None]
    has_account: Mapped[bool] = mapped_column(default=False)
    metadata_: Mapped[dict[str, Any] | None] = metadata_column()
