"""The embedded PostgreSQL (pgserver) Mercato runs on when ``DATABASE_URL`` is unset.

Every process on one data directory shares one server. pgserver keeps the list of processes
holding it (``get_server`` adds the calling one) and the last one to let go stops it: a process
lets go when it exits, or earlier with :func:`release` (the test suite does, when its session
ends). So ``mercato migrate`` stops the server it started, and ``mercato serve`` stops it on
Ctrl-C unless another ``mercato`` process (a uvicorn worker, a ``seed`` in another terminal)
still holds it.

A process killed before its exit handlers run (``kill -9``, a closed terminal) would stay on that
list and keep the server up for good: before letting go, a process drops the dead ones from it.
``make stop`` (``python -m mercato.db.embedded stop``) stops a server whoever still holds it.
"""

from __future__ import annotations

import atexit
import os
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import fasteners
import psutil

if TYPE_CHECKING:
    from pgserver import PostgresServer

_held: dict[Path, PostgresServer] = {}


def pg_directory(data_dir: Path) -> Path:
    """Where the embedded server of ``data_dir`` keeps its files."""
    return (data_dir / "pg").resolve()


def embedded_postgres_url(data_dir: Path) -> str:
    """Start (or join) the embedded PostgreSQL of ``data_dir`` and return its URL."""
    pg_dir = pg_directory(data_dir)
    if pg_dir not in _held:
        pg_dir.mkdir(parents=True, exist_ok=True)
        _held[pg_dir] = _pgserver().get_server(pg_dir, cleanup_mode="stop")
        # Registered after pgserver's own exit handler, so it runs first (atexit is LIFO).
        atexit.register(_let_go, pg_dir)
    return _held[pg_dir].get_uri()


def release() -> None:
    """Let go of every embedded server this process holds; the last holder stops each."""
    for pg_dir in list(_held):
        _let_go(pg_dir)


def is_running(pg_dir: Path) -> bool:
    """Whether a postmaster runs on ``pg_dir`` (the PID on the first line of PostgreSQL's
    ``postmaster.pid``)."""
    try:
        pid = int((pg_dir / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return False
    return psutil.pid_exists(pid)


def stop(pg_dir: Path) -> list[int] | None:
    """Stop the server on ``pg_dir`` whoever still holds it; ``None`` if none was running,
    else the live processes that still held it."""
    if not is_running(pg_dir):
        return None
    server = _pgserver().get_server(pg_dir, cleanup_mode="stop")
    with _holders_lock(server):
        others = [pid for pid in _live_holders(server) if pid != os.getpid()]
        server.global_process_id_list.put([os.getpid()])
    server.cleanup()  # this process is now the last holder: pgserver stops the server
    return others


def _let_go(pg_dir: Path) -> None:
    server = _held.pop(pg_dir, None)
    if server is None:
        return
    with _holders_lock(server):
        server.global_process_id_list.put(_live_holders(server))
    server.cleanup()  # stops the server if this process was its last holder


def _live_holders(server: PostgresServer) -> list[int]:
    return [pid for pid in server.global_process_id_list.get() if psutil.pid_exists(pid)]


def _holders_lock(server: PostgresServer) -> fasteners.InterProcessLock:
    """The inter-process lock pgserver changes its list of holders under."""
    return fasteners.InterProcessLock(server.lock_path)


def _pgserver():
    with warnings.catch_warnings():  # platformdirs complains about XDG_RUNTIME_DIR
        warnings.simplefilter("ignore")
        import pgserver  # imported lazily: only needed without DATABASE_URL

    return pgserver


def _stop_command(data_dirs: list[str]) -> None:
    """Stop the embedded servers of the given data directories (and of the data directories
    inside them: the tests' and the benchmark's)."""
    pg_dirs = set()
    for data_dir in map(Path, data_dirs):
        pg_dirs |= {pg_directory(data_dir), *(p.resolve() for p in data_dir.glob("*/pg"))}
    stopped = 0
    for pg_dir in sorted(pg_dirs):
        others = stop(pg_dir)
        if others is None:
            continue
        stopped += 1
        users = f" (it was still used by processes {', '.join(map(str, others))})" if others else ""
        print(f"Stopped the embedded PostgreSQL in {pg_dir}{users}.")
    if not stopped:
        print("No embedded PostgreSQL was running.")


if __name__ == "__main__":
    if sys.argv[1:2] != ["stop"] or len(sys.argv) < 3:
        sys.exit("usage: python -m mercato.db.embedded stop DATA_DIR...")
    _stop_command(sys.argv[2:])
