"""Keep-alive connections shared evenly by uvicorn's worker processes.

Workers share one listening socket, and an event loop accepts every pending connection it can
when the socket turns readable: eight clients connecting at once often all land on one worker of
two, or six on one (measured: 8/0 or 7/1 in 6 of 20 tries, 6/2 in 7). A keep-alive client — a
load generator, a reverse proxy's connection pool — then stays on that worker, which queues its
requests on one core while the other idles; p50 at 8 clients rose by a third (docs/benchmarks.md).

Here each worker records how many connections it holds in a small shared board (a memory-mapped
file that ``mercato serve`` creates for its workers), and a worker holding more than another
defers each accept by :data:`DEFER` seconds, so the less loaded worker takes the connection; if
that worker is busy, the deferring one accepts anyway. The event loop is uvicorn's (uvloop when
installed) with ``create_server(sock=...)`` replaced by :class:`BalancedListener`; uvicorn loads
it through its documented custom-loop option (``--loop mercato.http.serving:balanced_loop``).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import mmap
import os
import socket
from typing import Any

logger = logging.getLogger("mercato.serving")

BOARD_ENV = "MERCATO_ACCEPT_BOARD"
SLOTS = 64  # worker processes a board tracks (uvicorn may replace or add workers)
DEFER = 0.002  # seconds a busier worker leaves a pending connection to the others
REFRESH = 0.1  # seconds between updates of a worker's count (connections also close)
_CELL = 8  # one signed 64-bit integer
BOARD_SIZE = SLOTS * 2 * _CELL  # (pid, open connections) per slot


def create_board(path: str) -> None:
    """An empty board for the workers of one server (called by the supervisor)."""
    with open(path, "wb") as board:
        board.write(bytes(BOARD_SIZE))


class AcceptBoard:
    """Open connections per worker process: one (pid, count) slot each, in a shared file.

    A worker claims a free slot (or one whose process is gone) under a file lock and then writes
    only its own slot; aligned 8-byte stores are atomic, so readers see whole numbers."""

    def __init__(self, path: str) -> None:
        self._fd = os.open(path, os.O_RDWR)
        self._map = mmap.mmap(self._fd, BOARD_SIZE)
        self._cells = memoryview(self._map).cast("q")
        self.pid = os.getpid()
        self.slot = self._claim()

    def _claim(self) -> int:
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            for slot in range(SLOTS):
                owner = self._cells[2 * slot]
                if owner in (0, self.pid) or not _alive(owner):
                    self._cells[2 * slot + 1] = 0
                    self._cells[2 * slot] = self.pid
                    return slot
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        raise RuntimeError(f"more than {SLOTS} workers share one accept board")

    def publish(self, connections: int) -> None:
        self._cells[2 * self.slot + 1] = connections

    def others_hold_fewer(self, connections: int) -> bool:
        """Whether a live worker other than this one holds fewer connections."""
        cells = self._cells
        for slot in range(SLOTS):
            owner = cells[2 * slot]
            if owner and slot != self.slot and cells[2 * slot + 1] < connections and _alive(owner):
                return True
        return False

    def counts(self) -> dict[int, int]:
        """pid -> open connections, for every claimed slot (diagnostics and tests)."""
        cells = self._cells
        return {cells[2 * s]: cells[2 * s + 1] for s in range(SLOTS) if cells[2 * s]}

    def release(self) -> None:
        self._cells[2 * self.slot + 1] = 0
        self._cells[2 * self.slot] = 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process reusing the pid: not our worker
        return False
    return True


class BalancedListener:
    """Accepts connections on a listening socket shared with other workers, deferring to a less
    loaded worker; the transports it creates are counted on the board. Stands in for the
    ``asyncio.Server`` uvicorn keeps (``close``, ``wait_closed``)."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        sock: socket.socket,
        protocol_factory: Any,
        backlog: int = 100,
    ) -> None:
        sock.setblocking(False)
        sock.listen(backlog)  # as ``create_server`` does: the supervisor only bound it
        self._loop = loop
        self._sock = sock
        self._fd = sock.fileno()
        self._factory = protocol_factory
        self._board = AcceptBoard(os.environ[BOARD_ENV])
        self._transports: set[asyncio.BaseTransport] = set()
        self._reading = False
        self._tasks = [loop.create_task(self._accept()), loop.create_task(self._refresh())]

    def _open(self) -> int:
        closed = [t for t in self._transports if t.is_closing()]
        self._transports.difference_update(closed)
        return len(self._transports)

    async def _readable(self) -> None:
        waiter = self._loop.create_future()

        def ready() -> None:
            if not waiter.done():
                waiter.set_result(None)

        self._loop.add_reader(self._fd, ready)
        self._reading = True
        try:
            await waiter
        finally:
            self._stop_reading()

    def _stop_reading(self) -> None:
        if self._reading:
            self._reading = False
            self._loop.remove_reader(self._fd)

    async def _accept(self) -> None:
        while True:
            await self._readable()
            if self._board.others_hold_fewer(self._open()):
                await asyncio.sleep(DEFER)
            try:
                conn, _ = self._sock.accept()
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                continue  # another worker took it, or the client gave up first
            except OSError as exc:  # e.g. out of file descriptors: back off, keep serving
                logger.error("accept failed: %s", exc)
                await asyncio.sleep(0.1)
                continue
            conn.setblocking(False)
            try:
                transport, _ = await self._loop.connect_accepted_socket(self._factory, conn)
            except OSError as exc:  # the peer left before the transport was set up
                logger.debug("dropped an accepted connection: %s", exc)
                conn.close()
                continue
            self._transports.add(transport)
            self._board.publish(self._open())

    async def _refresh(self) -> None:
        while True:
            await asyncio.sleep(REFRESH)
            self._board.publish(self._open())

    def close(self) -> None:
        self._stop_reading()  # before uvicorn closes the socket
        for task in self._tasks:
            task.cancel()
        self._board.release()

    async def wait_closed(self) -> None:
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


class _Balanced:
    """``create_server(sock=...)`` on a board's worker returns a :class:`BalancedListener`."""

    async def create_server(self, protocol_factory: Any, *args: Any, **kwargs: Any) -> Any:
        sock = kwargs.get("sock")
        if sock is None or kwargs.get("ssl") or BOARD_ENV not in os.environ:
            return await super().create_server(protocol_factory, *args, **kwargs)  # type: ignore[misc]
        backlog = kwargs.get("backlog", 100)
        return BalancedListener(self, sock, protocol_factory, backlog)  # type: ignore[arg-type]


try:
    import uvloop

    class _BalancedLoop(_Balanced, uvloop.Loop):  # type: ignore[misc]
        pass

except ImportError:  # pragma: no cover - uvloop is a dependency of uvicorn[standard]

    class _BalancedLoop(_Balanced, asyncio.SelectorEventLoop):  # type: ignore[no-redef]
        pass


def balanced_loop() -> asyncio.AbstractEventLoop:
    """uvicorn's loop factory for workers sharing a board (``Config(loop=...)``)."""
    return _BalancedLoop()
