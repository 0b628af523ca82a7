"""Test-wide settings: a private data directory and a fixed signing secret."""

import os
from pathlib import Path

import pytest

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
