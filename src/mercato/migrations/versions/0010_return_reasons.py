"""return_reason, and shipping_option.is_return (order-changes.md §2.2, §18)

* ``return_reason``: marketplace-wide reasons, optionally nested under a parent; an index for
  each list filter (``value``, ``label``, ``parent_return_reason_id``, ``created_at``,
  ``updated_at``).
* ``shipping_option.is_return``: options that carry items back to the seller; existing options
  are not return options (server default ``false``).

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "return_reason",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("value", sa.String(), nullable=False),
        sa.Column("label", sa.String(), nullable=False),
        sa.Column("description", sa.String(), nullable=True),
        sa.Column("parent_return_reason_id", sa.String(), nullable=True),
        sa.Column(
            "metadata",
            postgresql.JSONB(none_as_null=True, astext_type=sa.Text()),
            nullable=True,
        ),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["parent_return_reason_id"],
            ["return_reason.id"],
            name="fk_return_reason_parent_return_reason_id_return_reason",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_return_reason"),
    )
    for column in ("value", "label", "parent_return_reason_id", "created_at", "updated_at"):
        op.create_index(f"ix_return_reason_{column}", "return_reason", [column])
    op.add_column(
        "shipping_option",
        sa.Column("is_return", sa.Boolean(), server_default=sa.false(), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("shipping_option", "is_return")
    op.drop_table("return_reason")
