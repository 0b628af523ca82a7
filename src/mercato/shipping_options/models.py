from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, ForeignKey, false
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from mercato.db.base import Base, SoftDelete, Timestamps, id_column, metadata_column


class ShippingOption(Timestamps, SoftDelete, Base):
    """A seller's flat-rate option for one region (or every region of its currency). A return
    option (``is_return``) carries items back to the seller and is never offered to carts."""

    __tablename__ = "shipping_option"
    id: Mapped[str] = id_column("so")
    name: Mapped[str]
    seller_id: Mapped[str] = mapped_column(ForeignKey("seller.id"), index=True)
    region_id: Mapped[str | None] = mapped_column(ForeignKey("region.id"), index=True)
    currency_code: Mapped[str]
    amount: Mapped[int] = mapped_column(BigInteger)
    is_return: Mapped[bool] = mapped_column(default=False, server_default=false())
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    metadata_: Mapped[dict[str, Any] | None] = metadata_column()
