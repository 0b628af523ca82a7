from __future__ import annotations

from typing import Any, Final, Literal, get_args

from sqlalchemy import ForeignKey, Index, text
from sqlalchemy.orm import Mapped, mapped_column

from mercato.db.base import Base, SoftDelete, Timestamps, id_column, metadata_column, one_of

SellerStatus = Literal["active", "suspended"]
SELLER_STATUSES: Final[tuple[SellerStatus, ...]] = get_args(SellerStatus)


class Seller(Timestamps, SoftDelete, Base):
    __tablename__ = "seller"
    __table_args__ = (
        Index(
            "uq_seller_handle", "handle", unique=True, postgresql_where=text("deleted_at IS NULL")
        ),
        one_of("status", SELLER_STATUSES),
    )
    id: Mapped[str] = id_column("sel")
    name: Mapped[str]
    handle: Mapped[str]
    email: Mapped[str | None]
    description: Mapped[str | None]
    logo: Mapped[str | None]
    status: Mapped[str] = mapped_column(default="active")
    metadata_: Mapped[dict[str, Any] | None] = metadata_column()


class SellerMember(Timestamps, SoftDelete, Base):
    """A seller's staff account; logs in at ``/auth/seller/emailpass`` and uses ``/vendor``."""

    __tablename__ = "seller_member"
    __table_args__ = (
        Index(
            "uq_seller_member_email",
            "email",
            unique=True,
            postgresql_where=text("deleted_at IS NULL"),
        ),
    )
    id: Mapped[str] = id_column("mem")
    seller_id: Mapped[str] = mapped_column(ForeignKey("seller.id"), index=True)
    email: Mapped[str]
    name: Mapped[str | None]
    role: Mapped[str] = mapped_column(default="owner")


class StockLocation(Timestamps, Base):
    """Each seller ships from exactly one stock location, created with the seller."""

    __tablename__ = "stock_location"
    __table_args__ = (
        Index("ix_stock_location_name", "name"),
        Index("ix_stock_location_created_at", "created_at", "id"),
        Index("ix_stock_location_updated_at", "updated_at"),
    )
    id: Mapped[str] = id_column("sloc")
    name: Mapped[str]
    seller_id: Mapped[str] = mapped_column(ForeignKey("seller.id"), unique=True)
