from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from mercato.db.base import Base, Timestamps, id_column, metadata_column


class Cart(Timestamps, Base):
    __tablename__ = "cart"
    id: Mapped[str] = id_column("cart")
    region_id: Mapped[str] = mapped_column(ForeignKey("region.id"))
    currency_code: Mapped[str]
    sales_channel_id: Mapped[str] = mapped_column(ForeignKey("sales_channel.id"))
    customer_id: Mapped[str | None] = mapped_column(ForeignKey("customer.id"), index=True)
    email: Mapped[str | None]
    shipping_address: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    billing_address: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    metadata_: Mapped[dict[str, Any] | None] = metadata_column()


class CartLineItem(Timestamps, Base):
    """A snapshot of the variant, product and seller taken when the line is added."""

    __tablename__ = "cart_line_item"
    id: Mapped[str] = id_column("cali")
    cart_id: Mapped[str] = mapped_column(ForeignKey("cart.id"), index=True)
    variant_id: Mapped[str] = mapped_column(ForeignKey("product_variant.id"))
    product_id: Mapped[str] = mapped_column(ForeignKey("product.id"))
    seller_id: Mapped[str] = mapped_column(ForeignKey("seller.id"))
    title: Mapped[str]
    subtitle: Mapped[str | None]
    thumbnail: Mapped[str | None]
    product_title: Mapped[str]
    product_handle: Mapped[str]
    variant_title: Mapped[str]
    variant_sku: Mapped[str | None]
    quantity: Mapped[int]
    unit_price: Mapped[int] = mapped_column(BigInteger)
    requires_shipping: Mapped[bool]
    is_tax_inclusive: Mapped[bool]
    metadata_: Mapped[dict[str, Any] | None] = metadata_column()


class CartShippingMethod(Timestamps, Base):
    """At most one per seller: choosing another option of the same seller replaces it."""

    __tablename__ = "cart_shipping_method"
    __table_args__ = (UniqueConstraint("cart_id", "seller_id"),)
    id: Mapped[str] = id_column("casm")
    cart_id: Mapped[str] = mapped_column(ForeignKey("cart.id"))
    shipping_option_id: Mapped[str] = mapped_column(ForeignKey("shipping_option.id"))
    seller_id: Mapped[str] = mapped_column(ForeignKey("seller.id"))
    name: Mapped[str]
    amount: Mapped[int] = mapped_column(BigInteger)
    is_tax_inclusive: Mapped[bool]
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))


class CartPromotion(Base):
    """A code the shopper entered and that applies; automatic promotions are not stored here."""

    __tablename__ = "cart_promotion"
    cart_id: Mapped[str] = mapped_column(ForeignKey("cart.id"), primary_key=True)
    promotion_id: Mapped[str] = mapped_column(ForeignKey("promotion.id"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), default=func.now()
    )


class CartAdjustmentColumns:
    """What a cart adjustment records; its taxes are derived from the line when rendered."""

    cart_id: Mapped[str] = mapped_column(ForeignKey("cart.id"), index=True)
    # Stacking order of the cart's adjustments: a line's tax split gives ties to the earlier.
    position: Mapped[int]
    promotion_id: Mapped[str] = mapped_column(ForeignKey("promotion.id"))
    code: Mapped[str]
    description: Mapped[str | None]
    amount: Mapped[int] = mapped_column(BigInteger)
    is_tax_inclusive: Mapped[bool]
    funded_by: Mapped[str]
    seller_id: Mapped[str] = mapped_column(ForeignKey("seller.id"))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), default=func.now()
    )


class CartLineItemAdjustment(CartAdjustmentColumns, Base):
    __tablename__ = "cart_line_item_adjustment"
    id: Mapped[str] = id_column("caliadj")
    item_id: Mapped[str] = mapped_column(
        ForeignKey("cart_line_item.id", ondelete="CASCADE"), index=True
    )


class CartShippingMethodAdjustment(CartAdjustmentColumns, Base):
    __tablename__ = "cart_shipping_method_adjustment"
    id: Mapped[str] = id_column("casmadj")
    shipping_method_id: Mapped[str] = mapped_column(
        ForeignKey("cart_shipping_method.id", ondelete="CASCADE"), index=True
    )
