"""order_group_tally, order_group_seller_tally: live order groups counted per status triple and
per seller, maintained by triggers

``GET /admin/order-groups`` reports ``count``: without filters that is every live group, an
index-only scan of all of them on every request; with a status filter (the admin's status tabs)
still a large share of the index, with a seller filter a bitmap scan of all that seller's groups,
for a page of 50. Statement-level triggers add
each statement's net change in live groups per (status, payment_status, fulfillment_status), and
per seller in ``seller_ids``, to one of 64 slots — chosen by backend, so
concurrent writers seldom share a row; rows are upserted in key order, so writers that do share
a slot lock them in the same order. The list sums the matching rows. TRUNCATE empties the tally;
bulk loads that disable triggers (``session_replication_role = replica``) must call
``order_group_tally_rebuild()`` afterwards.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

from mercato.migrations.tally import Tally, TallyTriggers

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# The functions and triggers are generated (``mercato.migrations.tally``), as for migration 0007.
GROUPS = TallyTriggers(
    name="order_group_tally",
    source="order_group",
    live="deleted_at IS NULL",
    tallies=(
        Tally("order_group_tally", ("status", "payment_status", "fulfillment_status")),
        Tally(
            "order_group_seller_tally",
            ("seller_id",),
            expressions={"seller_id": "unnest(seller_ids)"},
        ),
    ),
)


def upgrade() -> None:
    op.create_table(
        "order_group_tally",
        sa.Column("slot", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("payment_status", sa.String(), nullable=False),
        sa.Column("fulfillment_status", sa.String(), nullable=False),
        sa.Column("live", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "slot",
            "status",
            "payment_status",
            "fulfillment_status",
            name=op.f("pk_order_group_tally"),
        ),
    )
    op.create_table(
        "order_group_seller_tally",
        sa.Column("slot", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("seller_id", sa.String(), nullable=False),
        sa.Column("live", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("slot", "seller_id", name=op.f("pk_order_group_seller_tally")),
    )
    for statement in GROUPS.create():
        op.execute(statement)


def downgrade() -> None:
    for statement in GROUPS.drop():
        op.execute(statement)
    op.drop_table("order_group_seller_tally")
    op.drop_table("order_group_tally")
