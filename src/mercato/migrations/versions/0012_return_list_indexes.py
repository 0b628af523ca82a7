"""An index for the returns list's last unindexed filter, ``updated_at``

``GET /admin/returns`` and ``GET /vendor/returns`` filter on ``id``, ``order_id``,
``seller_id``, ``status``, ``created_at`` and ``updated_at`` (order-changes.md §6.1, §11);
migration 0011 indexed all but ``updated_at``, which without this index reads every return.

Revision ID: 0012
Revises: 0011
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_order_return_updated_at", "order_return", ["updated_at"])


def downgrade() -> None:
    op.drop_index("ix_order_return_updated_at", table_name="order_return")
