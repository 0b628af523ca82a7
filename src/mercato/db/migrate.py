"""Apply Alembic migrations programmatically (``mercato migrate``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config

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
