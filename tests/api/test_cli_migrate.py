"""``mercato migrate`` says what it did: the migrations it applied, or that there were none."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.script import ScriptDirectory

from mercato.db.engine import asyncpg_url
from mercato.db.migrate import alembic_config, upgrade
from tests.api.processes import mercato_env, run_mercato

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
