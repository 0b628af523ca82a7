"""Consumption records by event

``event_consumption``'s primary key leads with the subscriber, so deleting an outbox row (the
retention pass) made PostgreSQL's foreign-key check scan every consumption record: 500 events
took 58 s with 400,000 records. An index on ``event_id`` makes it a probe per event.

Revision ID: 0017
Revises: 0016
"""

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_event_consumption_event_id", "event_consumption", ["event_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_event_consumption_event_id", table_name="event_consumption")
