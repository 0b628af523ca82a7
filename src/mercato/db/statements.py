"""Watching the SQL statements an engine's connections run, whichever path runs them.

Statements run through SQLAlchemy reach its ``after_cursor_execute`` event (``handle_error``
when they fail). The driver statements of ``query.driver`` run on asyncpg directly and reach
asyncpg's query loggers instead, which a watch adds to each connection as the pool hands it out.
asyncpg logs its own traffic there too: transaction control (SQLAlchemy's ``BEGIN``/``COMMIT``
go through asyncpg's transactions), type look-ups for a type a connection meets for the first
time, and SQLAlchemy's ``executemany``; the watch reports each statement once and leaves that
traffic out, as SQLAlchemy's events do.

asyncpg calls its loggers soon after a statement, not during it: ``await watch.settled()``
before reading what a watch collected. Used by the tests' statement counters and the benchmark's
SQL capture.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine.interfaces import ExecuteStyle
from sqlalchemy.ext.asyncio import AsyncEngine

Listener = Callable[[str, Any], None]
"""Called with each statement's SQL and its parameters (a tuple; a list of them for
``executemany``)."""

_TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")
# asyncpg's type introspection reads pg_type (switching JIT off around it).
_ASYNCPG_OWN = ("pg_catalog.pg_type", "'jit'")


class StatementWatch:
    """Reports every statement ``engine``'s connections run to ``listener`` until closed.

    Start it before the engine hands out the connections to watch (connections already checked
    out are watched from their next checkout)."""

    def __init__(self, engine: AsyncEngine, listener: Listener) -> None:
        self._engine = engine.sync_engine
        self._listener = listener
        self._watched: weakref.WeakSet[Any] = weakref.WeakSet()
        event.listen(self._engine, "after_cursor_execute", self._executed)
        event.listen(self._engine, "handle_error", self._failed)
        event.listen(self._engine, "checkout", self._checked_out)

    async def settled(self) -> None:
        """Let asyncpg deliver what it has logged so far (its loggers run on the next turn of the
        event loop)."""
        await asyncio.sleep(0)

    def close(self) -> None:
        event.remove(self._engine, "after_cursor_execute", self._executed)
        event.remove(self._engine, "handle_error", self._failed)
        event.remove(self._engine, "checkout", self._checked_out)
        for connection in list(self._watched):
            connection.remove_query_logger(self._logged)
        self._watched.clear()

    def _checked_out(self, dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        connection = dbapi_connection.driver_connection
        if connection not in self._watched:
            connection.add_query_logger(self._logged)
            self._watched.add(connection)

    def _logged(self, record: Any) -> None:
        query = record.query
        if query.lstrip().upper().startswith(_TRANSACTION_CONTROL):
            return
        if any(marker in query for marker in _ASYNCPG_OWN):
            return
        self._listener(query, record.args)

    def _executed(
        self, _conn: Any, _cursor: Any, statement: str, parameters: Any, context: Any, _many: Any
    ) -> None:
        if not _logged_by_asyncpg(context):
            self._listener(statement, parameters)

    def _failed(self, context: Any) -> None:
        if context.statement is not None and not _logged_by_asyncpg(context.execution_context):
            self._listener(context.statement, context.parameters)


def _logged_by_asyncpg(context: Any) -> bool:
    """SQLAlchemy runs an ``executemany`` with asyncpg's own ``executemany``, which logs it
    (other statements it prepares and runs through prepared statements, which do not log)."""
    return context is not None and context.execute_style is ExecuteStyle.EXECUTEMANY
