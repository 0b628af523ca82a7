"""Apply Alembic migrations programmatically (``mercato migrate``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import asyncpg
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["url"] = url
    return config


@dataclass(frozen=True)
class Upgrade:
    applied: list[str]  # the revisions this run applied, oldest first
    revision: str | None  # the database's revision afterwards

    def summary(self) -> str:
        if not self.applied:
            return f"Database already up to date (revision {self.revision})."
        count = len(self.applied)
        plural = "s" if count > 1 else ""
        return f"Applied {count} migration{plural}; database at revision {self.revision}."


def upgrade(url: str) -> Upgrade:
    """Bring the database at ``url`` to the newest schema (idempotent). Runs its own event loop."""
    config = alembic_config(url)
    command.upgrade(config, "head")
    return Upgrade(config.attributes["applied"], config.attributes["revision"])


def autogenerate(url: str, message: str) -> None:
    command.revision(alembic_config(url), message=message, autogenerate=True)


def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config(""))


async def schema_behind(url: str) -> str | None:
    """Why a process of this release must not start on the database at ``url`` — its schema is
    older than the code — or None. A schema *newer* than the code (a later release migrated
    during a rolling deploy) is accepted: migrations only add what older code ignores.
    ``url``: a libpq ``postgresql://`` URL."""
    scripts = _scripts()
    head = scripts.get_current_head()
    connection = await asyncpg.connect(url)
    try:
        exists = await connection.fetchval("SELECT to_regclass('alembic_version') IS NOT NULL")
        current = (
            await connection.fetchval("SELECT version_num FROM alembic_version") if exists else None
        )
    finally:
        await connection.close()
    known = {script.revision for script in scripts.walk_revisions()}
    if current == head or (current is not None and current not in known):
        return None
    return (
        f"error: the database schema is at revision {current or 'none'}, older than this "
        f"release's {head}; run mercato migrate first"
    )
