"""Alembic environment: runs migrations over the async engine Mercato uses."""

import asyncio

from alembic import context
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import create_async_engine

from mercato.db.models import Base

config = context.config
MIGRATE_LOCK = 0x6D657263_6D696772  # "mercmigr": the advisory lock key of `mercato migrate`
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    """Migrate, recording what was applied and the revision reached (``mercato migrate`` says)."""
    applied = config.attributes.setdefault("applied", [])
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        on_version_apply=lambda ctx, step, heads, run_args: applied.append(step.up_revision_id),
    )
    with context.begin_transaction():
        # Two deploys migrating at once: the second waits here, then finds nothing due.
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATE_LOCK})
        context.run_migrations()
        config.attributes["revision"] = context.get_context().get_current_revision()


async def _run_async() -> None:
    engine = create_async_engine(config.attributes["url"])
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("Offline migrations are not supported; run `mercato migrate`.")
asyncio.run(_run_async())
