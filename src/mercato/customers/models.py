from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, Index, text
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
        # The dashboard's customer list sorts on these (admin-dashboard.md §5.3; migration 0019).
        Index("ix_customer_first_name", "first_name", "id"),
        Index("ix_customer_last_name", "last_name", "id"),
        Index("ix_customer_has_account", "has_account", "id"),
    )
    id: Mapped[str] = id_column("cus")
    email: Mapped[str | None]
    first_name: Mapped[str | None]
    last_name: Mapped[str | None]
    phone: Mapped[str | None]
    company_name: Mapped[str | None]
    has_account: Mapped[bool] = mapped_column(default=False)
    metadata_: Mapped[dict[str, Any] | None] = metadata_column()


class CustomerGroup(Timestamps, SoftDelete, Base):
    """A named set of customers that promotion rules can target (``customer.groups.id``)."""

    __tablename__ = "customer_group"
    __table_args__ = (
        Index(
            "uq_customer_group_name",
            "name",
            unique=True,
            postgresql_where=text("deleted_at IS NULL"),
        ),
        Index("ix_customer_group_created_at", "created_at", "id"),
        Index("ix_customer_group_updated_at", "updated_at"),
    )
    id: Mapped[str] = id_column("cusgroup")
    name: Mapped[str]
    metadata_: Mapped[dict[str, Any] | None] = metadata_column()


class CustomerGroupCustomer(Base):
    __tablename__ = "customer_group_customer"
    customer_group_id: Mapped[str] = mapped_column(
        ForeignKey("customer_group.id"), primary_key=True
    )
    customer_id: Mapped[str] = mapped_column(
        ForeignKey("customer.id"), primary_key=True, index=True
    )
