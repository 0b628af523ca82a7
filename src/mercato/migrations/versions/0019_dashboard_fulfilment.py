"""The dashboard's Fulfill items flow (admin-dashboard.md §7, §5.1)

* ``fulfillment.shipping_option_id``: the option a fulfilment ships with (given at creation, or
  the order's method's option); null for fulfilments made before.
* ``fulfillment_item.title`` / ``sku``: the line's title and SKU, as Medusa stores them
  (backfilled from the order lines).
* ``fulfillment_label.created_at``.
* Indexes for the new read-only lists: stock locations (``name``, ``created_at``,
  ``updated_at``; ``q`` over ``lower(name)`` by trigram where ``pg_trgm`` exists) and
  reservations (``location_id``, ``created_at``, ``updated_at``).
* The customer list's new sorts (``first_name``, ``last_name``, ``has_account``, §5.3); the
  ``has_account`` index serves its filter too.

Revision ID: 0019
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def _has_trigram() -> bool:
    bind = op.get_bind()
    return bool(
        bind.execute(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")).scalar()
    )


def upgrade() -> None:
    op.add_column("fulfillment", sa.Column("shipping_option_id", sa.String(), nullable=True))
    op.create_foreign_key(
        op.f("fk_fulfillment_shipping_option_id_shipping_option"),
        "fulfillment",
        "shipping_option",
        ["shipping_option_id"],
        ["id"],
    )
    op.add_column("fulfillment_item", sa.Column("title", sa.String(), nullable=True))
    op.add_column("fulfillment_item", sa.Column("sku", sa.String(), nullable=True))
    op.execute(
        "UPDATE fulfillment_item SET title = l.title, sku = l.variant_sku "
        "FROM order_line_item l WHERE l.id = fulfillment_item.line_item_id"
    )
    op.add_column(
        "fulfillment_label",
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
    )
    op.create_index("ix_stock_location_name", "stock_location", ["name"])
    op.create_index("ix_stock_location_created_at", "stock_location", ["created_at", "id"])
    op.create_index("ix_stock_location_updated_at", "stock_location", ["updated_at"])
    op.create_index(
        op.f("ix_reservation_item_location_id"), "reservation_item", ["location_id"]
    )
    op.create_index("ix_reservation_item_created_at", "reservation_item", ["created_at", "id"])
    op.create_index("ix_reservation_item_updated_at", "reservation_item", ["updated_at"])
    op.create_index("ix_customer_first_name", "customer", ["first_name", "id"])
    op.create_index("ix_customer_last_name", "customer", ["last_name", "id"])
    op.create_index("ix_customer_has_account", "customer", ["has_account", "id"])
    if _has_trigram():
        op.execute(
            "CREATE INDEX IF NOT EXISTS ix_stock_location_name_trgm ON stock_location "
            "USING gin (lower(name) gin_trgm_ops)"
        )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_stock_location_name_trgm")
    op.drop_index("ix_customer_has_account", table_name="customer")
    op.drop_index("ix_customer_last_name", table_name="customer")
    op.drop_index("ix_customer_first_name", table_name="customer")
    op.drop_index("ix_reservation_item_updated_at", table_name="reservation_item")
    op.drop_index("ix_reservation_item_created_at", table_name="reservation_item")
    op.drop_index(op.f("ix_reservation_item_location_id"), table_name="reservation_item")
    op.drop_index("ix_stock_location_updated_at", table_name="stock_location")
    op.drop_index("ix_stock_location_created_at", table_name="stock_location")
    op.drop_index("ix_stock_location_name", table_name="stock_location")
    op.drop_column("fulfillment_label", "created_at")
    op.drop_column("fulfillment_item", "sku")
    op.drop_column("fulfillment_item", "title")
    op.drop_constraint(
        op.f("fk_fulfillment_shipping_option_id_shipping_option"),
        "fulfillment",
        type_="foreignkey",
    )
    op.drop_column("fulfillment", "shipping_option_id")
