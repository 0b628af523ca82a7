"""``mercato`` commands run as a user runs them: separate processes, a server on a free port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

MERCATO = [sys.executable, "-m", "mercato.cli"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# The secrets every process on one DATABASE_URL must share (it refuses to start without them).
SHARED_SECRETS = {
    "MERCATO_JWT_SECRET": "test-secret-not-for-production-0123456789abcdef",
    "MERCATO_SECRET_KEY": "test-secret-key-not-for-production-0123456789",
}


def mercato_env(**settings: str | None) -> dict[str, str]:
    """This environment, with the shared secrets, and ``settings`` set (``None``: unset)."""
    env = {**SHARED_SECRETS, **os.environ}
    for name, value in settings.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def run_mercato(*args: str, env: dict[str, str], timeout: float = 120) -> str:
    """Run a ``mercato`` command to its end; its output, which must be a success."""
    done = subprocess.run(
        [*MERCATO, *args], env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done.stdout


class MercatoServer:
    """``mercato serve`` in a session of its own, as in a terminal of its own."""

    def __init__(self, env: dict[str, str], log_path: Path, *extra: str) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        with log_path.open("w") as log:
            self.process = subprocess.Popen(
                [*MERCATO, "serve", "--port", str(self.port), "--no-access-log", *extra],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self, limit: float = 90.0) -> None:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log()
            try:
                if httpx.get(f"{self.base_url}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"the server did not answer in {limit:.0f}s:\n{self.log()}")

    def interrupt(self) -> int:
        """Ctrl-C (SIGINT to the whole process group, workers too); the exit status."""
        os.killpg(self.process.pid, signal.SIGINT)
        return self.process.wait(timeout=60)

    def kill(self) -> None:
        """``kill -9`` of the server and its workers: no exit handler runs."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=60)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.kill()

    def log(self) -> str:
        return self.log_path.read_text()[-4000:]
