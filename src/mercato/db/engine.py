"""Where the database lives: ``DATABASE_URL``, or an embedded PostgreSQL started with pgserver."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from mercato.db.embedded import embedded_postgres_url
from mercato.db.reads import ReadSession
from mercato.settings import get_settings


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


def create_engine(
    url: str, *, pool_size: int | None = None, max_overflow: int | None = None
) -> AsyncEngine:
    """The process's engine and its one connection pool, which reads and commands share: at most
    ``pool_size + max_overflow`` connections, the process's budget (default: an API process's,
    ``MERCATO_DB_POOL_SIZE`` or 20, and ``MERCATO_DB_MAX_OVERFLOW``)."""
    if pool_size is None or max_overflow is None:
        settings = get_settings()
        pool_size = settings.pool_size("api") if pool_size is None else pool_size
        max_overflow = settings.db_max_overflow if max_overflow is None else max_overflow
    return create_async_engine(
        asyncpg_url(url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=False,
        connect_args={"server_settings": dict(SERVER_SETTINGS)},
    )


def session_factory(
    engine: AsyncEngine, *, read_only: bool = False
) -> async_sessionmaker[AsyncSession]:
    """Sessions on ``engine``; ``read_only`` ones (:class:`~mercato.db.reads.ReadSession`) run each
    statement in autocommit mode on one connection of the engine's pool and refuse to flush, so a
    read path that tried to write fails loudly instead of writing unguarded."""
    if not read_only:
        return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
    return async_sessionmaker(
        engine.execution_options(isolation_level="AUTOCOMMIT"),
        class_=ReadSession,
        expire_on_commit=False,
        autoflush=False,
    )
