"""The embedded PostgreSQL lives as long as the ``mercato`` processes using it.

Each test runs ``mercato`` commands as a user does, without ``DATABASE_URL``, on a data directory of
this module's (a new embedded server; the one the suite runs on is not touched).
"""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest

from mercato.db.embedded import is_running, stop
from tests.api.processes import MercatoServer, mercato_env, run_mercato

pytestmark = [
    pytest.mark.skipif(
        bool(os.environ.get("MERCATO_TEST_DATABASE_URL")),
        reason="the embedded server's life is tested in the run on the embedded server",
    ),
    pytest.mark.slow,  # starts embedded PostgreSQL servers and mercato processes
]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("embedded")
    yield data_dir
    stop(data_dir / "pg")  # whatever a failing test left running


@pytest.fixture
def env(data_dir):
    return mercato_env(DATABASE_URL=None, MERCATO_DATA_DIR=str(data_dir))


def test_make_run_steps_share_the_server_and_ctrl_c_stops_it(data_dir, env, tmp_path):
    pg_dir = data_dir / "pg"
    # make run: each step starts the server; the one-shot commands stop it as they exit.
    assert "Applied" in run_mercato("migrate", env=env)
    assert not is_running(pg_dir)  # it kept running after every command before
    assert "Created the demo marketplace" in run_mercato("seed", "--demo", env=env)
    assert not is_running(pg_dir)

    server = MercatoServer(env, tmp_path / "server.log", "--workers", "2")
    try:
        server.wait_ready()
        # A command in another terminal joins the server and leaves it running as it exits.
        output = run_mercato("seed", "--demo", env=env)
        assert "already seeded" in output
        key = next(line.split()[2] for line in output.splitlines() if "Publishable key" in line)
        for _ in range(6):  # new connections: both workers answer from the database
            response = httpx.get(
                f"{server.base_url}/store/regions", headers={"x-publishable-api-key": key}
            )
            assert response.status_code == 200, response.text
        assert is_running(pg_dir)
        assert server.interrupt() == 0, server.log()
    finally:
        server.stop()
    assert not is_running(pg_dir), server.log()


def test_a_killed_server_leaves_it_to_the_next_command_or_make_stop(data_dir, env, tmp_path):
    pg_dir = data_dir / "pg"
    for after_kill in ("next command", "make stop"):
        server = MercatoServer(env, tmp_path / "server.log")
        try:
            server.wait_ready()
        finally:
            server.kill()
        assert is_running(pg_dir)  # no exit handler ran
        if after_kill == "next command":
            # The dead server stays on pgserver's list of holders; the next command drops it.
            run_mercato("migrate", env=env)
        else:
            done = subprocess.run(
                [sys.executable, "-m", "mercato.db.embedded", "stop", str(data_dir)],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert done.returncode == 0, done.stderr
            assert done.stdout == f"Stopped the embedded PostgreSQL in {pg_dir.resolve()}.\n"
        assert not is_running(pg_dir), after_kill
