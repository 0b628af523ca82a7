"""The ``workflow_run`` table: one row per run of a workflow, its step and its state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Index, String, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from mercato.db.base import Base, id_column, one_of

RUNNING = "running"
SUCCEEDED = "succeeded"
COMPENSATED = "compensated"
FAILED = "failed"
RUN_STATUSES = (RUNNING, SUCCEEDED, COMPENSATED, FAILED)


class WorkflowRun(Base):
    """A workflow's run: ``step`` is the last step it committed, ``state`` what later steps and
    the recovery sweep need (amounts held, the provider's idempotency keys, ids to create).

    ``key`` makes a run idempotent (the same checkout or capture request finds its run);
    ``subject_id`` is the aggregate the run works on (an order group, a cart), so a command can
    see which runs hold money or stock of it while they are ``running``."""

    __tablename__ = "workflow_run"
    __table_args__ = (
        Index(
            "ix_workflow_run_subject_running",
            "subject_id",
            postgresql_where=text("status = 'running'"),
        ),
        Index(
            "ix_workflow_run_running_updated",
            "updated_at",
            postgresql_where=text("status = 'running'"),
        ),
        one_of("status", RUN_STATUSES),
    )

    id: Mapped[str] = id_column("wfrun")
    name: Mapped[str]
    key: Mapped[str] = mapped_column(String, unique=True)
    subject_id: Mapped[str]
    status: Mapped[str] = mapped_column(default=RUNNING)
    step: Mapped[str]
    state: Mapped[dict[str, Any]] = mapped_column(JSONB)
    error: Mapped[str | None]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
