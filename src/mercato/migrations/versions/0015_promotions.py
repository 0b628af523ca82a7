"""Promotions, campaigns, budgets, customer groups and adjustments (promotions.md)

Tables ``promotion`` (code unique case-insensitively among live rows), its
``promotion_application_method`` and ``promotion_rule`` rows, ``promotion_campaign`` with at
most one ``promotion_campaign_budget``, ``promotion_usage`` (one row per promotion and completed
cart), ``customer_group`` and its members; the cart's entered codes (``cart_promotion``) and
adjustments (``cart_line_item_adjustment``, ``cart_shipping_method_adjustment``), the order's
copied adjustments and its ``order_promotion`` links (seed 004). Orders, drafts, order lines and
shipping methods gain their discount totals (zero for everything placed before).

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "customer_group",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column(
            "metadata", postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), nullable=True
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_group")),
    )
    op.create_index(
        "ix_customer_group_created_at", "customer_group", ["created_at", "id"], unique=False
    )
    op.create_index("ix_customer_group_updated_at", "customer_group", ["updated_at"], unique=False)
    op.create_index(
        "uq_customer_group_name",
        "customer_group",
        ["name"],
        unique=True,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_table(
        "customer_group_customer",
        sa.Column("customer_group_id", sa.String(), nullable=False),
        sa.Column("customer_id", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_group_id"],
            ["customer_group.id"],
            name=op.f("fk_customer_group_customer_customer_group_id_customer_group"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
            name=op.f("fk_customer_group_customer_customer_id_customer"),
        ),
        sa.PrimaryKeyConstraint(
            "customer_group_id", "customer_id", name=op.f("pk_customer_group_customer")
        ),
    )
    op.create_index(
        op.f("ix_customer_group_customer_customer_id"),
        "customer_group_customer",
        ["customer_id"],
        unique=False,
    )
    op.create_table(
        "promotion_campaign",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("campaign_identifier", sa.String(), nullable=False),
        sa.Column("description", sa.String(), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("seller_id", sa.String(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["seller_id"], ["seller.id"], name=op.f("fk_promotion_campaign_seller_id_seller")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promotion_campaign")),
    )
    op.create_index(
        "ix_promotion_campaign_created_at", "promotion_campaign", ["created_at"], unique=False
    )
    op.create_index(
        op.f("ix_promotion_campaign_seller_id"), "promotion_campaign", ["seller_id"], unique=False
    )
    op.create_index(
        "ix_promotion_campaign_updated_at", "promotion_campaign", ["updated_at"], unique=False
    )
    op.create_index(
        "uq_promotion_campaign_identifier",
        "promotion_campaign",
        ["campaign_identifier"],
        unique=True,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_table(
        "promotion",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("type", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("is_automatic", sa.Boolean(), nullable=False),
        sa.Column("is_tax_inclusive", sa.Boolean(), nullable=False),
        sa.Column("seller_id", sa.String(), nullable=True),
        sa.Column("funded_by", sa.String(), nullable=False),
        sa.Column("usage_limit", sa.BigInteger(), nullable=True),
        sa.Column("used", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("campaign_id", sa.String(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "funded_by IN ('operator', 'seller')", name=op.f("ck_promotion_funded_by")
        ),
        sa.CheckConstraint(
            "status IN ('draft', 'active', 'inactive')", name=op.f("ck_promotion_status")
        ),
        sa.CheckConstraint("type IN ('standard', 'buyget')", name=op.f("ck_promotion_type")),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["promotion_campaign.id"],
            name=op.f("fk_promotion_campaign_id_promotion_campaign"),
        ),
        sa.ForeignKeyConstraint(
            ["seller_id"], ["seller.id"], name=op.f("fk_promotion_seller_id_seller")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promotion")),
    )
    op.create_index(
        "ix_promotion_automatic",
        "promotion",
        ["is_automatic", "status"],
        unique=False,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_index(op.f("ix_promotion_campaign_id"), "promotion", ["campaign_id"], unique=False)
    op.create_index("ix_promotion_code", "promotion", ["code"], unique=False)
    op.create_index("ix_promotion_created_at", "promotion", ["created_at", "id"], unique=False)
    op.create_index(op.f("ix_promotion_funded_by"), "promotion", ["funded_by"], unique=False)
    op.create_index(op.f("ix_promotion_seller_id"), "promotion", ["seller_id"], unique=False)
    op.create_index(op.f("ix_promotion_status"), "promotion", ["status"], unique=False)
    op.create_index(op.f("ix_promotion_type"), "promotion", ["type"], unique=False)
    op.create_index("ix_promotion_updated_at", "promotion", ["updated_at"], unique=False)
    op.create_index(
        "uq_promotion_code_lower",
        "promotion",
        [sa.literal_column("lower(code)")],
        unique=True,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_table(
        "promotion_campaign_budget",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("campaign_id", sa.String(), nullable=False),
        sa.Column("type", sa.String(), nullable=False),
        sa.Column("limit", sa.BigInteger(), nullable=True),
        sa.Column("used", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("currency_code", sa.String(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "type IN ('spend', 'usage')", name=op.f("ck_promotion_campaign_budget_type")
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["promotion_campaign.id"],
            name=op.f("fk_promotion_campaign_budget_campaign_id_promotion_campaign"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promotion_campaign_budget")),
        sa.UniqueConstraint("campaign_id", name=op.f("uq_promotion_campaign_budget_campaign_id")),
    )
    op.create_table(
        "cart_promotion",
        sa.Column("cart_id", sa.String(), nullable=False),
        sa.Column("promotion_id", sa.String(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["cart_id"], ["cart.id"], name=op.f("fk_cart_promotion_cart_id_cart")
        ),
        sa.ForeignKeyConstraint(
            ["promotion_id"],
            ["promotion.id"],
            name=op.f("fk_cart_promotion_promotion_id_promotion"),
        ),
        sa.PrimaryKeyConstraint("cart_id", "promotion_id", name=op.f("pk_cart_promotion")),
    )
    op.create_table(
        "cart_shipping_method_adjustment",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("shipping_method_id", sa.String(), nullable=False),
        sa.Column("cart_id", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("promotion_id", sa.String(), nullable=False),
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("description", sa.String(), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("is_tax_inclusive", sa.Boolean(), nullable=False),
        sa.Column("funded_by", sa.String(), nullable=False),
        sa.Column("seller_id", sa.String(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["cart_id"], ["cart.id"], name=op.f("fk_cart_shipping_method_adjustment_cart_id_cart")
        ),
        sa.ForeignKeyConstraint(
            ["promotion_id"],
            ["promotion.id"],
            name=op.f("fk_cart_shipping_method_adjustment_promotion_id_promotion"),
        ),
        sa.ForeignKeyConstraint(
            ["seller_id"],
            ["seller.id"],
            name=op.f("fk_cart_shipping_method_adjustment_seller_id_seller"),
        ),
        sa.ForeignKeyConstraint(
            ["shipping_method_id"],
            ["cart_shipping_method.id"],
            name=op.f("fk_cart_shipping_method_adjustment_shipping_method_id_cart_shipping_method"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cart_shipping_method_adjustment")),
    )
    op.create_index(
        op.f("ix_cart_shipping_method_adjustment_cart_id"),
        "cart_shipping_method_adjustment",
        ["cart_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_cart_shipping_method_adjustment_shipping_method_id"),
        "cart_shipping_method_adjustment",
        ["shipping_method_id"],
        unique=False,
    )
    op.create_table(
        "order_promotion",
        sa.Column("order_id", sa.String(), nullable=False),
        sa.Column("promotion_id", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["order.id"], name=op.f("fk_order_promotion_order_id_order")
        ),
        sa.ForeignKeyConstraint(
            ["promotion_id"],
            ["promotion.id"],
            name=op.f("fk_order_promotion_promotion_id_promotion"),
        ),
        sa.PrimaryKeyConstraint("order_id", "promotion_id", name=op.f("pk_order_promotion")),
    )
    op.create_index(
        op.f("ix_order_promotion_promotion_id"), "order_promotion", ["promotion_id"], unique=False
    )
    op.create_table(
        "promotion_application_method",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("promotion_id", sa.String(), nullable=False),
        sa.Column("type", sa.String(), nullable=False),
        sa.Column("target_type", sa.String(), nullable=False),
        sa.Column("allocation", sa.String(), nullable=False),
        sa.Column("value", sa.Numeric(), nullable=False),
        sa.Column("currency_code", sa.String(), nullable=True),
        sa.Column("max_quantity", sa.Integer(), nullable=True),
        sa.Column("apply_to_quantity", sa.Integer(), nullable=True),
        sa.Column("buy_rules_min_quantity", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "allocation IN ('each', 'across')",
            name=op.f("ck_promotion_application_method_allocation"),
        ),
        sa.CheckConstraint(
            "target_type IN ('items', 'shipping_methods', 'order')",
            name=op.f("ck_promotion_application_method_target_type"),
        ),
        sa.CheckConstraint(
            "type IN ('fixed', 'percentage')", name=op.f("ck_promotion_application_method_type")
        ),
        sa.ForeignKeyConstraint(
            ["promotion_id"],
            ["promotion.id"],
            name=op.f("fk_promotion_application_method_promotion_id_promotion"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promotion_application_method")),
        sa.UniqueConstraint(
            "promotion_id", name=op.f("uq_promotion_application_method_promotion_id")
        ),
    )
    op.create_table(
        "promotion_rule",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("promotion_id", sa.String(), nullable=False),
        sa.Column("rule_set", sa.String(), nullable=False),
        sa.Column("attribute", sa.String(), nullable=False),
        sa.Column("operator", sa.String(), nullable=False),
        sa.Column("values", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("description", sa.String(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "rule_set IN ('rules', 'target_rules', 'buy_rules')",
            name=op.f("ck_promotion_rule_rule_set"),
        ),
        sa.ForeignKeyConstraint(
            ["promotion_id"],
            ["promotion.id"],
            name=op.f("fk_promotion_rule_promotion_id_promotion"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promotion_rule")),
    )
    op.create_index(
        "ix_promotion_rule_promotion",
        "promotion_rule",
        ["promotion_id", "rule_set", "id"],
        unique=False,
    )
    op.create_table(
        "promotion_usage",
        sa.Column("promotion_id", sa.String(), nullable=False),
        sa.Column("cart_id", sa.String(), nullable=False),
        sa.Column("campaign_id", sa.String(), nullable=True),
        sa.Column("order_group_id", sa.String(), nullable=False),
        sa.Column("customer_id", sa.String(), nullable=True),
        sa.Column("currency_code", sa.String(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["cart_id"], ["cart.id"], name=op.f("fk_promotion_usage_cart_id_cart")
        ),
        sa.ForeignKeyConstraint(
            ["order_group_id"],
            ["order_group.id"],
            name=op.f("fk_promotion_usage_order_group_id_order_group"),
        ),
        sa.ForeignKeyConstraint(
            ["promotion_id"],
            ["promotion.id"],
            name=op.f("fk_promotion_usage_promotion_id_promotion"),
        ),
        sa.PrimaryKeyConstraint("promotion_id", "cart_id", name=op.f("pk_promotion_usage")),
    )
    op.create_index(
        op.f("ix_promotion_usage_campaign_id"), "promotion_usage", ["campaign_id"], unique=False
    )
    op.create_index(
        op.f("ix_promotion_usage_order_group_id"),
        "promotion_usage",
        ["order_group_id"],
        unique=False,
    )
    op.create_table(
        "cart_line_item_adjustment",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("item_id", sa.String(), nullable=False),
        sa.Column("cart_id", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("promotion_id", sa.String(), nullable=False),
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("description", sa.String(), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("is_tax_inclusive", sa.Boolean(), nullable=False),
        sa.Column("funded_by", sa.String(), nullable=False),
        sa.Column("seller_id", sa.String(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["cart_id"], ["cart.id"], name=op.f("fk_cart_line_item_adjustment_cart_id_cart")
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["cart_line_item.id"],
            name=op.f("fk_cart_line_item_adjustment_item_id_cart_line_item"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["promotion_id"],
            ["promotion.id"],
            name=op.f("fk_cart_line_item_adjustment_promotion_id_promotion"),
        ),
        sa.ForeignKeyConstraint(
            ["seller_id"], ["seller.id"], name=op.f("fk_cart_line_item_adjustment_seller_id_seller")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cart_line_item_adjustment")),
    )
    op.create_index(
        op.f("ix_cart_line_item_adjustment_cart_id"),
        "cart_line_item_adjustment",
        ["cart_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_cart_line_item_adjustment_item_id"),
        "cart_line_item_adjustment",
        ["item_id"],
        unique=False,
    )
    op.create_table(
        "order_line_item_adjustment",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("item_id", sa.String(), nullable=False),
        sa.Column("order_id", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("promotion_id", sa.String(), nullable=False),
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("description", sa.String(), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("subtotal", sa.BigInteger(), nullable=False),
        sa.Column("tax_total", sa.BigInteger(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("is_tax_inclusive", sa.Boolean(), nullable=False),
        sa.Column("funded_by", sa.String(), nullable=False),
        sa.Column("seller_id", sa.String(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["order_line_item.id"],
            name=op.f("fk_order_line_item_adjustment_item_id_order_line_item"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["order.id"], name=op.f("fk_order_line_item_adjustment_order_id_order")
        ),
        sa.ForeignKeyConstraint(
            ["promotion_id"],
            ["promotion.id"],
            name=op.f("fk_order_line_item_adjustment_promotion_id_promotion"),
        ),
        sa.ForeignKeyConstraint(
            ["seller_id"],
            ["seller.id"],
            name=op.f("fk_order_line_item_adjustment_seller_id_seller"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_line_item_adjustment")),
    )
    op.create_index(
        op.f("ix_order_line_item_adjustment_item_id"),
        "order_line_item_adjustment",
        ["item_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_order_line_item_adjustment_order_id"),
        "order_line_item_adjustment",
        ["order_id"],
        unique=False,
    )
    op.create_table(
        "order_shipping_method_adjustment",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("shipping_method_id", sa.String(), nullable=False),
        sa.Column("order_id", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("promotion_id", sa.String(), nullable=False),
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("description", sa.String(), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("subtotal", sa.BigInteger(), nullable=False),
        sa.Column("tax_total", sa.BigInteger(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("is_tax_inclusive", sa.Boolean(), nullable=False),
        sa.Column("funded_by", sa.String(), nullable=False),
        sa.Column("seller_id", sa.String(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["order.id"],
            name=op.f("fk_order_shipping_method_adjustment_order_id_order"),
        ),
        sa.ForeignKeyConstraint(
            ["promotion_id"],
            ["promotion.id"],
            name=op.f("fk_order_shipping_method_adjustment_promotion_id_promotion"),
        ),
        sa.ForeignKeyConstraint(
            ["seller_id"],
            ["seller.id"],
            name=op.f("fk_order_shipping_method_adjustment_seller_id_seller"),
        ),
        sa.ForeignKeyConstraint(
            ["shipping_method_id"],
            ["order_shipping_method.id"],
            name=op.f(
                "fk_order_shipping_method_adjustment_shipping_method_id_order_shipping_method"
            ),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_shipping_method_adjustment")),
    )
    op.create_index(
        op.f("ix_order_shipping_method_adjustment_order_id"),
        "order_shipping_method_adjustment",
        ["order_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_order_shipping_method_adjustment_shipping_method_id"),
        "order_shipping_method_adjustment",
        ["shipping_method_id"],
        unique=False,
    )
    op.add_column(
        "draft_order",
        sa.Column("discount_subtotal", sa.BigInteger(), server_default="0", nullable=False),
    )
    op.add_column(
        "draft_order",
        sa.Column("discount_tax_total", sa.BigInteger(), server_default="0", nullable=False),
    )
    op.add_column(
        "draft_order",
        sa.Column("original_item_total", sa.BigInteger(), server_default="0", nullable=False),
    )
    op.add_column(
        "draft_order",
        sa.Column("original_shipping_total", sa.BigInteger(), server_default="0", nullable=False),
    )
    op.add_column(
        "order", sa.Column("discount_subtotal", sa.BigInteger(), server_default="0", nullable=False)
    )
    op.add_column(
        "order",
        sa.Column("discount_tax_total", sa.BigInteger(), server_default="0", nullable=False),
    )
    op.add_column(
        "order",
        sa.Column("original_item_total", sa.BigInteger(), server_default="0", nullable=False),
    )
    op.add_column(
        "order",
        sa.Column("original_shipping_total", sa.BigInteger(), server_default="0", nullable=False),
    )
    op.add_column(
        "order_line_item",
        sa.Column("discount_subtotal", sa.BigInteger(), server_default="0", nullable=False),
    )
    op.add_column(
        "order_line_item",
        sa.Column("discount_tax_total", sa.BigInteger(), server_default="0", nullable=False),
    )
    op.add_column(
        "order_line_item",
        sa.Column("discount_total", sa.BigInteger(), server_default="0", nullable=False),
    )
    op.add_column(
        "order_shipping_method",
        sa.Column("discount_subtotal", sa.BigInteger(), server_default="0", nullable=False),
    )
    op.add_column(
        "order_shipping_method",
        sa.Column("discount_tax_total", sa.BigInteger(), server_default="0", nullable=False),
    )
    op.add_column(
        "order_shipping_method",
        sa.Column("discount_total", sa.BigInteger(), server_default="0", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("order_shipping_method", "discount_total")
    op.drop_column("order_shipping_method", "discount_tax_total")
    op.drop_column("order_shipping_method", "discount_subtotal")
    op.drop_column("order_line_item", "discount_total")
    op.drop_column("order_line_item", "discount_tax_total")
    op.drop_column("order_line_item", "discount_subtotal")
    op.drop_column("order", "original_shipping_total")
    op.drop_column("order", "original_item_total")
    op.drop_column("order", "discount_tax_total")
    op.drop_column("order", "discount_subtotal")
    op.drop_column("draft_order", "original_shipping_total")
    op.drop_column("draft_order", "original_item_total")
    op.drop_column("draft_order", "discount_tax_total")
    op.drop_column("draft_order", "discount_subtotal")
    op.drop_index(
        op.f("ix_order_shipping_method_adjustment_shipping_method_id"),
        table_name="order_shipping_method_adjustment",
    )
    op.drop_index(
        op.f("ix_order_shipping_method_adjustment_order_id"),
        table_name="order_shipping_method_adjustment",
    )
    op.drop_table("order_shipping_method_adjustment")
    op.drop_index(
        op.f("ix_order_line_item_adjustment_order_id"), table_name="order_line_item_adjustment"
    )
    op.drop_index(
        op.f("ix_order_line_item_adjustment_item_id"), table_name="order_line_item_adjustment"
    )
    op.drop_table("order_line_item_adjustment")
    op.drop_index(
        op.f("ix_cart_line_item_adjustment_item_id"), table_name="cart_line_item_adjustment"
    )
    op.drop_index(
        op.f("ix_cart_line_item_adjustment_cart_id"), table_name="cart_line_item_adjustment"
    )
    op.drop_table("cart_line_item_adjustment")
    op.drop_index(op.f("ix_promotion_usage_order_group_id"), table_name="promotion_usage")
    op.drop_index(op.f("ix_promotion_usage_campaign_id"), table_name="promotion_usage")
    op.drop_table("promotion_usage")
    op.drop_index("ix_promotion_rule_promotion", table_name="promotion_rule")
    op.drop_table("promotion_rule")
    op.drop_table("promotion_application_method")
    op.drop_index(op.f("ix_order_promotion_promotion_id"), table_name="order_promotion")
    op.drop_table("order_promotion")
    op.drop_index(
        op.f("ix_cart_shipping_method_adjustment_shipping_method_id"),
        table_name="cart_shipping_method_adjustment",
    )
    op.drop_index(
        op.f("ix_cart_shipping_method_adjustment_cart_id"),
        table_name="cart_shipping_method_adjustment",
    )
    op.drop_table("cart_shipping_method_adjustment")
    op.drop_table("cart_promotion")
    op.drop_table("promotion_campaign_budget")
    op.drop_index(
        "uq_promotion_code_lower",
        table_name="promotion",
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.drop_index("ix_promotion_updated_at", table_name="promotion")
    op.drop_index(op.f("ix_promotion_type"), table_name="promotion")
    op.drop_index(op.f("ix_promotion_status"), table_name="promotion")
    op.drop_index(op.f("ix_promotion_seller_id"), table_name="promotion")
    op.drop_index(op.f("ix_promotion_funded_by"), table_name="promotion")
    op.drop_index("ix_promotion_created_at", table_name="promotion")
    op.drop_index("ix_promotion_code", table_name="promotion")
    op.drop_index(op.f("ix_promotion_campaign_id"), table_name="promotion")
    op.drop_index(
        "ix_promotion_automatic",
        table_name="promotion",
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.drop_table("promotion")
    op.drop_index(
        "uq_promotion_campaign_identifier",
        table_name="promotion_campaign",
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.drop_index("ix_promotion_campaign_updated_at", table_name="promotion_campaign")
    op.drop_index(op.f("ix_promotion_campaign_seller_id"), table_name="promotion_campaign")
    op.drop_index("ix_promotion_campaign_created_at", table_name="promotion_campaign")
    op.drop_table("promotion_campaign")
    op.drop_index(
        op.f("ix_customer_group_customer_customer_id"), table_name="customer_group_customer"
    )
    op.drop_table("customer_group_customer")
    op.drop_index(
        "uq_customer_group_name",
        table_name="customer_group",
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.drop_index("ix_customer_group_updated_at", table_name="customer_group")
    op.drop_index("ix_customer_group_created_at", table_name="customer_group")
    op.drop_table("customer_group")
