"""indexes for the order-group list at marketplace scale (issue 5 benchmark)

* ``order_group (created_at, id) WHERE deleted_at IS NULL``: the default page (``-created_at``,
  ties by ``id``) is an index scan without a sort, and ``count`` of live groups an index-only scan.
* ``order_group (status, payment_status, created_at, id) WHERE deleted_at IS NULL``: the status
  filters count by index-only scan and page in index order.
* Customer search (``q``) matches ``lower(column) LIKE lower(pattern)``; where the server offers
  ``pg_trgm`` those expressions get trigram indexes. Without the extension (e.g. the embedded
  PostgreSQL) the search scans customers, which is recorded in docs/benchmarks.md.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

LIVE = sa.text("deleted_at IS NULL")
TRIGRAM_COLUMNS = ("email", "first_name", "last_name")


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
    except sa.exc.DBAPIError:  # not allowed to create it: keep the scan
        return False
    return True


def upgrade() -> None:
    op.create_index(
        "ix_order_group_live_created",
        "order_group",
        ["created_at", "id"],
        postgresql_where=LIVE,
    )
    op.create_index(
        "ix_order_group_live_status",
        "order_group",
        ["status", "payment_status", "created_at", "id"],
        postgresql_where=LIVE,
    )
    if _has_trigram():
        for column in TRIGRAM_COLUMNS:
            op.execute(
                f"CREATE INDEX IF NOT EXISTS ix_customer_{column}_trgm ON customer "
                f"USING gin (lower({column}) gin_trgm_ops)"
            )


def downgrade() -> None:
    for column in TRIGRAM_COLUMNS:
        op.execute(f"DROP INDEX IF EXISTS ix_customer_{column}_trgm")
    op.drop_index("ix_order_group_live_status", table_name="order_group")
    op.drop_index("ix_order_group_live_created", table_name="order_group")
