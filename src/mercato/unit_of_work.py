"""The unit of work: one business transaction, committed once, its events dispatched after.

A command receives a :class:`UnitOfWork` and runs ``async with uow: ...; await uow.commit()``.
Inside, ``uow.session`` is the transaction's session; events are staged in the outbox of that
same transaction (``uow.emit`` for plain events, aggregates registered with ``uow.track`` have
their domain events collected at commit), so an event exists if and only if its transaction
committed. After the commit the events are dispatched to in-process subscribers. Leaving the
block without a commit rolls everything back. One unit of work runs one transaction; a workflow
that needs several opens a fresh one per step (:meth:`fresh`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Protocol, Self

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mercato.db.base import new_id
from mercato.domain.events import DomainEvent
from mercato.events.delivery import has_subscribers, wake_after_commit
from mercato.events.service import Staged, dispatch, emit_all
from mercato.settings import get_settings


class HasEvents(Protocol):
    """An aggregate that collects the domain events its operations raise."""

    events: list[DomainEvent]


class UnitOfWork:
    """A session in a transaction, the outbox of that transaction, dispatch after commit."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        clock: Callable[[], datetime] | None = None,
        ids: Callable[[str], str] = new_id,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.clock = clock or (lambda: datetime.now(UTC))
        self.ids = ids
        self._session: AsyncSession | None = None
        self._staged: list[Staged] = []
        self._tracked: list[HasEvents] = []
        self.committed_event_ids: list[str] = []

    def fresh(self) -> UnitOfWork:
        """Another unit of work on the same database, for the next step of a workflow."""
        return UnitOfWork(self.sessionmaker, clock=self.clock, ids=self.ids)

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("the unit of work is not open: use `async with uow:`")
        return self._session

    def now(self) -> datetime:
        return self.clock()

    async def __aenter__(self) -> Self:
        if self._session is not None:
            raise RuntimeError("a unit of work runs one transaction; use uow.fresh() for another")
        self._session = self.sessionmaker()
        await self._session.begin()
        self._staged, self._tracked = [], []
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session, self._session = self._session, None
        if session is None:
            return
        try:
            if session.in_transaction():
                await session.rollback()
        finally:
            await session.close()

    def emit(self, name: str, data: dict[str, Any], seller_id: str | None = None) -> None:
        """Stage an event for the outbox of this transaction; ``name`` is one of
        ``domain.events``' names (the one list of them: an unknown name is a ValueError).
        ``seller_id``: the one seller the event is about (vendor webhooks hear it), if any."""
        event = DomainEvent(name, data, seller_id)
        self._staged.append((event.name, event.data, event.seller_id))

    def track(self, aggregate: HasEvents) -> None:
        """Collect ``aggregate``'s domain events at commit."""
        if not any(a is aggregate for a in self._tracked):
            self._tracked.append(aggregate)

    async def flush(self) -> None:
        await self.session.flush()

    async def commit(self) -> list[str]:
        """Write the outbox, commit, then dispatch; returns the committed events' ids."""
        session = self.session
        events = list(self._staged)
        for aggregate in self._tracked:
            events += [(e.name, e.data, e.seller_id) for e in aggregate.events]
            aggregate.events.clear()
        self._staged = []
        ids = await emit_all(session, events) if events else []
        await session.commit()
        self.committed_event_ids = ids
        await dispatch(self.sessionmaker, ids)
        if ids and (has_subscribers() or get_settings().redis_url is not None):
            # With Redis every committed event waits for a worker's stream relay.
            wake_after_commit(self.sessionmaker)
        return ids

    async def rollback(self) -> None:
        await self.session.rollback()
