"""The store (admin-dashboard.md §3)

``store`` is the installation's one store (name, default sales channel, region and stock
location, metadata) and ``store_currency`` its supported currencies, one default. The row itself
is created by ``mercato migrate`` after the migrations (``stores.service.ensure_store``), so a
database whose store row went missing gets it back on the next migrate.

Revision ID: 0018
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "store",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("default_sales_channel_id", sa.String(), nullable=True),
        sa.Column("default_region_id", sa.String(), nullable=True),
        sa.Column("default_location_id", sa.String(), nullable=True),
        sa.Column(
            "metadata", postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), nullable=True
        ),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_store")),
    )
    op.create_table(
        "store_currency",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("store_id", sa.String(), nullable=False),
        sa.Column("currency_code", sa.String(length=3), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["store.id"],
            name=op.f("fk_store_currency_store_id_store"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_store_currency")),
        sa.UniqueConstraint("store_id", "currency_code", name=op.f("uq_store_currency_store_id")),
    )


def downgrade() -> None:
    op.drop_table("store_currency")
    op.drop_table("store")
