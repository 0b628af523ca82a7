"""Test-wide settings (a private data directory, a fixed signing secret) and the fixtures that need
no database."""

import os
from pathlib import Path

import pytest
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from mercato.auth import passwords
from mercato.db import embedded

os.environ.setdefault(
    "MERCATO_DATA_DIR", str(Path(__file__).resolve().parent.parent / ".mercato" / "test")
)
os.environ.setdefault("MERCATO_JWT_SECRET", "test-secret-not-for-production-0123456789abcdef")
os.environ.setdefault("MERCATO_ENABLE_TEST_PROVIDER", "1")


@pytest.fixture(scope="session", autouse=True)
def _stop_the_embedded_postgres_after_the_run():
    """The embedded PostgreSQL the suite started stops when the session ends (unless another
    process, e.g. a ``mercato serve`` in a terminal, still uses it)."""
    yield
    embedded.release()


@pytest.fixture
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2id with minimal cost: hashes stay real Argon2id but take ~1 ms instead of ~100 ms."""
    cheap = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))
    monkeypatch.setattr(passwords, "_hasher", cheap)
