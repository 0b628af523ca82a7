from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from mercato.db.base import Base, Timestamps, id_column


class Fulfillment(Timestamps, Base):
    """Items of one order packed at the seller's location; later shipped, delivered or canceled."""

    __tablename__ = "fulfillment"
    id: Mapped[str] = id_column("ful")
    order_id: Mapped[str] = mapped_column(ForeignKey("order.id"), index=True)
    location_id: Mapped[str] = mapped_column(ForeignKey("stock_location.id"))
    packed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    shipped_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    canceled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    no_notification: Mapped[bool] = mapped_column(default=False)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    # Internal: the stock each line converted from its reservation, restored exactly on cancel.
    converted_inventory: Mapped[list[dict[str, Any]] | None] = mapped_column(
        JSONB(none_as_null=True)
    )


class FulfillmentItem(Base):
    __tablename__ = "fulfillment_item"
    id: Mapped[str] = id_column("fulit")
    fulfillment_id: Mapped[str] = mapped_column(ForeignKey("fulfillment.id"), index=True)
    line_item_id: Mapped[str] = mapped_column(ForeignKey("order_line_item.id"), index=True)
    quantity: Mapped[int]


class FulfillmentLabel(Base):
    __tablename__ = "fulfillment_label"
    id: Mapped[str] = id_column("fulla")
    fulfillment_id: Mapped[str] = mapped_column(ForeignKey("fulfillment.id"), index=True)
    tracking_number: Mapped[str]
    tracking_url: Mapped[str | None]
    label_url: Mapped[str | None]
