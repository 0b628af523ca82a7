"""Durable events and webhooks (events-and-scale-out.md)

The outbox gains ``seq`` (identity: insert order, for the relay and every envelope) and
``seller_id`` (the one seller an event is about: vendor webhooks filter on it), with the index of
pending rows by ``seq``. ``event_delivery`` holds what each subscriber still owes (leases,
attempts, next attempt), ``event_consumption`` what it handled (its primary key makes a handler's
database effects happen once), ``event_dead_letter`` what failed every attempt, and
``mercato_process`` the live processes with their connection budgets and heartbeats. Webhook
endpoints (``webhook``, secrets stored encrypted), their deliveries (one per endpoint and event)
and every HTTP attempt.

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mercato_process",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("host", sa.String(), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("pool_budget", sa.Integer(), nullable=False),
        sa.Column(
            "started_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "heartbeat_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "status", postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), nullable=True
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mercato_process")),
    )
    op.create_index(
        "ix_mercato_process_heartbeat", "mercato_process", ["heartbeat_at"], unique=False
    )
    op.create_table(
        "event_consumption",
        sa.Column("subscriber", sa.String(), nullable=False),
        sa.Column("event_id", sa.String(), nullable=False),
        sa.Column(
            "consumed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["event_outbox.id"],
            name=op.f("fk_event_consumption_event_id_event_outbox"),
        ),
        sa.PrimaryKeyConstraint("subscriber", "event_id", name=op.f("pk_event_consumption")),
    )
    op.create_table(
        "event_dead_letter",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("event_id", sa.String(), nullable=False),
        sa.Column("event_name", sa.String(), nullable=False),
        sa.Column("subscriber", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.Column(
            "failed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("retried_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["event_outbox.id"],
            name=op.f("fk_event_dead_letter_event_id_event_outbox"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_dead_letter")),
    )
    op.create_index(
        op.f("ix_event_dead_letter_event_id"), "event_dead_letter", ["event_id"], unique=False
    )
    op.create_index(
        op.f("ix_event_dead_letter_event_name"), "event_dead_letter", ["event_name"], unique=False
    )
    op.create_index(
        "ix_event_dead_letter_failed_at", "event_dead_letter", ["failed_at", "id"], unique=False
    )
    op.create_index(
        "ix_event_dead_letter_subscriber",
        "event_dead_letter",
        ["subscriber", "failed_at"],
        unique=False,
    )
    op.create_table(
        "event_delivery",
        sa.Column("event_id", sa.String(), nullable=False),
        sa.Column("subscriber", sa.String(), nullable=False),
        sa.Column("event_seq", sa.BigInteger(), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "next_attempt_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["event_outbox.id"], name=op.f("fk_event_delivery_event_id_event_outbox")
        ),
        sa.PrimaryKeyConstraint("event_id", "subscriber", name=op.f("pk_event_delivery")),
    )
    op.create_index(
        "ix_event_delivery_due",
        "event_delivery",
        ["subscriber", "next_attempt_at", "event_seq"],
        unique=False,
    )
    op.create_table(
        "webhook",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("url", sa.String(), nullable=False),
        sa.Column("description", sa.String(), nullable=True),
        sa.Column("events", postgresql.ARRAY(sa.String()), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("disabled_reason", sa.String(), nullable=True),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column("seller_id", sa.String(), nullable=True),
        sa.Column("secret_ciphertext", sa.String(), nullable=False),
        sa.Column("secret_hint", sa.String(), nullable=False),
        sa.Column("previous_secret_ciphertext", sa.String(), nullable=True),
        sa.Column("previous_secret_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "metadata", postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), nullable=True
        ),
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
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["seller_id"], ["seller.id"], name=op.f("fk_webhook_seller_id_seller")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook")),
    )
    op.create_index(
        "ix_webhook_active",
        "webhook",
        ["is_active"],
        unique=False,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_index("ix_webhook_created_at", "webhook", ["created_at", "id"], unique=False)
    op.create_index(
        "ix_webhook_events", "webhook", ["events"], unique=False, postgresql_using="gin"
    )
    op.create_index(op.f("ix_webhook_seller_id"), "webhook", ["seller_id"], unique=False)
    op.create_index("ix_webhook_updated_at", "webhook", ["updated_at"], unique=False)
    op.create_table(
        "webhook_delivery",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("webhook_id", sa.String(), nullable=False),
        sa.Column("event_id", sa.String(), nullable=False),
        sa.Column("event_name", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("attempt_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
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
        sa.CheckConstraint(
            "status IN ('pending', 'succeeded', 'failed')", name=op.f("ck_webhook_delivery_status")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["event_outbox.id"],
            name=op.f("fk_webhook_delivery_event_id_event_outbox"),
        ),
        sa.ForeignKeyConstraint(
            ["webhook_id"], ["webhook.id"], name=op.f("fk_webhook_delivery_webhook_id_webhook")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_delivery")),
        sa.UniqueConstraint("webhook_id", "event_id", name=op.f("uq_webhook_delivery_webhook_id")),
    )
    op.create_index(
        "ix_webhook_delivery_due", "webhook_delivery", ["status", "next_attempt_at"], unique=False
    )
    op.create_index(
        op.f("ix_webhook_delivery_event_id"), "webhook_delivery", ["event_id"], unique=False
    )
    op.create_index(
        "ix_webhook_delivery_webhook_created",
        "webhook_delivery",
        ["webhook_id", "created_at", "id"],
        unique=False,
    )
    op.create_table(
        "webhook_attempt",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("delivery_id", sa.String(), nullable=False),
        sa.Column(
            "attempted_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(), nullable=True),
        sa.Column("response_body", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["webhook_delivery.id"],
            name=op.f("fk_webhook_attempt_delivery_id_webhook_delivery"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_attempt")),
    )
    op.create_index(
        op.f("ix_webhook_attempt_delivery_id"), "webhook_attempt", ["delivery_id"], unique=False
    )
    op.add_column(
        "event_outbox", sa.Column("seq", sa.BigInteger(), sa.Identity(always=False), nullable=False)
    )
    op.add_column("event_outbox", sa.Column("seller_id", sa.String(), nullable=True))
    op.create_index("ix_event_outbox_seller", "event_outbox", ["seller_id", "seq"], unique=False)
    op.create_index(
        "ix_event_outbox_undispatched_seq",
        "event_outbox",
        ["seq"],
        unique=False,
        postgresql_where=sa.text("dispatched_at IS NULL"),
    )
    op.create_unique_constraint(op.f("uq_event_outbox_seq"), "event_outbox", ["seq"])


def downgrade() -> None:
    op.drop_constraint(op.f("uq_event_outbox_seq"), "event_outbox", type_="unique")
    op.drop_index(
        "ix_event_outbox_undispatched_seq",
        table_name="event_outbox",
        postgresql_where=sa.text("dispatched_at IS NULL"),
    )
    op.drop_index("ix_event_outbox_seller", table_name="event_outbox")
    op.drop_column("event_outbox", "seller_id")
    op.drop_column("event_outbox", "seq")
    op.drop_index(op.f("ix_webhook_attempt_delivery_id"), table_name="webhook_attempt")
    op.drop_table("webhook_attempt")
    op.drop_index("ix_webhook_delivery_webhook_created", table_name="webhook_delivery")
    op.drop_index(op.f("ix_webhook_delivery_event_id"), table_name="webhook_delivery")
    op.drop_index("ix_webhook_delivery_due", table_name="webhook_delivery")
    op.drop_table("webhook_delivery")
    op.drop_index("ix_webhook_updated_at", table_name="webhook")
    op.drop_index(op.f("ix_webhook_seller_id"), table_name="webhook")
    op.drop_index("ix_webhook_events", table_name="webhook", postgresql_using="gin")
    op.drop_index("ix_webhook_created_at", table_name="webhook")
    op.drop_index(
        "ix_webhook_active", table_name="webhook", postgresql_where=sa.text("deleted_at IS NULL")
    )
    op.drop_table("webhook")
    op.drop_index("ix_event_delivery_due", table_name="event_delivery")
    op.drop_table("event_delivery")
    op.drop_index("ix_event_dead_letter_subscriber", table_name="event_dead_letter")
    op.drop_index("ix_event_dead_letter_failed_at", table_name="event_dead_letter")
    op.drop_index(op.f("ix_event_dead_letter_event_name"), table_name="event_dead_letter")
    op.drop_index(op.f("ix_event_dead_letter_event_id"), table_name="event_dead_letter")
    op.drop_table("event_dead_letter")
    op.drop_table("event_consumption")
    op.drop_index("ix_mercato_process_heartbeat", table_name="mercato_process")
    op.drop_table("mercato_process")
