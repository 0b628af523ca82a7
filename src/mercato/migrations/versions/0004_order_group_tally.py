"""order_group_tally, order_group_seller_tally: live order groups counted per status triple and
per seller, maintained by triggers

``GET /admin/order-groups`` reports ``count``: without filters that is every live group, an
index-only scan of all of them (~6 ms of PostgreSQL CPU at 100,000 groups, per request); with a
status filter (the admin's status tabs) still tens of thousands of index entries (~2-4 ms), with
a seller filter a bitmap scan of that seller's groups (~2-3 ms). Statement-level triggers add
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

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_UPSERT = """
        INSERT INTO order_group_tally AS t
            (slot, status, payment_status, fulfillment_status, live)
        SELECT pg_backend_pid() % 64, status, payment_status, fulfillment_status, sum(delta)
        FROM ({changes}) AS changes
        GROUP BY status, payment_status, fulfillment_status
        HAVING sum(delta) <> 0
        ORDER BY status, payment_status, fulfillment_status
        ON CONFLICT (slot, status, payment_status, fulfillment_status)
        DO UPDATE SET live = t.live + EXCLUDED.live;"""
_ADDED = (
    "SELECT status, payment_status, fulfillment_status, 1 AS delta "
    "FROM new_rows WHERE deleted_at IS NULL"
)
_REMOVED = (
    "SELECT status, payment_status, fulfillment_status, -1 AS delta "
    "FROM old_rows WHERE deleted_at IS NULL"
)

_SELLER_UPSERT = """
        INSERT INTO order_group_seller_tally AS t (slot, seller_id, live)
        SELECT pg_backend_pid() % 64, seller_id, sum(delta)
        FROM ({changes}) AS changes
        GROUP BY seller_id
        HAVING sum(delta) <> 0
        ORDER BY seller_id
        ON CONFLICT (slot, seller_id) DO UPDATE SET live = t.live + EXCLUDED.live;"""
_SELLERS_ADDED = (
    "SELECT unnest(seller_ids) AS seller_id, 1 AS delta FROM new_rows WHERE deleted_at IS NULL"
)
_SELLERS_REMOVED = (
    "SELECT unnest(seller_ids) AS seller_id, -1 AS delta FROM old_rows WHERE deleted_at IS NULL"
)


def _both(status_changes: str, seller_changes: str) -> str:
    return _UPSERT.format(changes=status_changes) + _SELLER_UPSERT.format(changes=seller_changes)


FUNCTION = f"""
CREATE FUNCTION order_group_tally_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM order_group_tally;
        DELETE FROM order_group_seller_tally;
    ELSIF TG_OP = 'INSERT' THEN{_both(_ADDED, _SELLERS_ADDED)}
    ELSIF TG_OP = 'DELETE' THEN{_both(_REMOVED, _SELLERS_REMOVED)}
    ELSE{_both(f"{_ADDED} UNION ALL {_REMOVED}", f"{_SELLERS_ADDED} UNION ALL {_SELLERS_REMOVED}")}
    END IF;
    RETURN NULL;
END
$$
"""

REBUILD = """
CREATE FUNCTION order_group_tally_rebuild() RETURNS void LANGUAGE sql AS $$
    DELETE FROM order_group_tally;
    INSERT INTO order_group_tally (slot, status, payment_status, fulfillment_status, live)
    SELECT 0, status, payment_status, fulfillment_status, count(*) FROM order_group
    WHERE deleted_at IS NULL GROUP BY status, payment_status, fulfillment_status;
    DELETE FROM order_group_seller_tally;
    INSERT INTO order_group_seller_tally (slot, seller_id, live)
    SELECT 0, seller_id, count(*) FROM order_group, unnest(seller_ids) AS seller_id
    WHERE deleted_at IS NULL GROUP BY seller_id;
$$
"""

TRIGGERS = {
    "insert": "AFTER INSERT ON order_group REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT",
    "delete": "AFTER DELETE ON order_group REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT",
    "update": (
        "AFTER UPDATE ON order_group REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
        "FOR EACH STATEMENT"
    ),
    "truncate": "AFTER TRUNCATE ON order_group FOR EACH STATEMENT",
}


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
    op.execute(FUNCTION)
    op.execute(REBUILD)
    for name, timing in TRIGGERS.items():
        op.execute(
            f"CREATE TRIGGER order_group_tally_{name} {timing} "
            "EXECUTE FUNCTION order_group_tally_apply()"
        )
    op.execute("SELECT order_group_tally_rebuild()")


def downgrade() -> None:
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER order_group_tally_{name} ON order_group")
    op.execute("DROP FUNCTION order_group_tally_rebuild()")
    op.execute("DROP FUNCTION order_group_tally_apply()")
    op.drop_table("order_group_seller_tally")
    op.drop_table("order_group_tally")
