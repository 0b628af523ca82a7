"""order_group.seller_ids: the group's sellers, GIN-indexed for the ``seller_id`` filter

Filtering groups by seller used to join every group's orders, work that grows with the whole
table rather than with the seller's groups; a GIN probe of the stored array finds the same groups
directly. Checkout writes the array and ``refresh_group`` rewrites it with the other aggregates.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "order_group",
        sa.Column(
            "seller_ids",
            postgresql.ARRAY(sa.String()),
            nullable=False,
            server_default=sa.text("'{}'::varchar[]"),
        ),
    )
    op.execute(
        """
        UPDATE order_group g SET seller_ids = s.ids
        FROM (
            SELECT ogo.order_group_id, array_agg(DISTINCT o.seller_id ORDER BY o.seller_id) AS ids
            FROM order_group_order ogo JOIN "order" o ON o.id = ogo.order_id
            GROUP BY ogo.order_group_id
        ) s
        WHERE s.order_group_id = g.id
        """
    )
    op.create_index(
        "ix_order_group_seller_ids", "order_group", ["seller_ids"], postgresql_using="gin"
    )


def downgrade() -> None:
    op.drop_index("ix_order_group_seller_ids", table_name="order_group")
    op.drop_column("order_group", "seller_ids")
