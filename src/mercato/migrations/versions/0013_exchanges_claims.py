"""Exchanges and claims (order-changes.md §2.3, §7, §8)

Tables ``order_exchange`` / ``order_exchange_item`` and ``order_claim`` / ``order_claim_item``;
order lines and shipping methods gain ``exchange_id`` / ``claim_id`` (the outbound lines and
methods an exchange or claim added).

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

CLAIM_TYPES = ("refund", "replace")
CLAIM_REASONS = ("missing_item", "wrong_item", "production_failure", "other")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    ]


def _parent(table: str, prefix_columns: list[sa.Column], checks: list[sa.CheckConstraint]) -> None:
    op.create_table(
        table,
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("display_id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        *prefix_columns,
        sa.Column("order_id", sa.String(), nullable=False),
        sa.Column("seller_id", sa.String(), nullable=False),
        sa.Column("return_id", sa.String(), nullable=True),
        sa.Column("order_version", sa.Integer(), nullable=False),
        sa.Column("currency_code", sa.String(), nullable=False),
        sa.Column("no_notification", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(), nullable=True),
        sa.Column("canceled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("metadata", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        *_timestamps(),
        *checks,
        sa.ForeignKeyConstraint(["order_id"], ["order.id"], name=f"fk_{table}_order_id_order"),
        sa.ForeignKeyConstraint(["seller_id"], ["seller.id"], name=f"fk_{table}_seller_id_seller"),
        sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
        sa.UniqueConstraint("display_id", name=f"uq_{table}_display_id"),
    )
    op.create_index(f"ix_{table}_order", table, ["order_id"])
    op.create_index(f"ix_{table}_created", table, ["created_at", "id"])
    op.create_index(f"ix_{table}_seller_created", table, ["seller_id", "created_at"])
    op.create_index(f"ix_{table}_updated_at", table, ["updated_at"])


def upgrade() -> None:
    _parent(
        "order_exchange",
        [
            sa.Column("difference_due", sa.BigInteger(), nullable=False),
            sa.Column("allow_backorder", sa.Boolean(), nullable=False),
        ],
        [],
    )
    op.create_table(
        "order_exchange_item",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("exchange_id", sa.String(), nullable=False),
        sa.Column("item_id", sa.String(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("metadata", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["exchange_id"],
            ["order_exchange.id"],
            name="fk_order_exchange_item_exchange_id_order_exchange",
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["order_line_item.id"],
            name="fk_order_exchange_item_item_id_order_line_item",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_order_exchange_item"),
    )
    op.create_index(
        "ix_order_exchange_item_exchange_id", "order_exchange_item", ["exchange_id"]
    )
    _parent(
        "order_claim",
        [
            sa.Column("type", sa.String(), nullable=False),
            sa.Column("reason_id", sa.String(), nullable=True),
            sa.Column("refund_amount", sa.BigInteger(), nullable=False),
        ],
        [sa.CheckConstraint(_in("type", CLAIM_TYPES), name=op.f("ck_order_claim_type"))],
    )
    op.create_index("ix_order_claim_type", "order_claim", ["type"])
    op.create_table(
        "order_claim_item",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("claim_id", sa.String(), nullable=False),
        sa.Column("item_id", sa.String(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(), nullable=True),
        sa.Column("is_additional_item", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(), nullable=True),
        sa.Column("deducted_amount", sa.BigInteger(), nullable=False),
        sa.Column("metadata", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        *_timestamps(),
        sa.CheckConstraint(_in("reason", CLAIM_REASONS), name=op.f("ck_order_claim_item_reason")),
        sa.ForeignKeyConstraint(
            ["claim_id"], ["order_claim.id"], name="fk_order_claim_item_claim_id_order_claim"
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["order_line_item.id"],
            name="fk_order_claim_item_item_id_order_line_item",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_order_claim_item"),
    )
    op.create_index("ix_order_claim_item_claim_id", "order_claim_item", ["claim_id"])
    for table in ("order_line_item", "order_shipping_method"):
        op.add_column(table, sa.Column("exchange_id", sa.String(), nullable=True))
        op.add_column(table, sa.Column("claim_id", sa.String(), nullable=True))
        op.create_index(f"ix_{table}_exchange_id", table, ["exchange_id"])
        op.create_index(f"ix_{table}_claim_id", table, ["claim_id"])


def downgrade() -> None:
    for table in ("order_line_item", "order_shipping_method"):
        op.drop_index(f"ix_{table}_claim_id", table_name=table)
        op.drop_index(f"ix_{table}_exchange_id", table_name=table)
        op.drop_column(table, "claim_id")
        op.drop_column(table, "exchange_id")
    op.drop_table("order_claim_item")
    op.drop_table("order_claim")
    op.drop_table("order_exchange_item")
    op.drop_table("order_exchange")
