"""The installation's one store (admin-dashboard.md §3) and its currencies."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mercato.db.base import Base, Timestamps, id_column, metadata_column


class Store(Timestamps, Base):
    """One row per installation (``mercato migrate`` creates it); never created or deleted by
    the API. The defaults are plain ids: deleting a region or sales channel soft-deletes it,
    and its service nulls the default itself (``stores.service.clear_default``)."""

    __tablename__ = "store"
    id: Mapped[str] = id_column("store")
    name: Mapped[str]
    default_sales_channel_id: Mapped[str | None] = mapped_column(String, default=None)
    default_region_id: Mapped[str | None] = mapped_column(String, default=None)
    default_location_id: Mapped[str | None] = mapped_column(String, default=None)
    metadata_: Mapped[dict[str, Any] | None] = metadata_column()


class StoreCurrency(Timestamps, Base):
    __tablename__ = "store_currency"
    __table_args__ = (UniqueConstraint("store_id", "currency_code"),)
    id: Mapped[str] = id_column("stocur")
    store_id: Mapped[str] = mapped_column(ForeignKey("store.id", ondelete="CASCADE"))
    currency_code: Mapped[str] = mapped_column(String(3))
    is_default: Mapped[bool] = mapped_column(default=False)
