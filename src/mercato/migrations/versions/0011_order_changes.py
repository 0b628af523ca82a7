"""Order changes: changes and actions, returns and their items, credit lines, order summary

Orders gain ``version``, the stored ``summary`` (minor units, order-changes.md §3.3) and
``lifecycle_status`` (the stored lifecycle; ``status`` becomes what clients see, §4); lines gain
their return quantities and deducted value; fulfilment statuses gain ``partially_returned`` and
``returned``. Existing orders get their summary computed from their captures and refunds, and a
canceled order the credit line of its total that a cancel now books (Medusa 2.8).

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

FULFILLMENT = (
    "not_fulfilled",
    "partially_fulfilled",
    "fulfilled",
    "partially_shipped",
    "shipped",
    "partially_delivered",
    "delivered",
    "partially_returned",
    "returned",
    "canceled",
)
OLD_FULFILLMENT = tuple(s for s in FULFILLMENT if s not in ("partially_returned", "returned"))
LIFECYCLE = ("pending", "completed", "draft", "archived", "canceled")
CHANGE_TYPES = ("edit", "return_request", "return_receive", "exchange", "claim", "credit_line")
CHANGE_STATUSES = ("pending", "requested", "confirmed", "declined", "canceled")
RETURN_STATUSES = ("open", "requested", "partially_received", "received", "canceled")


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


def upgrade() -> None:
    for table in ("order", "order_group"):
        op.drop_constraint(op.f(f"ck_{table}_fulfillment_status"), table, type_="check")
        op.create_check_constraint(
            op.f(f"ck_{table}_fulfillment_status"), table, _in("fulfillment_status", FULFILLMENT)
        )
    op.add_column("order", sa.Column("lifecycle_status", sa.String(), nullable=True))
    op.add_column(
        "order", sa.Column("version", sa.Integer(), server_default="1", nullable=False)
    )
    op.add_column(
        "order",
        sa.Column(
            "summary",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
    )
    op.execute('UPDATE "order" SET lifecycle_status = status')
    op.alter_column("order", "lifecycle_status", nullable=False)
    op.alter_column("order", "version", server_default=None)
    op.alter_column("order", "summary", server_default=None)
    op.create_check_constraint(
        op.f("ck_order_lifecycle_status"), "order", _in("lifecycle_status", LIFECYCLE)
    )
    for column in (
        "return_requested_quantity",
        "return_received_quantity",
        "return_dismissed_quantity",
        "written_off_quantity",
        "deducted_quantity",
    ):
        op.add_column(
            "order_line_item", sa.Column(column, sa.Integer(), server_default="0", nullable=False)
        )
        op.alter_column("order_line_item", column, server_default=None)
    op.add_column(
        "order_line_item",
        sa.Column("deducted_amount", sa.BigInteger(), server_default="0", nullable=False),
    )
    op.alter_column("order_line_item", "deducted_amount", server_default=None)
    op.add_column("order_shipping_method", sa.Column("return_id", sa.String(), nullable=True))
    op.create_index(
        "ix_order_shipping_method_return_id", "order_shipping_method", ["return_id"]
    )

    op.create_table(
        "order_change",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("order_id", sa.String(), nullable=False),
        sa.Column("return_id", sa.String(), nullable=True),
        sa.Column("exchange_id", sa.String(), nullable=True),
        sa.Column("claim_id", sa.String(), nullable=True),
        sa.Column("draft_order_id", sa.String(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("change_type", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("description", sa.String(), nullable=True),
        sa.Column("internal_note", sa.String(), nullable=True),
        sa.Column("created_by", sa.String(), nullable=True),
        sa.Column("requested_by", sa.String(), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirmed_by", sa.String(), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("declined_by", sa.String(), nullable=True),
        sa.Column("declined_reason", sa.String(), nullable=True),
        sa.Column("declined_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("canceled_by", sa.String(), nullable=True),
        sa.Column("canceled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("metadata", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        *_timestamps(),
        sa.CheckConstraint(_in("change_type", CHANGE_TYPES), name=op.f("ck_order_change_change_type")),
        sa.CheckConstraint(_in("status", CHANGE_STATUSES), name=op.f("ck_order_change_status")),
        sa.ForeignKeyConstraint(["order_id"], ["order.id"], name="fk_order_change_order_id_order"),
        sa.PrimaryKeyConstraint("id", name="pk_order_change"),
    )
    op.create_index(
        "ux_order_change_active",
        "order_change",
        ["order_id"],
        unique=True,
        postgresql_where=sa.text("status IN ('pending', 'requested')"),
    )
    op.create_index(
        "ix_order_change_order_created", "order_change", ["order_id", "created_at"]
    )
    op.create_index("ix_order_change_return_id", "order_change", ["return_id"])

    op.create_table(
        "order_change_action",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("order_change_id", sa.String(), nullable=False),
        sa.Column("order_id", sa.String(), nullable=False),
        sa.Column("return_id", sa.String(), nullable=True),
        sa.Column("exchange_id", sa.String(), nullable=True),
        sa.Column("claim_id", sa.String(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("ordering", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("reference", sa.String(), nullable=True),
        sa.Column("reference_id", sa.String(), nullable=True),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("currency_code", sa.String(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("internal_note", sa.String(), nullable=True),
        sa.Column("applied", sa.Boolean(), nullable=False),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["order_change_id"],
            ["order_change.id"],
            name="fk_order_change_action_order_change_id_order_change",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["order.id"], name="fk_order_change_action_order_id_order"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_order_change_action"),
    )
    op.create_index(
        "ix_order_change_action_order_change_id", "order_change_action", ["order_change_id"]
    )

    op.create_table(
        "order_return",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("display_id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("order_id", sa.String(), nullable=False),
        sa.Column("seller_id", sa.String(), nullable=False),
        sa.Column("exchange_id", sa.String(), nullable=True),
        sa.Column("claim_id", sa.String(), nullable=True),
        sa.Column("order_version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("location_id", sa.String(), nullable=True),
        sa.Column("no_notification", sa.Boolean(), nullable=False),
        sa.Column("currency_code", sa.String(), nullable=False),
        sa.Column("refund_amount", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("canceled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("metadata", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        *_timestamps(),
        sa.CheckConstraint(_in("status", RETURN_STATUSES), name=op.f("ck_order_return_status")),
        sa.ForeignKeyConstraint(["order_id"], ["order.id"], name="fk_order_return_order_id_order"),
        sa.ForeignKeyConstraint(
            ["seller_id"], ["seller.id"], name="fk_order_return_seller_id_seller"
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["stock_location.id"],
            name="fk_order_return_location_id_stock_location",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_order_return"),
        sa.UniqueConstraint("display_id", name="uq_order_return_display_id"),
    )
    op.create_index("ix_order_return_order", "order_return", ["order_id"])
    op.create_index("ix_order_return_created", "order_return", ["created_at", "id"])
    op.create_index(
        "ix_order_return_seller_created", "order_return", ["seller_id", "created_at"]
    )
    op.create_index("ix_order_return_status", "order_return", ["status"])

    op.create_table(
        "return_item",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("return_id", sa.String(), nullable=False),
        sa.Column("item_id", sa.String(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("received_quantity", sa.Integer(), nullable=False),
        sa.Column("damaged_quantity", sa.Integer(), nullable=False),
        sa.Column("deducted_amount", sa.BigInteger(), nullable=False),
        sa.Column("reason_id", sa.String(), nullable=True),
        sa.Column("note", sa.String(), nullable=True),
        sa.Column("metadata", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["return_id"], ["order_return.id"], name="fk_return_item_return_id_order_return"
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["order_line_item.id"], name="fk_return_item_item_id_order_line_item"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_return_item"),
    )
    op.create_index("ix_return_item_return_id", "return_item", ["return_id"])
    op.create_index("ix_return_item_item_id", "return_item", ["item_id"])

    op.create_table(
        "order_credit_line",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("order_id", sa.String(), nullable=False),
        sa.Column("currency_code", sa.String(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("reference", sa.String(), nullable=True),
        sa.Column("reference_id", sa.String(), nullable=True),
        sa.Column("metadata", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["order_id"], ["order.id"], name="fk_order_credit_line_order_id_order"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_order_credit_line"),
    )
    op.create_index("ix_order_credit_line_order_id", "order_credit_line", ["order_id"])

    # Payment collections of order changes: no cart, linked to one order.
    op.alter_column("payment_collection", "cart_id", nullable=True)
    op.add_column(
        "payment_collection",
        sa.Column("source", sa.String(), server_default="cart", nullable=False),
    )
    op.add_column("payment_collection", sa.Column("order_change_id", sa.String(), nullable=True))
    op.create_check_constraint(
        op.f("ck_payment_collection_source"),
        "payment_collection",
        _in("source", ("cart", "draft_order", "order_change")),
    )

    # A canceled order's remaining total as a credit line, as a cancel now books it.
    op.execute(
        """
        INSERT INTO order_credit_line (id, order_id, currency_code, amount, reference,
                                       reference_id)
        SELECT 'ordcl_' || o.id, o.id, o.currency_code, o.total, 'order', o.id
        FROM "order" o WHERE o.canceled_at IS NOT NULL AND o.total <> 0
        """
    )
    # Every order's summary from its lines, credit lines, captures and refunds.
    op.execute(
        """
        WITH money AS (
            SELECT o.id,
                   o.total AS original,
                   o.total - COALESCE((SELECT sum(c.amount) FROM order_credit_line c
                                       WHERE c.order_id = o.id), 0) AS current,
                   COALESCE((SELECT sum(c.amount) FROM order_credit_line c
                             WHERE c.order_id = o.id), 0) AS credit,
                   COALESCE((SELECT sum(t.amount) FROM order_transaction t
                             WHERE t.order_id = o.id AND t.reference = 'capture'), 0) AS paid,
                   -COALESCE((SELECT sum(t.amount) FROM order_transaction t
                              WHERE t.order_id = o.id AND t.reference = 'refund'), 0) AS refunded,
                   CASE WHEN o.canceled_at IS NULL AND pc.status <> 'canceled'
                        THEN greatest(l.amount - COALESCE((SELECT sum(t.amount)
                             FROM order_transaction t WHERE t.order_id = o.id
                             AND t.reference = 'capture'), 0), 0)
                        ELSE 0 END AS covered
            FROM "order" o
            LEFT JOIN order_payment_collection l ON l.order_id = o.id
            LEFT JOIN payment_collection pc ON pc.id = l.payment_collection_id
        ), summary AS (
            SELECT id, original, current, credit, paid, refunded, covered,
                   current - (paid - refunded) AS pending
            FROM money
        )
        UPDATE "order" o SET
            total = s.current,
            summary = jsonb_build_object(
                'original_order_total', s.original,
                'current_order_total', s.current,
                'accounting_total', s.current,
                'credit_line_total', s.credit,
                'paid_total', s.paid,
                'refunded_total', s.refunded,
                'transaction_total', s.paid - s.refunded,
                'pending_difference', s.pending,
                'return_requested_total', 0,
                'refund_due', greatest(0, -s.pending),
                'amount_due', greatest(0, s.pending - s.covered)
            )
        FROM summary s WHERE s.id = o.id
        """
    )
    op.execute(
        """
        UPDATE "order" SET status = 'requires_action'
        WHERE status IN ('pending', 'completed')
          AND ((summary->>'refund_due')::bigint > 0 OR (summary->>'amount_due')::bigint > 0)
        """
    )
    op.execute(
        """
        UPDATE order_group g SET total = t.total
        FROM (SELECT l.order_group_id, sum((o.summary->>'current_order_total')::bigint) AS total
              FROM order_group_order l JOIN "order" o ON o.id = l.order_id
              GROUP BY l.order_group_id) t
        WHERE t.order_group_id = g.id AND g.total <> t.total
        """
    )


def downgrade() -> None:
    op.execute(
        "DELETE FROM payment_session s USING payment_collection c "
        "WHERE c.id = s.payment_collection_id AND c.source = 'order_change'"
    )
    op.execute("DELETE FROM order_payment_collection l USING payment_collection c "
               "WHERE c.id = l.payment_collection_id AND c.source = 'order_change'")
    op.execute("DELETE FROM payment_collection WHERE source = 'order_change'")
    op.drop_constraint(op.f("ck_payment_collection_source"), "payment_collection", type_="check")
    op.drop_column("payment_collection", "order_change_id")
    op.drop_column("payment_collection", "source")
    op.alter_column("payment_collection", "cart_id", nullable=False)
    op.drop_table("order_credit_line")
    op.drop_table("return_item")
    op.drop_table("order_return")
    op.drop_table("order_change_action")
    op.drop_table("order_change")
    op.drop_index("ix_order_shipping_method_return_id", "order_shipping_method")
    op.drop_column("order_shipping_method", "return_id")
    for column in (
        "return_requested_quantity",
        "return_received_quantity",
        "return_dismissed_quantity",
        "written_off_quantity",
        "deducted_quantity",
        "deducted_amount",
    ):
        op.drop_column("order_line_item", column)
    op.execute('UPDATE "order" SET status = lifecycle_status')
    op.drop_constraint(op.f("ck_order_lifecycle_status"), "order", type_="check")
    op.drop_column("order", "summary")
    op.drop_column("order", "version")
    op.drop_column("order", "lifecycle_status")
    for table in ("order", "order_group"):
        op.drop_constraint(op.f(f"ck_{table}_fulfillment_status"), table, type_="check")
        op.create_check_constraint(
            op.f(f"ck_{table}_fulfillment_status"), table, _in("fulfillment_status", OLD_FULFILLMENT)
        )
