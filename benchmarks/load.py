"""The read load generator and the CPU meter of ``python -m benchmarks run``.

Client, server and PostgreSQL share the machine's cores, so every millisecond of CPU the load
generator spends per request is taken from the server it measures. A general HTTP client
(httpx) builds and parses a whole request and response in Python; :class:`KeepAliveClient`
sends a prebuilt ``GET`` over a kept-alive HTTP/1.1 connection and parses only the status line,
``content-length`` (or chunked framing) and the body, a small fraction of that. :class:`CpuMeter` reports where the CPU went (client, server,
PostgreSQL) per request, which is what bounds throughput on a small machine.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path


class HTTPClientError(Exception):
    """The server closed the connection or sent something that is not an HTTP/1.1 response."""


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def request(self, payload: bytes) -> tuple[int, bytes]:
        self.writer.write(payload)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, _, header_block = head.partition(b"\r\n")
        parts = status_line.split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
            raise HTTPClientError(f"not an HTTP/1.x response: {status_line[:80]!r}")
        status = int(parts[1])
        length = None
        chunked = False
        for line in header_block.split(b"\r\n"):
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if chunked:
            return status, await self._read_chunked()
        if length is None:
            raise HTTPClientError("response without content-length on a kept-alive connection")
        return status, await self.reader.readexactly(length)

    async def _read_chunked(self) -> bytes:
        body = bytearray()
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";", 1)[0], 16)
            if size == 0:
                await self.reader.readuntil(b"\r\n")  # no trailers are sent
                return bytes(body)
            body += await self.reader.readexactly(size)
            await self.reader.readexactly(2)

    def close(self) -> None:
        self.writer.close()


class KeepAliveClient:
    """``GET`` requests over a pool of kept-alive loopback connections (one per worker)."""

    def __init__(self, host: str, port: int, headers: dict[str, str] | None = None) -> None:
        self.host = host
        self.port = port
        self._headers = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self._idle: list[_Connection] = []
        self._payloads: dict[str, bytes] = {}

    def _payload(self, path: str) -> bytes:
        payload = self._payloads.get(path)
        if payload is None:
            payload = (
                f"GET {path} HTTP/1.1\r\nhost: {self.host}:{self.port}\r\n{self._headers}\r\n"
            ).encode()
            self._payloads[path] = payload
        return payload

    async def get(self, path: str) -> tuple[int, bytes]:
        if self._idle:
            connection = self._idle.pop()
            try:
                return self._release(connection, await connection.request(self._payload(path)))
            except (OSError, asyncio.IncompleteReadError):
                # The server closes connections idle longer than its keep-alive timeout; like any
                # HTTP client, retry once on a new connection.
                connection.close()
        connection = await self._connect()
        try:
            return self._release(connection, await connection.request(self._payload(path)))
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as e:
            connection.close()
            raise HTTPClientError(str(e) or type(e).__name__) from e
        except BaseException:
            connection.close()
            raise

    def _release(self, connection: _Connection, result: tuple[int, bytes]) -> tuple[int, bytes]:
        self._idle.append(connection)
        return result

    async def _connect(self) -> _Connection:
        reader, writer = await asyncio.open_connection(self.host, self.port, limit=2**22)
        return _Connection(reader, writer)

    async def aclose(self) -> None:
        while self._idle:
            self._idle.pop().close()


# --------------------------------------------------------------------------- CPU accounting


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class CpuSample:
    """Cumulative CPU seconds of the client, the server processes and PostgreSQL."""

    client: float
    server: float
    postgres: float


def _process_table() -> dict[int, tuple[int, str, float]]:
    """pid → (ppid, command name, user + system CPU seconds, including reaped children)."""
    table: dict[int, tuple[int, str, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        # fields[0] is the state; utime, stime, cutime, cstime are fields 14-17 of stat(5).
        ticks = sum(int(value) for value in fields[11:15])
        table[int(entry.name)] = (int(fields[1]), name, ticks / _TICKS)
    return table


class CpuMeter:
    """Samples CPU time by role; PostgreSQL is every process named ``postgres`` on the host."""

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid

    def sample(self) -> CpuSample:
        table = _process_table()
        children: dict[int, list[int]] = {}
        for pid, (ppid, _, _) in table.items():
            children.setdefault(ppid, []).append(pid)
        server, stack = 0.0, [self.server_pid]
        while stack:
            pid = stack.pop()
            if pid in table:
                server += table[pid][2]
            stack.extend(children.get(pid, []))
        postgres = sum(cpu for _, name, cpu in table.values() if name == "postgres")
        client = table.get(os.getpid(), (0, "", 0.0))[2]
        return CpuSample(client=client, server=server, postgres=postgres)

    @staticmethod
    def per_request(before: CpuSample, after: CpuSample, requests: int) -> dict[str, float]:
        """Milliseconds of CPU per request spent by each role between two samples."""
        n = max(requests, 1)
        return {
            "client": (after.client - before.client) * 1000 / n,
            "server": (after.server - before.server) * 1000 / n,
            "postgres": (after.postgres - before.postgres) * 1000 / n,
        }
