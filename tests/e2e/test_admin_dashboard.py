"""The admin dashboard end to end (admin-dashboard.md §9): Medusa's dashboard, built by
``make admin``, driven in headless Chromium by ``admin/e2e/dashboard.mjs`` against a real
``mercato serve`` on a fresh database holding the demo seed and two three-seller checkouts.

Skipped, with the reason in the summary (``-rs``), only when Node >= 20.19 (with npm) or Chromium
(``MERCATO_CHROMIUM``, else ``chromium`` on ``PATH``) is missing. The database is a fresh one on
``MERCATO_TEST_DATABASE_URL``'s server, or on the embedded PostgreSQL without it. Screenshots and
the request log are left in ``.e2e-artifacts/``."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import asyncpg
import pytest

from mercato.db.embedded import embedded_postgres_url
from mercato.db.engine import plain_url, with_database
from mercato.settings import get_settings
from tests.api.processes import MercatoServer, mercato_env, run_mercato

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "admin" / "e2e" / "dashboard.mjs"
NODE_MINIMUM = (20, 19)
DATABASE = f"{os.environ.get('MERCATO_TEST_DATABASE_NAME', 'mercato_test')}_dashboard"

pytestmark = pytest.mark.slow  # builds the dashboard, starts mercato serve and a browser


def node_missing() -> str | None:
    """Why Node >= 20.19 with npm cannot be used, or None."""
    node = shutil.which("node")
    if node is None:
        return "Node >= 20.19 is not on PATH (make admin needs it)"
    version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    found = re.match(r"v(\d+)\.(\d+)", version)
    if found is None or (int(found[1]), int(found[2])) < NODE_MINIMUM:
        return f"Node {version or '?'} is older than 20.19 (make admin needs Vite 7's minimum)"
    if shutil.which("npm") is None:
        return "npm is not on PATH (make admin needs it)"
    return None


def chromium() -> tuple[str | None, str | None]:
    """Chromium's executable, or None and why it is missing."""
    given = os.environ.get("MERCATO_CHROMIUM")
    if given:
        if os.access(given, os.X_OK):
            return given, None
        return None, f"MERCATO_CHROMIUM={given} is not an executable"
    found = shutil.which("chromium")
    return (found, None) if found else (None, "no Chromium: set MERCATO_CHROMIUM or install it")


def fresh_database() -> str:
    """A new, empty database on the test server (``mercato migrate`` fills it); its URL."""
    server = os.environ.get("MERCATO_TEST_DATABASE_URL") or embedded_postgres_url(
        get_settings().data_dir
    )

    async def recreate() -> None:
        conn = await asyncpg.connect(plain_url(server))
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{DATABASE}"')
        finally:
            await conn.close()

    asyncio.run(recreate())
    return with_database(server, DATABASE)


def tail(text: str, size: int = 6000) -> str:
    return text if len(text) <= size else "…" + text[-size:]


def test_the_dashboard_runs_the_marketplace(tmp_path):
    missing = node_missing()
    browser, no_browser = chromium()
    if missing or no_browser:
        pytest.skip(missing or no_browser)

    started = time.monotonic()
    build = subprocess.run(["make", "admin"], cwd=REPO, capture_output=True, text=True, timeout=900)
    assert build.returncode == 0, f"make admin failed:\n{tail(build.stdout + build.stderr)}"
    built = time.monotonic()

    env = mercato_env(
        DATABASE_URL=fresh_database(),
        MERCATO_ADMIN_DIR=str(REPO / "admin" / "dist"),
        MERCATO_ENABLE_TEST_PROVIDER=None,
    )
    run_mercato("migrate", env=env)
    run_mercato("seed", "--demo", env=env)
    server = MercatoServer(env, tmp_path / "server.log")
    try:
        server.wait_ready()
        for _ in range(2):  # two groups of three seller orders
            run_mercato("demo", "checkout", "--base-url", server.base_url, env=env)
        seeded = time.monotonic()
        done = subprocess.run(
            ["node", str(SCRIPT), "--base-url", server.base_url],
            cwd=REPO,
            env={**env, "MERCATO_CHROMIUM": browser or ""},
            capture_output=True,
            text=True,
            timeout=300,
        )
        output = done.stdout + done.stderr
        print(output)
        print(
            f"make admin {built - started:.0f} s, seeding {seeded - built:.0f} s, "
            f"dashboard.mjs {time.monotonic() - seeded:.0f} s"
        )
        assert done.returncode == 0, (
            f"dashboard.mjs exited {done.returncode}:\n{tail(output)}\nserver log:\n{server.log()}"
        )
    finally:
        server.stop()
