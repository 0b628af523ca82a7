"""``mercato bench``: a marketplace-scale dataset (``seed``) and the HTTP benchmark (``run``).

The benchmark database is a separate embedded PostgreSQL in ``MERCATO_DATA_DIR/bench`` unless a
``--database-url`` is given; it is always migrated before it is used.
"""

from __future__ import annotations

from mercato.db.engine import asyncpg_url, embedded_postgres_url, plain_url
from mercato.settings import get_settings


def bench_database_url(database_url: str | None = None) -> str:
    """The libpq URL (``postgresql://``) of the benchmark database, starting it if embedded."""
    if database_url:
        return plain_url(database_url)
    return plain_url(embedded_postgres_url(get_settings().data_dir / "bench"))


def migrate(url: str) -> None:
    from mercato.db.migrate import upgrade

    upgrade(asyncpg_url(url))
