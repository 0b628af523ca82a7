"""``mercato migrate`` says what it did: the migrations it applied, or that there were none."""

from __future__ import annotations

import subprocess

import pytest
from alembic import command
from alembic.script import ScriptDirectory

from mercato.db.engine import asyncpg_url
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
