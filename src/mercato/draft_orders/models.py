"""Draft order tables (order-changes.md §12, migration 0014): the draft, its items (checkout line
snapshots with their seller; no variant for a custom item) and one shipping method per seller.

Amounts are integer minor units. Each item and method keeps its totals at the region's tax
rate and the draft its document totals; every write recomputes them, and conversion computes
them again at the region's current rate before the orders take them (the totals a completed
draft shows are its orders')."""

from __future__ import annotations

from typing import Any, Final, Literal, get_args

from sqlalchemy import BigInteger, ForeignKey, Identity, Index, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from mercato.db.base import Base, SoftDelete, Timestamps, id_column, metadata_column, one_of
from mercato.orders.models import OrderTotalsColumns

DraftOrderStatus = Literal["draft", "completed"]
DRAFT_ORDER_STATUSES: Final[tuple[DraftOrderStatus, ...]] = get_args(DraftOrderStatus)

LIVE = text("deleted_at IS NULL")


class DraftOrder(OrderTotalsColumns, Timestamps, SoftDelete, Base):
    """An operator's order across sellers; ``completed`` once converted (``order_group_id``)."""

    __tablename__ = "draft_order"
    __table_args__ = (
        # Every list filter and sort of ``GET /admin/draft-orders`` leads an index (``q``'s
        # email substring: a trigram index where pg_trgm exists, migration 0014); the default
        # page (``status=draft``, newest first) is read along the first.
        Index("ix_draft_order_status_created", "status", "created_at", "id", postgresql_where=LIVE),
        Index("ix_draft_order_created", "created_at", "id"),
        Index("ix_draft_order_updated_at", "updated_at"),
        Index("ix_draft_order_region_id", "region_id"),
        Index("ix_draft_order_sales_channel_id", "sales_channel_id"),
        Index("ix_draft_order_customer_created", "customer_id", "created_at"),
        one_of("status", DRAFT_ORDER_STATUSES),
    )
    id: Mapped[str] = id_column("dord")
    display_id: Mapped[int] = mapped_column(BigInteger, Identity(), unique=True)
    status: Mapped[str] = mapped_column(default="draft")
    region_id: Mapped[str] = mapped_column(ForeignKey("region.id"))
    currency_code: Mapped[str]
    sales_channel_id: Mapped[str] = mapped_column(ForeignKey("sales_channel.id"))
    customer_id: Mapped[str | None] = mapped_column(ForeignKey("customer.id"))
    email: Mapped[str | None]
    shipping_address: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    billing_address: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    no_notification_order: Mapped[bool] = mapped_column(default=False)
    # The group it became (``order_group.draft_order_id`` is the unique link back).
    order_group_id: Mapped[str | None]
    metadata_: Mapped[dict[str, Any] | None] = metadata_column()


class DraftOrderItem(Timestamps, Base):
    """A line of a draft: a variant's snapshot (as a cart line) or a custom item (no variant,
    no inventory), always of one seller."""

    __tablename__ = "draft_order_item"
    id: Mapped[str] = id_column("dordli")
    draft_order_id: Mapped[str] = mapped_column(ForeignKey("draft_order.id"), index=True)
    seller_id: Mapped[str] = mapped_column(ForeignKey("seller.id"))
    variant_id: Mapped[str | None] = mapped_column(ForeignKey("product_variant.id"))
    product_id: Mapped[str | None] = mapped_column(ForeignKey("product.id"))
    title: Mapped[str]
    subtitle: Mapped[str | None]
    thumbnail: Mapped[str | None]
    product_title: Mapped[str | None]
    product_handle: Mapped[str | None]
    variant_title: Mapped[str | None]
    variant_sku: Mapped[str | None]
    currency_code: Mapped[str]
    quantity: Mapped[int]
    unit_price: Mapped[int] = mapped_column(BigInteger)
    requires_shipping: Mapped[bool]
    is_tax_inclusive: Mapped[bool]
    subtotal: Mapped[int] = mapped_column(BigInteger, default=0)
    tax_total: Mapped[int] = mapped_column(BigInteger, default=0)
    total: Mapped[int] = mapped_column(BigInteger, default=0)
    metadata_: Mapped[dict[str, Any] | None] = metadata_column()


class DraftOrderShippingMethod(Timestamps, Base):
    """One per seller: choosing another option of the same seller replaces it."""

    __tablename__ = "draft_order_shipping_method"
    __table_args__ = (UniqueConstraint("draft_order_id", "seller_id"),)
    id: Mapped[str] = id_column("dordsm")
    draft_order_id: Mapped[str] = mapped_column(ForeignKey("draft_order.id"))
    # Named: the conventional name would pass PostgreSQL's 63 characters.
    shipping_option_id: Mapped[str] = mapped_column(
        ForeignKey("shipping_option.id", name="fk_draft_order_shipping_method_option")
    )
    seller_id: Mapped[str] = mapped_column(ForeignKey("seller.id"))
    currency_code: Mapped[str]
    name: Mapped[str]
    amount: Mapped[int] = mapped_column(BigInteger)
    is_tax_inclusive: Mapped[bool]
    subtotal: Mapped[int] = mapped_column(BigInteger, default=0)
    tax_total: Mapped[int] = mapped_column(BigInteger, default=0)
    total: Mapped[int] = mapped_column(BigInteger, default=0)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
