"""``mercato serve``: uvicorn's worker processes answer, every connection with TCP_NODELAY.

The server is a real ``mercato serve`` subprocess on a free loopback port. Its side of each
connection is found through Linux ``/proc`` and its socket option read with ``pidfd_getfd``
(a duplicate of the server's file descriptor), so nothing in the product exists for the test.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import socket
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux /proc"),
    pytest.mark.slow,  # starts mercato serve processes
]

_SYS_PIDFD_GETFD = 438  # the same number on every Linux architecture
_REQUEST = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _server_sockets(port: int, pids: list[int]) -> dict[int, tuple[int, int]]:
    """Established server-side connections on ``port``: client port -> (pid, fd) holding it."""
    inode_to_client: dict[str, int] = {}
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].split(":")[1], 16)
        if local_port == port and fields[3] == "01":  # ESTABLISHED
            inode_to_client[fields[9]] = int(fields[2].split(":")[1], 16)
    held: dict[int, tuple[int, int]] = {}
    for pid in pids:
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                link = os.readlink(fd)
            except OSError:
                continue
            if link.startswith("socket:[") and link[8:-1] in inode_to_client:
                held[inode_to_client[link[8:-1]]] = (pid, int(fd.name))
    return held


def _nodelay(pid: int, fd: int) -> int:
    """TCP_NODELAY of process ``pid``'s socket ``fd``, read on a duplicate of it."""
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = os.pidfd_open(pid)
    try:
        duplicate = libc.syscall(_SYS_PIDFD_GETFD, pidfd, fd, 0)
        if duplicate < 0:
            error = ctypes.get_errno()
            pytest.skip(f"pidfd_getfd is not available here: {os.strerror(error)}")
        with socket.socket(fileno=duplicate) as sock:
            return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        os.close(pidfd)


def _answered(port: int) -> tuple[socket.socket, int]:
    """A new keep-alive connection that got a 200 from ``/health``, and its client port."""
    client = socket.create_connection(("127.0.0.1", port))
    client.sendall(_REQUEST)
    response = client.makefile("rb")
    status = response.readline()
    headers = dict(
        line.decode().lower().rstrip().split(": ", 1) for line in iter(response.readline, b"\r\n")
    )
    body = response.read(int(headers["content-length"]))
    response.close()  # the connection stays open: ``client`` still holds it
    assert status.startswith(b"HTTP/1.1 200") and body == b'{"status":"ok"}', (status, body)
    return client, client.getsockname()[1]


def _log_count(log: Path, line: str) -> int:
    return log.read_text().count(line)


async def _started(log: Path, workers: int) -> None:
    """Wait until each worker has started its application (``wait_ready`` needs only one)."""
    for _ in range(600):
        if _log_count(log, "Application startup complete") == workers:
            return
        await asyncio.sleep(0.1)
    pytest.fail(f"fewer than {workers} workers started")


@pytest.mark.parametrize("workers", [1, 2])
async def test_serve_answers_from_each_worker_with_nodelay(database_url, tmp_path, workers):
    from benchmarks.run import Server

    port = _free_port()
    server = Server(database_url, port, workers, tmp_path / "server.log")
    connections: list[socket.socket] = []
    try:
        await server.wait_ready()
        await _started(tmp_path / "server.log", workers)
        answered_by: dict[int, int] = {}  # client port -> the pid holding the server's side
        # Each worker takes some of many connections opened one after another.
        for _ in range(400):
            client, client_port = _answered(port)
            connections.append(client)
            held = _server_sockets(port, server.pids())
            pid, fd = held[client_port]
            answered_by[client_port] = pid
            assert _nodelay(pid, fd) == 1, f"no TCP_NODELAY on worker {pid}'s connection"
            if len(set(answered_by.values())) == workers and len(connections) >= 4:
                break
        assert len(set(answered_by.values())) == workers, answered_by
        assert all(pid != server.process.pid or workers == 1 for pid in answered_by.values())
    finally:
        for connection in connections:
            connection.close()
        server.stop()  # SIGTERM: uvicorn's graceful shutdown
    log = tmp_path / "server.log"
    # uvicorn ends by the signal that stopped it (its own worker supervisor exits with 0).
    assert server.process.returncode in (0, -signal.SIGTERM), server.process.returncode
    assert _log_count(log, "Application shutdown complete") == workers
