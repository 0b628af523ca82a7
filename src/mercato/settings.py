"""Runtime settings, read once from the environment."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DEFAULT_MAX_BODY_BYTES = 1024 * 1024


def _positive_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if not raw:
        return default
    if not raw.isdigit() or int(raw) == 0:
        raise ValueError(f"{name} must be a positive integer, not {raw!r}")
    return int(raw)


@dataclass(frozen=True)
class Settings:
    database_url: str | None
    data_dir: Path
    jwt_secret: str
    token_ttl_seconds: int
    enable_test_provider: bool
    max_body_bytes: int


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


@lru_cache
def get_settings() -> Settings:
    data_dir = Path(os.environ.get("MERCATO_DATA_DIR", ".mercato")).resolve()
    return Settings(
        database_url=os.environ.get("DATABASE_URL") or None,
        data_dir=data_dir,
        jwt_secret=os.environ.get("MERCATO_JWT_SECRET") or _persisted_secret(data_dir),
        token_ttl_seconds=int(os.environ.get("MERCATO_TOKEN_TTL_SECONDS", "86400")),
        enable_test_provider=os.environ.get("MERCATO_ENABLE_TEST_PROVIDER") == "1",
        max_body_bytes=_positive_int("MERCATO_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES),
    )
