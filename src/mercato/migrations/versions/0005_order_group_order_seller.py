"""order_group_order.seller_id, .group_created_at: a seller's groups newest first by index

The ``seller_id`` filter of ``GET /admin/order-groups`` probes ``order_group.seller_ids`` (GIN,
migration 0003), but the newest-first page then walks ``created_at`` backwards and tests every
group until it has found 50 of the seller's: for a seller with a small share of the groups,
many times 50, one heap page each once concurrent checkouts have interleaved the newest rows.
Each group's link to its orders now carries the order's
seller and the group's creation time, indexed as (seller_id, group_created_at, order_group_id):
the page reads exactly its 50 entries and joins their groups by primary key.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("order_group_order", sa.Column("seller_id", sa.String(), nullable=True))
    op.add_column(
        "order_group_order",
        sa.Column("group_created_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.execute(
        """
        UPDATE order_group_order ogo
        SET seller_id = o.seller_id, group_created_at = g.created_at
        FROM "order" o, order_group g
        WHERE o.id = ogo.order_id AND g.id = ogo.order_group_id
        """
    )
    op.alter_column("order_group_order", "seller_id", nullable=False)
    op.alter_column("order_group_order", "group_created_at", nullable=False)
    op.create_foreign_key(
        "fk_order_group_order_seller_id_seller", "order_group_order", "seller", ["seller_id"], ["id"]
    )
    op.create_index(
        "ix_order_group_order_seller_created",
        "order_group_order",
        ["seller_id", "group_created_at", "order_group_id"],
    )
    op.create_index(
        "ux_order_group_order_group_seller",
        "order_group_order",
        ["order_group_id", "seller_id"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("ux_order_group_order_group_seller", table_name="order_group_order")
    op.drop_index("ix_order_group_order_seller_created", table_name="order_group_order")
    op.drop_constraint(
        "fk_order_group_order_seller_id_seller", "order_group_order", type_="foreignkey"
    )
    op.drop_column("order_group_order", "group_created_at")
    op.drop_column("order_group_order", "seller_id")
