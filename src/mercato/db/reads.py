"""Read sessions: what a ``GET`` request reads with.

A read runs outside any transaction (autocommit): under READ COMMITTED each statement takes its
own snapshot either way, and skipping ``BEGIN``/``ROLLBACK`` saves two round trips per request.

Most reads are driver statements (``query.driver``). They run on a connection of an asyncpg
pool kept beside the engine's (:class:`ReadPool`) instead of one taken from SQLAlchemy's pool
and given back through its greenlet bridge, reset and events: opening a read session, taking its
connection, one ``SELECT 1`` and closing cost 235-284 µs of CPU that way and 163-188 µs this way
(docs/benchmarks.md). The ORM still works in a read session, on the engine's own pool.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.util import await_only


class ReadPool:
    """The asyncpg pool of one engine's read sessions, opened on first use (in the event loop
    that serves) and closed when the engine is disposed.

    Its connections have the engine's server settings and decode ``json``/``jsonb`` as the
    engine's do. Giving one back costs no round trip: asyncpg's default reset is a statement
    (``RESET ALL``, ``UNLISTEN *``, ...) undoing session state that autocommit reads never
    create; an open transaction, the one thing a failed read could leave, is still rolled
    back."""

    def __init__(
        self, engine: AsyncEngine, *, max_size: int, server_settings: dict[str, str]
    ) -> None:
        self._url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._server_settings = dict(server_settings)
        self.max_size = max_size
        self._pool: asyncpg.Pool | None = None
        self._opening: asyncio.Lock | None = None
        event.listen(engine.sync_engine, "engine_disposed", self._on_engine_disposed)

    async def acquire(self) -> asyncpg.Connection:
        pool = self._pool or await self._open()
        return await pool.acquire()

    async def release(self, connection: asyncpg.Connection) -> None:
        assert self._pool is not None
        await self._pool.release(connection)

    def in_use(self) -> int:
        """Connections handed out and not given back."""
        return 0 if self._pool is None else self._pool.get_size() - self._pool.get_idle_size()

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    async def _open(self) -> asyncpg.Pool:
        self._opening = self._opening or asyncio.Lock()
        async with self._opening:
            if self._pool is None:
                self._pool = await asyncpg.create_pool(
                    self._url,
                    min_size=0,
                    max_size=self.max_size,
                    server_settings=self._server_settings,
                    init=_decode_json,
                    reset=_nothing_to_reset,
                )
        return self._pool

    def _on_engine_disposed(self, _engine: Any) -> None:
        # ``AsyncEngine.dispose`` runs this inside its greenlet: the pool can be awaited.
        await_only(self.close())


async def _decode_json(connection: asyncpg.Connection) -> None:
    for name in ("json", "jsonb"):
        await connection.set_type_codec(
            name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )


async def _nothing_to_reset(_connection: asyncpg.Connection) -> None:
    return None


class ReadOnlySession(Session):
    """The synchronous session under a :class:`ReadSession`: flushing is a bug."""

    def flush(self, objects=None) -> None:
        if not (self.new or self.dirty or self.deleted):
            return
        raise RuntimeError("a read-only (GET) session must not write")


class ReadSession(AsyncSession):
    """An autocommit session that refuses to write, whose driver statements run on a
    connection of the :class:`ReadPool`, taken on first use and given back on close."""

    def __init__(self, *args: Any, read_pool: ReadPool, **kwargs: Any) -> None:
        kwargs.setdefault("sync_session_class", ReadOnlySession)
        super().__init__(*args, **kwargs)
        self.read_pool = read_pool
        self._driver: asyncpg.Connection | None = None

    async def driver_connection(self) -> asyncpg.Connection:
        if self._driver is None:
            self._driver = await self.read_pool.acquire()
        return self._driver

    async def close(self) -> None:
        try:
            await self._release_driver()
        finally:
            sync = self.sync_session
            # Closing a session the ORM never used is a no-op that still costs a greenlet hop.
            if sync.in_transaction() or sync.identity_map or sync.new or sync.deleted:
                await super().close()

    async def invalidate(self) -> None:
        """Also closes the driver connection instead of giving it back for reuse."""
        if self._driver is not None:
            self._driver.terminate()
        await self._release_driver()
        await super().invalidate()

    async def _release_driver(self) -> None:
        driver, self._driver = self._driver, None
        if driver is not None:
            await self.read_pool.release(driver)
