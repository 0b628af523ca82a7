"""Read sessions: what a ``GET`` request reads with.

A read runs outside any transaction (autocommit): under READ COMMITTED each statement takes its
own snapshot either way, and skipping ``BEGIN``/``ROLLBACK`` saves two round trips per request.

Most reads are driver statements (``query.driver``). A read session takes one connection from the
engine's pool for them, directly from the engine — without the session's transaction
bookkeeping, which cost more CPU than the read itself on small requests — and its ORM statements,
if any, join that same connection: one connection per request, from the process's one pool.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import Session


class ReadOnlySession(Session):
    """The synchronous session under a :class:`ReadSession`: flushing is a bug, and its
    statements run on the connection the read session took, once it has one."""

    read_connection: Connection | None = None

    def get_bind(self, mapper: Any = None, **kwargs: Any) -> Any:
        if self.read_connection is not None and kwargs.get("bind") is None:
            return self.read_connection
        return super().get_bind(mapper, **kwargs)

    def flush(self, objects=None) -> None:
        if not (self.new or self.dirty or self.deleted):
            return
        raise RuntimeError("a read-only (GET) session must not write")


class ReadSession(AsyncSession):
    """An autocommit session that refuses to write and reads on one pooled connection, taken on
    first use and given back on close."""

    sync_session: ReadOnlySession

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("sync_session_class", ReadOnlySession)
        super().__init__(*args, **kwargs)
        self.own_connection: AsyncConnection | None = None

    async def read_connection(self) -> AsyncConnection:
        """The connection this session reads on: the one its ORM statements already took, else
        one of its own from the engine's pool, which its later ORM statements join."""
        if self.own_connection is not None:
            return self.own_connection
        if self.sync_session.in_transaction():
            return await self.connection()
        connection = await self.bind.connect()
        self.own_connection = connection
        self.sync_session.read_connection = connection.sync_connection
        return connection

    async def close(self) -> None:
        try:
            sync = self.sync_session
            # Closing a session the ORM never used is a no-op that still costs a greenlet hop.
            if sync.in_transaction() or sync.identity_map or sync.new or sync.deleted:
                await super().close()
        finally:
            await self._give_back(invalidate=False)

    async def invalidate(self) -> None:
        """Also invalidates the session's own connection instead of giving it back for reuse."""
        try:
            await super().invalidate()
        finally:
            await self._give_back(invalidate=True)

    async def _give_back(self, *, invalidate: bool) -> None:
        connection, self.own_connection = self.own_connection, None
        self.sync_session.read_connection = None
        if connection is None:
            return
        if invalidate and not connection.invalidated:
            await connection.invalidate()
        await connection.close()
