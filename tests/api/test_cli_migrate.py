"""``mercato migrate`` says what it did: the migrations it applied, or that there were none."""

from __future__ import annotations

import asyncio
import subprocess

import asyncpg
import pytest
from alembic import command
from alembic.script import ScriptDirectory

from mercato.db.engine import asyncpg_url, plain_url
from mercato.db.migrate import alembic_config, upgrade
from tests.api.processes import MERCATO, mercato_env, run_mercato

pytestmark = pytest.mark.slow  # runs mercato migrate processes


def test_migrate_says_how_many_migrations_it_applied_then_that_none_were_due(make_database):
    url = make_database("migrate", migrated=False)
    env = mercato_env(DATABASE_URL=url)
    scripts = ScriptDirectory.from_config(alembic_config(asyncpg_url(url)))
    head = scripts.get_current_head()
    count = len(list(scripts.walk_revisions()))

    # Before, both runs said "Database is up to date."
    assert run_mercato("migrate", env=env) == (
        f"Applied {count} migrations; database at revision {head}.\n"
    )
    assert run_mercato("migrate", env=env) == f"Database already up to date (revision {head}).\n"


def test_migrate_from_the_previous_revision_applies_one(make_database):
    url = make_database("migrate_one", migrated=False)
    config = alembic_config(asyncpg_url(url))
    head = ScriptDirectory.from_config(config).get_revision("head")
    command.upgrade(config, head.down_revision)

    result = upgrade(asyncpg_url(url))
    assert result.applied == [head.revision]
    assert result.summary() == f"Applied 1 migration; database at revision {head.revision}."


def test_servers_and_workers_refuse_a_schema_older_than_their_code(make_database):
    url = make_database("migrate_behind", migrated=False)
    config = alembic_config(asyncpg_url(url))
    head = ScriptDirectory.from_config(config).get_revision("head")
    command.upgrade(config, head.down_revision)
    env = mercato_env(
        DATABASE_URL=url,
        MERCATO_JWT_SECRET="a-shared-secret-for-every-process",
        MERCATO_SECRET_KEY="a-shared-key-for-every-process",
    )
    expected = (
        f"error: the database schema is at revision {head.down_revision}, older than this "
        f"release's {head.revision}; run mercato migrate first\n"
    )
    for command_line in (["serve", "--port", "1"], ["worker"]):
        done = subprocess.run(
            [*MERCATO, *command_line], env=env, capture_output=True, text=True, timeout=120
        )
        assert (done.returncode, done.stderr) == (1, expected), command_line


def test_concurrent_migrations_apply_each_revision_once(make_database):
    """Two deploys at once: the advisory lock makes the second wait, then find nothing due."""
    url = make_database("migrate_twice", migrated=False)
    env = mercato_env(DATABASE_URL=url)
    runs = [
        subprocess.Popen(
            [*MERCATO, "migrate"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = sorted(run.communicate(timeout=180)[0] for run in runs)
    assert [run.returncode for run in runs] == [0, 0], outputs
    head = ScriptDirectory.from_config(alembic_config(asyncpg_url(url))).get_current_head()
    assert outputs[0].startswith("Applied ") and outputs[1] == (
        f"Database already up to date (revision {head}).\n"
    )


def _stores(url: str) -> list[tuple[str, list[str]]]:
    async def read() -> list[tuple[str, list[str]]]:
        conn = await asyncpg.connect(plain_url(url))
        try:
            rows = await conn.fetch(
                "SELECT s.name, array_remove(array_agg(c.currency_code ORDER BY c.is_default"
                " DESC, c.currency_code), NULL) AS codes FROM store s"
                " LEFT JOIN store_currency c ON c.store_id = s.id GROUP BY s.id"
            )
        finally:
            await conn.close()
        return [(row["name"], list(row["codes"])) for row in rows]

    return asyncio.run(read())


def test_migrate_creates_the_store_once_with_the_regions_currencies(make_database):
    """admin-dashboard.md §3: the store exists after every ``mercato migrate``, created when
    missing (with the currencies of the regions there are, the oldest's the default)."""
    url = make_database("migrate_store", migrated=False)
    env = mercato_env(DATABASE_URL=url)
    run_mercato("migrate", env=env)
    assert _stores(url) == [("Mercato", [])]
    run_mercato("migrate", env=env)
    assert _stores(url) == [("Mercato", [])]

    async def replace_store() -> None:
        conn = await asyncpg.connect(plain_url(url))
        try:
            await conn.execute("DELETE FROM store")
            await conn.execute(
                "INSERT INTO region (id, name, currency_code, countries, tax_rate,"
                " tax_inclusive, payment_providers, created_at, updated_at) VALUES"
                " ('reg_2', 'B', 'usd', '{}', 0, false, '{}', now(), now()),"
                " ('reg_1', 'A', 'eur', '{}', 0, false, '{}', now() - interval '1 day', now())"
            )
        finally:
            await conn.close()

    asyncio.run(replace_store())
    run_mercato("migrate", env=env)
    assert _stores(url) == [("Mercato", ["eur", "usd"])]
