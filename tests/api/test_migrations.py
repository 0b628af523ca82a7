"""The migrations build exactly the schema the models declare (nothing forgotten either way)."""

import asyncio
from urllib.parse import urlsplit

import asyncpg
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from mercato.db.engine import asyncpg_url, plain_url, with_database
from mercato.db.migrate import alembic_config
from mercato.db.models import Base


async def test_models_and_migrations_agree(engine):
    def diff(connection):
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)

    async with engine.connect() as connection:
        differences = await connection.run_sync(diff)
    # Trigram indexes exist only where pg_trgm is available (migration 0002); they are not models.
    differences = [
        d for d in differences if not (d[0] == "remove_index" and d[1].name.endswith("_trgm"))
    ]
    assert differences == []


async def test_0006_revokes_the_secret_keys_of_users_deleted_before_it(database_url):
    """A secret key dies with its creator; keys of users deleted earlier are revoked by 0006."""
    name = f"{urlsplit(database_url).path.lstrip('/')}_m0006"
    admin = await asyncpg.connect(plain_url(database_url))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = with_database(database_url, name)
        config = alembic_config(asyncpg_url(url))
        await asyncio.to_thread(command.upgrade, config, "0005")
        conn = await asyncpg.connect(plain_url(url))
        try:
            await conn.execute(
                """
                INSERT INTO "user" (id, email, deleted_at) VALUES
                  ('user_gone', 'gone@example.com', now()), ('user_here', 'here@example.com', NULL);
                INSERT INTO api_key (id, title, type, token_digest, redacted, created_by) VALUES
                  ('apk_1', 'ci', 'secret', 'd1', 'sk_1', 'user_gone'),
                  ('apk_2', 'pk', 'publishable', 'd2', 'pk_2', 'user_gone'),
                  ('apk_3', 'ci', 'secret', 'd3', 'sk_3', 'user_here');
                """
            )
            await asyncio.to_thread(command.upgrade, config, "head")
            rows = await conn.fetch("SELECT id, revoked_at IS NOT NULL AS revoked FROM api_key")
        finally:
            await conn.close()
        assert {r["id"]: r["revoked"] for r in rows} == {
            "apk_1": True,
            "apk_2": False,
            "apk_3": False,
        }
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
