"""Draft orders (order-changes.md §12)

Tables ``draft_order`` (its own ``display_id`` sequence), ``draft_order_item`` (line snapshots
with their seller; no variant for a custom item) and ``draft_order_shipping_method`` (one per
seller). An order group converted from a draft has no cart: ``order_group.cart_id`` and
``order.cart_id`` become nullable and ``order_group.draft_order_id`` (unique: concurrent
conversions of one draft yield one group) links it back. Order changes of a draft (its edits)
have no order: ``order_change.order_id`` and ``order_change_action.order_id`` become nullable,
a change belongs to an order or a draft, and a partial unique index allows one active change
per draft as ``ux_order_change_active`` does per order.

Every filter and sort of ``GET /admin/draft-orders`` leads an index; ``q``'s email substring
gets a trigram index where the server offers ``pg_trgm`` (as migration 0002 does for customers).

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

STATUSES = ("draft", "completed")
ACTIVE = sa.text("status IN ('pending', 'requested')")
LIVE = sa.text("deleted_at IS NULL")
TOTALS = (
    "item_total",
    "item_subtotal",
    "item_tax_total",
    "shipping_total",
    "shipping_subtotal",
    "shipping_tax_total",
    "subtotal",
    "tax_total",
    "discount_total",
    "total",
)


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    ]


def _money(*names: str) -> list[sa.Column]:
    return [sa.Column(name, sa.BigInteger(), nullable=False) for name in names]


def _has_trigram() -> bool:
    bind = op.get_bind()
    available = bind.execute(
        sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
    ).scalar()
    if not available:
        return False
    try:
        with bind.begin_nested():
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError:  # not allowed to create it: the search scans drafts
        return False
    return True


def upgrade() -> None:
    op.create_table(
        "draft_order",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("display_id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("region_id", sa.String(), nullable=False),
        sa.Column("currency_code", sa.String(), nullable=False),
        sa.Column("sales_channel_id", sa.String(), nullable=False),
        sa.Column("customer_id", sa.String(), nullable=True),
        sa.Column("email", sa.String(), nullable=True),
        sa.Column("shipping_address", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("billing_address", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("no_notification_order", sa.Boolean(), nullable=False),
        sa.Column("order_group_id", sa.String(), nullable=True),
        sa.Column("metadata", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        *_money(*TOTALS),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        *_timestamps(),
        sa.CheckConstraint(
            f"status IN ({', '.join(repr(s) for s in STATUSES)})", name=op.f("ck_draft_order_status")
        ),
        sa.ForeignKeyConstraint(
            ["region_id"], ["region.id"], name="fk_draft_order_region_id_region"
        ),
        sa.ForeignKeyConstraint(
            ["sales_channel_id"],
            ["sales_channel.id"],
            name="fk_draft_order_sales_channel_id_sales_channel",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customer.id"], name="fk_draft_order_customer_id_customer"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_draft_order"),
        sa.UniqueConstraint("display_id", name="uq_draft_order_display_id"),
    )
    op.create_index(
        "ix_draft_order_status_created",
        "draft_order",
        ["status", "created_at", "id"],
        postgresql_where=LIVE,
    )
    op.create_index("ix_draft_order_created", "draft_order", ["created_at", "id"])
    op.create_index("ix_draft_order_updated_at", "draft_order", ["updated_at"])
    op.create_index("ix_draft_order_region_id", "draft_order", ["region_id"])
    op.create_index("ix_draft_order_sales_channel_id", "draft_order", ["sales_channel_id"])
    op.create_index(
        "ix_draft_order_customer_created", "draft_order", ["customer_id", "created_at"]
    )
    if _has_trigram():
        op.execute(
            "CREATE INDEX IF NOT EXISTS ix_draft_order_email_trgm ON draft_order "
            "USING gin (lower(email) gin_trgm_ops)"
        )

    op.create_table(
        "draft_order_item",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("draft_order_id", sa.String(), nullable=False),
        sa.Column("seller_id", sa.String(), nullable=False),
        sa.Column("variant_id", sa.String(), nullable=True),
        sa.Column("product_id", sa.String(), nullable=True),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("subtitle", sa.String(), nullable=True),
        sa.Column("thumbnail", sa.String(), nullable=True),
        sa.Column("product_title", sa.String(), nullable=True),
        sa.Column("product_handle", sa.String(), nullable=True),
        sa.Column("variant_title", sa.String(), nullable=True),
        sa.Column("variant_sku", sa.String(), nullable=True),
        sa.Column("currency_code", sa.String(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price", sa.BigInteger(), nullable=False),
        sa.Column("requires_shipping", sa.Boolean(), nullable=False),
        sa.Column("is_tax_inclusive", sa.Boolean(), nullable=False),
        *_money("subtotal", "tax_total", "total"),
        sa.Column("metadata", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["draft_order_id"],
            ["draft_order.id"],
            name="fk_draft_order_item_draft_order_id_draft_order",
        ),
        sa.ForeignKeyConstraint(
            ["seller_id"], ["seller.id"], name="fk_draft_order_item_seller_id_seller"
        ),
        sa.ForeignKeyConstraint(
            ["variant_id"],
            ["product_variant.id"],
            name="fk_draft_order_item_variant_id_product_variant",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["product.id"], name="fk_draft_order_item_product_id_product"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_draft_order_item"),
    )
    op.create_index(
        "ix_draft_order_item_draft_order_id", "draft_order_item", ["draft_order_id"]
    )

    op.create_table(
        "draft_order_shipping_method",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("draft_order_id", sa.String(), nullable=False),
        sa.Column("shipping_option_id", sa.String(), nullable=False),
        sa.Column("seller_id", sa.String(), nullable=False),
        sa.Column("currency_code", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("is_tax_inclusive", sa.Boolean(), nullable=False),
        *_money("subtotal", "tax_total", "total"),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["draft_order_id"],
            ["draft_order.id"],
            name="fk_draft_order_shipping_method_draft_order_id_draft_order",
        ),
        sa.ForeignKeyConstraint(
            ["shipping_option_id"],
            ["shipping_option.id"],
            name="fk_draft_order_shipping_method_option",
        ),
        sa.ForeignKeyConstraint(
            ["seller_id"], ["seller.id"], name="fk_draft_order_shipping_method_seller_id_seller"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_draft_order_shipping_method"),
        sa.UniqueConstraint(
            "draft_order_id",
            "seller_id",
            name="uq_draft_order_shipping_method_draft_order_id",
        ),
    )

    # A group converted from a draft has no cart; its orders neither.
    op.alter_column("order_group", "cart_id", nullable=True)
    op.alter_column("order", "cart_id", nullable=True)
    op.add_column("order_group", sa.Column("draft_order_id", sa.String(), nullable=True))
    op.create_foreign_key(
        "fk_order_group_draft_order_id_draft_order",
        "order_group",
        "draft_order",
        ["draft_order_id"],
        ["id"],
    )
    op.create_unique_constraint(
        "uq_order_group_draft_order_id", "order_group", ["draft_order_id"]
    )

    # Changes of a draft order (its edits): no order, one active change per draft.
    op.alter_column("order_change", "order_id", nullable=True)
    op.alter_column("order_change_action", "order_id", nullable=True)
    op.create_foreign_key(
        "fk_order_change_draft_order_id_draft_order",
        "order_change",
        "draft_order",
        ["draft_order_id"],
        ["id"],
    )
    op.create_check_constraint(
        op.f("ck_order_change_owner"),
        "order_change",
        "(order_id IS NULL) <> (draft_order_id IS NULL)",
    )
    op.create_index(
        "ux_order_change_draft_active",
        "order_change",
        ["draft_order_id"],
        unique=True,
        postgresql_where=ACTIVE,
    )
    op.create_index(
        "ix_order_change_draft_created", "order_change", ["draft_order_id", "created_at"]
    )


def downgrade() -> None:
    op.execute("DELETE FROM order_change_action WHERE order_id IS NULL")
    op.execute("DELETE FROM order_change WHERE order_id IS NULL")
    op.drop_index("ix_order_change_draft_created", table_name="order_change")
    op.drop_index("ux_order_change_draft_active", table_name="order_change")
    op.drop_constraint(op.f("ck_order_change_owner"), "order_change", type_="check")
    op.drop_constraint(
        "fk_order_change_draft_order_id_draft_order", "order_change", type_="foreignkey"
    )
    op.alter_column("order_change_action", "order_id", nullable=False)
    op.alter_column("order_change", "order_id", nullable=False)
    op.drop_constraint("uq_order_group_draft_order_id", "order_group", type_="unique")
    op.drop_constraint(
        "fk_order_group_draft_order_id_draft_order", "order_group", type_="foreignkey"
    )
    op.drop_column("order_group", "draft_order_id")
    # Groups converted from drafts cannot exist without a cart: the downgrade refuses (NOT NULL
    # fails) while any is left, rather than deleting orders.
    op.alter_column("order", "cart_id", nullable=False)
    op.alter_column("order_group", "cart_id", nullable=False)
    op.drop_table("draft_order_shipping_method")
    op.drop_table("draft_order_item")
    op.execute("DROP INDEX IF EXISTS ix_draft_order_email_trgm")
    op.drop_table("draft_order")
