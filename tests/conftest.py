"""Test-wide settings: a private data directory and a fixed signing secret."""

import os
from pathlib import Path

os.environ.setdefault(
    "MERCATO_DATA_DIR", str(Path(__file__).resolve().parent.parent / ".mercato" / "test")
)
os.environ.setdefault("MERCATO_JWT_SECRET", "test-secret-not-for-production-0123456789abcdef")
os.environ.setdefault("MERCATO_ENABLE_TEST_PROVIDER", "1")
