"""The connection budget: the server must have room for every worker's pool at its fullest.

Each worker process keeps ``MERCATO_DB_POOL_SIZE`` connections and opens up to
``MERCATO_DB_MAX_OVERFLOW`` more under load. ``mercato serve`` refuses to start when the workers
could together need more than the server accepts, rather than failing requests with "too many
clients" at the first busy minute.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import asyncpg

from mercato.db.engine import plain_url
from mercato.settings import get_settings

# Connections kept free beside the server's reserved ones: migrations, the CLI (`mercato user
# create`, `seed`), psql, a maintenance job.
OTHER_CLIENTS = 5


@dataclass(frozen=True)
class ServerLimits:
    max_connections: int
    reserved: int  # superuser_reserved_connections (+ reserved_connections, PostgreSQL 16+)


def budget_error(
    *, workers: int, pool_size: int, max_overflow: int, server: ServerLimits
) -> str | None:
    """Why the workers' pools do not fit the server, or None when they do."""
    wanted = workers * (pool_size + max_overflow)
    room = server.max_connections - server.reserved - OTHER_CLIENTS
    if wanted <= room:
        return None
    return (
        f"error: {workers} worker(s) x (MERCATO_DB_POOL_SIZE {pool_size} + "
        f"MERCATO_DB_MAX_OVERFLOW {max_overflow}) = {wanted} database connections, but the "
        f"server has room for {room} (max_connections {server.max_connections} - "
        f"{server.reserved} reserved - {OTHER_CLIENTS} kept for migrations and the CLI); "
        "lower the pool settings or the workers, or raise max_connections"
    )


async def server_limits(url: str) -> ServerLimits:
    connection = await asyncpg.connect(plain_url(url))
    try:
        row = await connection.fetchrow(
            "SELECT current_setting('max_connections')::int,"
            " current_setting('superuser_reserved_connections')::int"
            " + coalesce(current_setting('reserved_connections', true), '0')::int"
        )
    finally:
        await connection.close()
    return ServerLimits(max_connections=row[0], reserved=row[1])


def check_connection_budget(url: str, workers: int) -> None:
    """Exit with a one-line message when ``workers`` pools could exceed the server's room."""
    settings = get_settings()
    error = budget_error(
        workers=workers,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        server=asyncio.run(server_limits(url)),
    )
    if error is not None:
        raise SystemExit(error)
