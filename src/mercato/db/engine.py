"""Where the database lives: ``DATABASE_URL``, or an embedded PostgreSQL started with pgserver."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session

_embedded_servers: dict[Path, object] = {}


def embedded_postgres_url(data_dir: Path) -> str:
    """Start (or reuse) the embedded PostgreSQL in ``data_dir/pg`` and return its URL."""
    pg_dir = (data_dir / "pg").resolve()
    if pg_dir not in _embedded_servers:
        pg_dir.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():  # platformdirs complains about XDG_RUNTIME_DIR
            warnings.simplefilter("ignore")
            import pgserver  # imported lazily: only needed without DATABASE_URL

            _embedded_servers[pg_dir] = pgserver.get_server(pg_dir, cleanup_mode=None)
    return _embedded_servers[pg_dir].get_uri()  # type: ignore[attr-defined]


def asyncpg_url(url: str) -> str:
    """Normalise any postgres URL to the SQLAlchemy asyncpg dialect."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme="postgresql+asyncpg"))


def plain_url(url: str) -> str:
    """The libpq form (``postgresql://``) of a URL, as asyncpg.connect expects it."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme="postgresql"))


def with_database(url: str, database: str) -> str:
    """The same server URL pointing at another database."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + database))


def resolve_database_url(database_url: str | None, data_dir: Path) -> str:
    return asyncpg_url(database_url or embedded_postgres_url(data_dir))


# Planner settings of the API's sessions (docs/benchmarks.md). The API runs short, index-driven
# statements over a working set that lives in memory: random reads cost about what sequential
# ones do (the default 4.0 models spinning disks and made PostgreSQL hash-join 300,000 rows
# instead of probing 1,500), and parallel workers only add process start-up to millisecond
# queries while competing with other requests for the same cores.
SERVER_SETTINGS = {"random_page_cost": "1.1", "max_parallel_workers_per_gather": "0"}


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    return create_async_engine(
        asyncpg_url(url),
        pool_size=pool_size,
        max_overflow=20,
        pool_pre_ping=False,
        connect_args={"server_settings": dict(SERVER_SETTINGS)},
    )


def session_factory(engine: AsyncEngine, *, read_only: bool = False) -> async_sessionmaker:
    """Sessions on ``engine``; ``read_only`` ones run each statement in autocommit mode and refuse
    to flush, so a read path that tried to write fails loudly instead of writing unguarded."""
    if not read_only:
        return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
    return async_sessionmaker(
        engine.execution_options(isolation_level="AUTOCOMMIT"),
        expire_on_commit=False,
        autoflush=False,
        sync_session_class=ReadOnlySession,
    )


class ReadOnlySession(Session):
    """The synchronous session under a read-only ``AsyncSession``: flushing is a bug.

    Its driver statements (``query.driver``) run on a pool connection of their own, checked out
    on first use and returned when the session closes: an autocommit read needs no session
    transaction, and the session's own connection (SQLAlchemy's transaction, ``Connection`` and
    their events) cost 145-211 µs of CPU per request to open and close where this costs 57-60
    (docs/benchmarks.md)."""

    pooled: Any = None  # the driver's pool connection, once checked out

    def flush(self, objects=None) -> None:
        if not (self.new or self.dirty or self.deleted):
            return
        raise RuntimeError("a read-only (GET) session must not write")

    def close(self) -> None:
        self._release_pooled()
        super().close()

    def reset(self) -> None:
        self._release_pooled()
        super().reset()

    def invalidate(self) -> None:
        self._release_pooled(invalidate=True)
        super().invalidate()

    def _release_pooled(self, *, invalidate: bool = False) -> None:
        pooled, self.pooled = self.pooled, None
        if pooled is None:
            return
        if invalidate:
            pooled.invalidate()  # closed, and replaced in the pool
        else:
            pooled.close()  # back to the pool
