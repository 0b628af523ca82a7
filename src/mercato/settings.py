"""Runtime settings, read once from the environment."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    database_url: str | None
    data_dir: Path
    jwt_secret: str
    token_ttl_seconds: int
    enable_test_provider: bool
    # Each process's database connections: the pool it keeps, and how many more it may open
    # under load (``mercato serve`` checks workers × both against the server, ``db/budget.py``).
    db_pool_size: int = 10
    db_max_overflow: int = 10


def _persisted_secret(data_dir: Path) -> str:
    """A random signing secret, generated on first run and kept in the data directory."""
    path = data_dir / "jwt-secret"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    path.write_text(secret)
    path.chmod(0o600)
    return secret


def _whole_number(name: str, default: int, *, least: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = least - 1
    if value < least:
        raise ValueError(f"{name} must be a whole number of at least {least}, not {raw!r}")
    return value


@lru_cache
def get_settings() -> Settings:
    data_dir = Path(os.environ.get("MERCATO_DATA_DIR", ".mercato")).resolve()
    return Settings(
        database_url=os.environ.get("DATABASE_URL") or None,
        data_dir=data_dir,
        jwt_secret=os.environ.get("MERCATO_JWT_SECRET") or _persisted_secret(data_dir),
        token_ttl_seconds=int(os.environ.get("MERCATO_TOKEN_TTL_SECONDS", "86400")),
        enable_test_provider=os.environ.get("MERCATO_ENABLE_TEST_PROVIDER") == "1",
        db_pool_size=_whole_number("MERCATO_DB_POOL_SIZE", 10, least=1),
        db_max_overflow=_whole_number("MERCATO_DB_MAX_OVERFLOW", 10, least=0),
    )
