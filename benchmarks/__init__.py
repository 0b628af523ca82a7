"""``python -m benchmarks``: a marketplace-scale dataset (``seed``), the HTTP benchmark (``run``)
and the checkout's bulk inserts measured two ways (``inserts``).

The benchmark database is a separate embedded PostgreSQL in ``MERCATO_DATA_DIR/bench`` unless a
``--database-url`` is given; it is always migrated before it is used.
"""

from __future__ import annotations

from mercato.db.embedded import embedded_postgres_url
from mercato.db.engine import asyncpg_url, plain_url, with_database
from mercato.settings import get_settings


def bench_database_url(database_url: str | None = None) -> str:
    """The libpq URL (``postgresql://``) of the benchmark database, starting it if embedded."""
    if database_url:
        return plain_url(database_url)
    return plain_url(embedded_postgres_url(get_settings().data_dir / "bench"))


def ensure_database(url: str) -> None:
    """Create the database ``url`` names when its server does not have it yet (a server given
    with ``--database-url``; the embedded one always has its database)."""
    import asyncio
    from urllib.parse import urlsplit

    import asyncpg

    async def run() -> None:
        try:
            conn = await asyncpg.connect(url)
        except asyncpg.InvalidCatalogNameError:
            name = urlsplit(url).path.lstrip("/")
            admin = await asyncpg.connect(with_database(url, "postgres"))
            try:
                await admin.execute('CREATE DATABASE "{}"'.format(name.replace('"', '""')))
            finally:
                await admin.close()
        else:
            await conn.close()

    asyncio.run(run())


def migrate(url: str) -> None:
    from mercato.db.migrate import upgrade

    upgrade(asyncpg_url(url))
