"""CHECK constraints: every stored status column takes only its vocabulary's values

The vocabularies are defined once in Python (``domain.statuses``, ``domain.payments``, the
product, seller and workflow-run models, which declare the same constraints through
``db.base.one_of``). The values are spelled out here as they were when this revision was
written, so the revision means the same thing forever; ``tests/api/test_migrations.py`` checks
that the database admits exactly the current vocabularies, so changing one without a migration
fails there. Existing rows are checked as each constraint is added.

Revision ID: 0009
Revises: 0008
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

ORDER = (
    "pending",
    "completed",
    "draft",
    "archived",
    "canceled",
    "requires_action",
)
GROUP = (
    "pending",
    "completed",
    "archived",
    "canceled",
    "requires_action",
)
PAYMENT = (
    "not_paid",
    "awaiting",
    "authorized",
    "partially_authorized",
    "captured",
    "partially_captured",
    "partially_refunded",
    "refunded",
    "canceled",
    "requires_action",
)
FULFILLMENT = (
    "not_fulfilled",
    "partially_fulfilled",
    "fulfilled",
    "partially_shipped",
    "shipped",
    "partially_delivered",
    "delivered",
    "canceled",
)
COLLECTION = (
    "not_paid",
    "awaiting",
    "authorized",
    "partially_authorized",
    "canceled",
    "failed",
    "partially_captured",
    "completed",
    "requires_action",
)
SESSION = (
    "pending",
    "authorized",
    "captured",
    "requires_more",
    "error",
    "canceled",
)
PRODUCT = (
    "draft",
    "published",
)
SELLER = (
    "active",
    "suspended",
)
RUN = (
    "running",
    "succeeded",
    "compensated",
    "failed",
)

# (table, column, vocabulary): the constraint is ck_<table>_<column>.
CHECKS = (
    ("order", "status", ORDER),
    ("order", "payment_status", PAYMENT),
    ("order", "fulfillment_status", FULFILLMENT),
    ("order_group", "status", GROUP),
    ("order_group", "payment_status", PAYMENT),
    ("order_group", "fulfillment_status", FULFILLMENT),
    ("payment_collection", "status", COLLECTION),
    ("payment_session", "status", SESSION),
    ("product", "status", PRODUCT),
    ("seller", "status", SELLER),
    ("workflow_run", "status", RUN),
)


def upgrade() -> None:
    for table, column, values in CHECKS:
        listed = ", ".join(f"'{value}'" for value in values)
        op.create_check_constraint(op.f(f"ck_{table}_{column}"), table, f"{column} IN ({listed})")


def downgrade() -> None:
    for table, column, _ in reversed(CHECKS):
        op.drop_constraint(op.f(f"ck_{table}_{column}"), table, type_="check")
