"""Read sessions: what a ``GET`` request reads with.

A read runs outside any transaction (autocommit): under READ COMMITTED each statement takes its
own snapshot either way, and skipping ``BEGIN``/``ROLLBACK`` saves two round trips per request.

Most reads are driver statements (``query.driver``). For them a read session takes one connection
from the engine's pool directly (``Engine.connect``), without the session's transaction
bookkeeping, which cost more CPU than the read itself on small requests; its ORM statements, if
any, join that same connection. One connection per request, from the process's one pool, given
back when the session closes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session


class ReadOnlySession(Session):
    """The synchronous session under a :class:`ReadSession`: flushing is a bug, and once the
    read session has taken its connection (``read_connection``) every statement runs on it;
    closing the session gives it back."""

    read_connection: Connection | None = None

    def get_bind(self, mapper: Any = None, **kwargs: Any) -> Any:
        if self.read_connection is not None and kwargs.get("bind") is None:
            return self.read_connection
        return super().get_bind(mapper, **kwargs)

    def flush(self, objects: Sequence[Any] | None = None) -> None:
        if not (self.new or self.dirty or self.deleted):
            return
        raise RuntimeError("a read-only (GET) session must not write")

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.release_connection()

    def rollback(self) -> None:
        """Nothing to undo (the session never writes): end any ORM transaction and give the
        connection back, as after a command's failure."""
        try:
            super().rollback()
        finally:
            self.release_connection()

    def invalidate(self) -> None:
        try:
            super().invalidate()
        finally:
            self.release_connection(invalidate=True)

    def take_connection(self) -> Any:
        """The asyncpg connection to read on: the one the ORM statements already hold, else
        one of this session's own from the engine's pool."""
        if self.read_connection is None and self.in_transaction():
            return self.connection().connection.driver_connection
        if self.read_connection is None:
            self.read_connection = self.get_bind().connect()
        return self.read_connection.connection.driver_connection

    def release_connection(self, *, invalidate: bool = False) -> None:
        """Give the session's own connection back to the pool (``invalidate``: discard it)."""
        connection, self.read_connection = self.read_connection, None
        if connection is None:
            return
        if invalidate and not connection.invalidated:
            connection.invalidate()
        connection.close()


class ReadSession(AsyncSession):
    """An autocommit session that refuses to write and reads on one pooled connection, taken on
    first use and given back on close."""

    sync_session: ReadOnlySession

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("sync_session_class", ReadOnlySession)
        super().__init__(*args, **kwargs)

    async def asyncpg_connection(self) -> Any:
        """The asyncpg connection this session reads on (:meth:`ReadOnlySession.take_connection`,
        in one trip through SQLAlchemy's greenlet bridge)."""
        # run_sync types its callable for a plain Session; this one's is a ReadOnlySession.
        return await self.run_sync(ReadOnlySession.take_connection)  # type: ignore[arg-type]

    async def close(self) -> None:
        sync = self.sync_session
        if sync.in_transaction() or sync.identity_map or sync.new or sync.deleted:
            await super().close()  # gives the connection back too
        elif sync.read_connection is not None:
            # Only driver statements ran: nothing of the ORM's to close.
            await self.run_sync(ReadOnlySession.release_connection)  # type: ignore[arg-type]
