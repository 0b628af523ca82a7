from __future__ import annotations

from typing import Any, Final, Literal, get_args

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from mercato.db.base import Base, SoftDelete, Timestamps, id_column, metadata_column, one_of

ProductStatus = Literal["draft", "published"]
PRODUCT_STATUSES: Final[tuple[ProductStatus, ...]] = get_args(ProductStatus)


class Product(Timestamps, SoftDelete, Base):
    __tablename__ = "product"
    __table_args__ = (
        Index(
            "uq_product_handle", "handle", unique=True, postgresql_where=text("deleted_at IS NULL")
        ),
        one_of("status", PRODUCT_STATUSES),
    )
    id: Mapped[str] = id_column("prod")
    title: Mapped[str]
    handle: Mapped[str]
    description: Mapped[str | None]
    thumbnail: Mapped[str | None]
    status: Mapped[str] = mapped_column(default="published")
    seller_id: Mapped[str] = mapped_column(ForeignKey("seller.id"), index=True)
    metadata_: Mapped[dict[str, Any] | None] = metadata_column()


class ProductSalesChannel(Base):
    __tablename__ = "product_sales_channel"
    product_id: Mapped[str] = mapped_column(ForeignKey("product.id"), primary_key=True)
    sales_channel_id: Mapped[str] = mapped_column(
        ForeignKey("sales_channel.id"), primary_key=True, index=True
    )


class ProductVariant(Timestamps, SoftDelete, Base):
    __tablename__ = "product_variant"
    __table_args__ = (
        Index(
            "uq_product_variant_sku",
            "sku",
            unique=True,
            postgresql_where=text("deleted_at IS NULL"),
        ),
    )
    id: Mapped[str] = id_column("variant")
    product_id: Mapped[str] = mapped_column(ForeignKey("product.id"), index=True)
    title: Mapped[str]
    sku: Mapped[str | None]
    manage_inventory: Mapped[bool] = mapped_column(default=True)
    allow_backorder: Mapped[bool] = mapped_column(default=False)
    requires_shipping: Mapped[bool] = mapped_column(default=True)
    rank: Mapped[int] = mapped_column(default=0)
    metadata_: Mapped[dict[str, Any] | None] = metadata_column()


class Price(Base):
    """A variant's price in one currency, in integer minor units."""

    __tablename__ = "price"
    __table_args__ = (UniqueConstraint("variant_id", "currency_code"),)
    id: Mapped[str] = id_column("price")
    variant_id: Mapped[str] = mapped_column(ForeignKey("product_variant.id"))
    currency_code: Mapped[str]
    amount: Mapped[int] = mapped_column(BigInteger)


class InventoryLevel(Timestamps, Base):
    """Stock of one variant at one stock location; reservations never exceed what is stocked
    unless the variant allows backorders (enforced by checkout's conditional updates)."""

    __tablename__ = "inventory_level"
    __table_args__ = (
        UniqueConstraint("variant_id", "location_id"),
        CheckConstraint("reserved_quantity >= 0", name="reserved_non_negative"),
    )
    id: Mapped[str] = id_column("ilev")
    variant_id: Mapped[str] = mapped_column(ForeignKey("product_variant.id"))
    location_id: Mapped[str] = mapped_column(ForeignKey("stock_location.id"), index=True)
    stocked_quantity: Mapped[int] = mapped_column(default=0)
    reserved_quantity: Mapped[int] = mapped_column(default=0)
