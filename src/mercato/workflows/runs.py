"""Recording a workflow's progress, and the recovery sweep that finishes interrupted runs.

A workflow runs as steps, each in its own transaction (or outside any, for a call to an external
system). Before a step that calls out, the run's row is committed with what the call needs (its
idempotency key, the amounts held); after each step it records the step reached. If the process
dies in between, the row stays ``running``: :func:`sweep` — at start-up and periodically — finds
runs not touched for a while and hands each to the recoverer its workflow registered, which
finishes the run or compensates it. Recoverers are idempotent: a provider call is repeated with
the same idempotency key and answers as it did the first time.

This module knows no workflow: features register theirs with :func:`register_recoverer`, so the
dependency points from the features to here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mercato.db.base import new_id
from mercato.workflows.models import COMPENSATED, FAILED, RUNNING, SUCCEEDED, WorkflowRun

log = logging.getLogger("mercato.workflows")

Recoverer = Callable[[async_sessionmaker[AsyncSession], WorkflowRun], Awaitable[None]]
_recoverers: dict[str, Recoverer] = {}


def register_recoverer(name: str, recoverer: Recoverer) -> None:
    """``recoverer(sessionmaker, run)`` finishes or compensates an interrupted run of ``name``."""
    _recoverers[name] = recoverer


async def start(
    session: AsyncSession,
    *,
    name: str,
    key: str,
    subject_id: str,
    step: str,
    state: dict[str, Any],
    now: datetime,
) -> WorkflowRun | None:
    """Insert a run in the caller's transaction; ``None`` when a run with ``key`` exists (the
    caller decides what a repeated request means: replay its outcome, or 409 while running)."""
    run_id = new_id("wfrun")
    inserted = await session.scalar(
        insert(WorkflowRun)
        .values(
            id=run_id,
            name=name,
            key=key,
            subject_id=subject_id,
            status=RUNNING,
            step=step,
            state=state,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=[WorkflowRun.key])
        .returning(WorkflowRun.id)
    )
    if inserted is None:
        return None
    return await session.get(WorkflowRun, run_id)


async def by_key(session: AsyncSession, key: str) -> WorkflowRun | None:
    return await session.scalar(select(WorkflowRun).where(WorkflowRun.key == key))


async def advance(
    session: AsyncSession,
    run_id: str,
    *,
    step: str,
    now: datetime,
    state: dict[str, Any] | None = None,
    status: str = RUNNING,
    error: str | None = None,
) -> None:
    """Record the step reached (and the new state/status) in the caller's transaction."""
    values: dict[str, Any] = {"step": step, "status": status, "updated_at": now}
    if state is not None:
        values["state"] = state
    if error is not None:
        values["error"] = error
    await session.execute(update(WorkflowRun).where(WorkflowRun.id == run_id).values(**values))


async def succeed(session: AsyncSession, run_id: str, *, now: datetime, step: str = "done") -> None:
    await advance(session, run_id, step=step, status=SUCCEEDED, now=now)


async def compensated(
    session: AsyncSession, run_id: str, *, now: datetime, error: str | None = None
) -> None:
    await advance(session, run_id, step="compensated", status=COMPENSATED, now=now, error=error)


async def running_for(session: AsyncSession, subject_id: str) -> list[WorkflowRun]:
    """Runs still working on ``subject_id`` (the money or stock they hold counts as taken)."""
    return list(
        await session.scalars(
            select(WorkflowRun)
            .where(WorkflowRun.subject_id == subject_id, WorkflowRun.status == RUNNING)
            .order_by(WorkflowRun.created_at, WorkflowRun.id)
        )
    )


async def sweep(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    now: datetime,
    stale_after: timedelta,
    limit: int = 100,
) -> int:
    """Hand every run idle for ``stale_after`` to its recoverer; returns how many were handled.

    Each run is claimed by bumping its ``updated_at`` under ``FOR UPDATE SKIP LOCKED``, so two
    processes sweeping at once never recover the same run at the same time."""
    handled = 0
    async with sessionmaker() as session, session.begin():
        runs = list(
            await session.scalars(
                select(WorkflowRun)
                .where(WorkflowRun.status == RUNNING, WorkflowRun.updated_at < now - stale_after)
                .order_by(WorkflowRun.updated_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        for run in runs:
            run.updated_at = now
        await session.flush()
        session.expunge_all()
    for run in runs:
        recoverer = _recoverers.get(run.name)
        if recoverer is None:
            log.error("no recoverer for workflow %s (run %s)", run.name, run.id)
            continue
        try:
            await recoverer(sessionmaker, run)
            handled += 1
        except Exception:
            log.exception("recovering workflow run %s (%s) failed; retried later", run.id, run.name)
            async with sessionmaker() as session, session.begin():
                await advance(session, run.id, step=run.step, now=now, status=RUNNING)
    return handled


FINAL_STATUSES = (SUCCEEDED, COMPENSATED, FAILED)

SWEEP_EVERY = timedelta(seconds=30)
STALE_AFTER = timedelta(seconds=60)
"""A run untouched this long is taken as interrupted: far longer than any step takes, the
payment provider's timeout included."""


async def keep_sweeping(
    sessionmaker: async_sessionmaker[AsyncSession], clock: Callable[[], datetime]
) -> None:
    """Sweep at start-up, then every :data:`SWEEP_EVERY`, until cancelled."""
    while True:
        try:
            await sweep(sessionmaker, now=clock(), stale_after=STALE_AFTER)
        except Exception:
            log.exception("workflow recovery sweep failed; retried at the next one")
        await asyncio.sleep(SWEEP_EVERY.total_seconds())
