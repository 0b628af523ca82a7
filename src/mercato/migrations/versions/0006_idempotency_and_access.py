"""idempotency_key; secret keys of deleted users revoked; guest emails searchable by index

* ``idempotency_key``: one row per ``Idempotency-Key`` used by an actor on a route
  (api-conventions.md), keyed by the SHA-256 of its scope; ``expires_at`` indexed for the
  opportunistic clean-up.
* A secret key dies with the admin user who created it (marketplace-setup.md): keys of users
  deleted before this rule are revoked now.
* ``q`` on ``GET /admin/order-groups`` also matches a guest group's email (its cart's):
  where ``pg_trgm`` is available (as in 0002), ``lower(email)`` of completed guest carts gets a
  partial trigram index.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


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
    op.create_table(
        "idempotency_key",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("method", sa.String(), nullable=False),
        sa.Column("path", sa.String(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("fingerprint", sa.String(), nullable=False),
        sa.Column("claim", sa.String(), nullable=True),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_content_type", sa.String(), nullable=True),
        sa.Column("response_body", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_key")),
    )
    op.create_index(
        op.f("ix_idempotency_key_expires_at"), "idempotency_key", ["expires_at"], unique=False
    )
    op.execute(
        """
        UPDATE api_key SET revoked_at = now()
        FROM "user" u
        WHERE u.id = api_key.created_by AND u.deleted_at IS NOT NULL
          AND api_key.type = 'secret' AND api_key.revoked_at IS NULL
        """
    )
    if _has_trigram():
        op.execute(
            "CREATE INDEX IF NOT EXISTS ix_cart_guest_email_trgm ON cart "
            "USING gin (lower(email) gin_trgm_ops) "
            "WHERE customer_id IS NULL AND completed_at IS NOT NULL"
        )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_cart_guest_email_trgm")
    op.drop_index(op.f("ix_idempotency_key_expires_at"), table_name="idempotency_key")
    op.drop_table("idempotency_key")
