"""The pieces of the scale-out test (events-and-scale-out.md, "What a test on one machine must
show"): a fresh database on the machine's PostgreSQL, ``mercato serve`` and ``mercato worker``
processes, a loopback webhook receiver that verifies every signature, and a TCP proxy in front
of Redis that the test can cut off. Each piece cleans up after itself."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from standardwebhooks.webhooks import Webhook as Verifier
from standardwebhooks.webhooks import WebhookVerificationError

from mercato.db.engine import plain_url, with_database
from tests.api.processes import MERCATO, MercatoServer, mercato_env, run_mercato

# The machine's servers (the spec names them); overridable for another machine.
POSTGRES_URL = os.environ.get(
    "MERCATO_SCALE_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_HOST = os.environ.get("MERCATO_SCALE_REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(os.environ.get("MERCATO_SCALE_REDIS_PORT", "6379"))
# Extra arguments of every `mercato worker` the test starts, for checking by hand that the test
# fails when part of the delivery is off, e.g. MERCATO_SCALE_WORKER_ARGS="--only subscribers".
WORKER_ARGS = os.environ.get("MERCATO_SCALE_WORKER_ARGS", "").split()


# ----------------------------------------------------------------------------- reachability


async def postgres_unreachable() -> str | None:
    """Why the machine's PostgreSQL cannot be used, or None."""
    try:
        conn = await asyncpg.connect(plain_url(POSTGRES_URL), timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return f"PostgreSQL at {POSTGRES_URL} is unreachable: {exc!r}"
    await conn.close()
    return None


def redis_command(*args: str, host: str = REDIS_HOST, port: int = REDIS_PORT) -> Any:
    """One Redis command over a fresh connection (RESP, enough for PING, SCAN and DEL): the
    test needs no Redis client library of its own."""
    request = f"*{len(args)}\r\n" + "".join(f"${len(a.encode())}\r\n{a}\r\n" for a in args)
    with socket.create_connection((host, port), timeout=3) as conn:
        conn.sendall(request.encode())
        reader = conn.makefile("rb")
        return _resp(reader)


def _resp(reader: Any) -> Any:
    line = reader.readline().rstrip(b"\r\n")
    kind, rest = line[:1], line[1:]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        raise RuntimeError(rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        size = int(rest)
        return None if size < 0 else reader.read(size + 2)[:-2].decode()
    if kind == b"*":
        size = int(rest)
        return None if size < 0 else [_resp(reader) for _ in range(size)]
    raise RuntimeError(f"unexpected Redis reply {line!r}")


def redis_unreachable() -> str | None:
    try:
        answer = redis_command("PING")
    except (OSError, RuntimeError) as exc:
        return f"Redis at {REDIS_HOST}:{REDIS_PORT} is unreachable: {exc!r}"
    return None if answer == "PONG" else f"Redis at {REDIS_HOST}:{REDIS_PORT} answered {answer!r}"


def delete_redis_keys(prefix: str) -> int:
    """Delete the keys under ``prefix`` (never FLUSHALL: the server is shared)."""
    deleted, cursor = 0, "0"
    while True:
        cursor, keys = redis_command("SCAN", cursor, "MATCH", f"{prefix}*", "COUNT", "1000")
        if keys:
            deleted += redis_command("DEL", *keys)
        if cursor == "0":
            return deleted


# ----------------------------------------------------------------------------- database


class Database:
    """A database of its own on the machine's PostgreSQL, dropped by :meth:`drop`. The test's
    own queries share one small pool: the server is shared, its connections are counted."""

    def __init__(self) -> None:
        self.name = f"mercato_scale_{secrets.token_hex(4)}"
        self.url = with_database(POSTGRES_URL, self.name)
        self._pool: asyncpg.Pool | None = None

    async def create(self) -> None:
        conn = await asyncpg.connect(plain_url(POSTGRES_URL))
        try:
            await conn.execute(f'CREATE DATABASE "{self.name}"')
        finally:
            await conn.close()
        self._pool = await asyncpg.create_pool(plain_url(self.url), min_size=1, max_size=2)

    async def drop(self) -> None:
        if self._pool is not None:
            await self._pool.close()
        conn = await asyncpg.connect(plain_url(POSTGRES_URL))
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        finally:
            await conn.close()

    async def fetch(self, sql: str, *args: object) -> list[asyncpg.Record]:
        assert self._pool is not None, "the database is not created yet"
        return await self._pool.fetch(sql, *args)

    async def fetchval(self, sql: str, *args: object) -> Any:
        rows = await self.fetch(sql, *args)
        return rows[0][0] if rows else None


# ----------------------------------------------------------------------------- processes


def process_env(database_url: str, **extra: str | None) -> dict[str, str]:
    """What every process of the cluster shares: one database, one pair of secrets, webhooks on
    (loopback http targets allowed), short leases so a killed worker's work returns quickly."""
    settings: dict[str, str | None] = dict(
        DATABASE_URL=database_url,
        MERCATO_WORKER_MODE="server",
        MERCATO_JWT_SECRET=secrets.token_urlsafe(48),
        MERCATO_SECRET_KEY=secrets.token_urlsafe(48),
        MERCATO_ENABLE_TEST_PROVIDER="1",
        MERCATO_ENABLE_WEBHOOKS="1",
        MERCATO_WEBHOOK_ALLOW_PRIVATE_TARGETS="1",
        MERCATO_WEBHOOK_ALLOW_HTTP="1",
        MERCATO_LEASE_S="10",
        MERCATO_WEBHOOK_TIMEOUT_S="5",
        MERCATO_DB_POOL_SIZE=None,
        MERCATO_DB_MAX_OVERFLOW=None,
        MERCATO_DB_BUDGET_CHECK=None,
        REDIS_URL=None,
        MERCATO_REDIS_PREFIX=None,
    )
    return mercato_env(**{**settings, **extra})


def migrate(env: dict[str, str]) -> None:
    run_mercato("migrate", env=env)


def create_admin(env: dict[str, str], email: str, password: str) -> None:
    run_mercato("user", "create", "--email", email, "--password", password, env=env)


class Worker:
    """``mercato worker`` in a session of its own, so ``kill -9`` reaches all of it."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        worker_env = {**env, "MERCATO_WORKER_MODE": "worker"}
        with log_path.open("w") as log:
            self.process = subprocess.Popen(
                [*MERCATO, "worker", *WORKER_ARGS],
                env=worker_env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    async def wait_registered(self, db: Database, limit: float = 30.0) -> None:
        """Until the worker is in the process list (it starts relaying and delivering as it
        registers)."""
        deadline = time.monotonic() + limit
        while not await db.fetch("SELECT 1 FROM mercato_process WHERE pid = $1", self.pid):
            assert self.process.poll() is None, f"the worker exited:\n{self.log()}"
            assert time.monotonic() < deadline, f"no worker row in {limit:.0f}s:\n{self.log()}"
            await asyncio.sleep(0.1)

    def kill(self) -> None:
        """``kill -9``: no handler finishes, no lease is given back."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.kill()

    def log(self) -> str:
        return self.log_path.read_text()[-4000:]


@dataclass
class Refusal:
    """How a process that must not start ended."""

    returncode: int | None
    output: str


def start_expecting_refusal(env: dict[str, str], log_path: Path, limit: float = 60) -> Refusal:
    """``mercato serve`` that should exit by itself; killed (returncode None) once it serves."""
    server = MercatoServer(env, log_path)
    deadline = time.monotonic() + limit
    returncode: int | None = None
    try:
        while (returncode := server.process.poll()) is None and time.monotonic() < deadline:
            try:
                if httpx.get(f"{server.base_url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
    finally:
        server.stop()
    return Refusal(returncode, log_path.read_text())


# ----------------------------------------------------------------------------- webhook receiver


@dataclass
class Received:
    """One request to the receiver, verified on arrival."""

    path: str
    webhook_id: str
    body: bytes
    payload: dict[str, Any] | None
    problem: str | None  # why the signature or timestamp did not verify


@dataclass
class Receiver:
    """A loopback HTTP server standing for the endpoints: every request is verified with its
    path's secret (Standard Webhooks library, timestamp within 5 minutes) and recorded; each
    answer waits ``delay_s``, so the test can keep deliveries in flight."""

    secrets: dict[str, str] = field(default_factory=dict)  # path → whsec_ secret
    delay_s: float = 0.0
    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                declared = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(declared)
                if len(body) < declared:
                    # The sender died between its headers and its body (kill -9 of the
                    # worker): an aborted request, which no HTTP server would hand on.
                    return
                receiver._record(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                time.sleep(receiver.delay_s)
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a sender killed mid-request (kill -9 of the worker): nothing to report

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _record(self, path: str, headers: dict[str, str], body: bytes) -> None:
        payload, problem = None, None
        secret = self.secrets.get(path)
        if secret is None:
            problem = f"no endpoint at {path}"
        else:
            try:
                payload = Verifier(secret).verify(body, headers)
                sent_at = int(headers["webhook-timestamp"])
                if abs(datetime.now(UTC).timestamp() - sent_at) > 300:
                    problem = f"timestamp {sent_at} is more than 5 minutes off"
            except (WebhookVerificationError, KeyError, ValueError) as exc:
                problem = f"does not verify: {exc!r}"
        with self._lock:
            self.received.append(
                Received(path, headers.get("webhook-id", ""), body, payload, problem)
            )

    def of(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.path == path]

    def ids(self, path: str) -> set[str]:
        return {r.webhook_id for r in self.of(path)}

    def unique_count(self) -> int:
        with self._lock:
            return len({(r.path, r.webhook_id) for r in self.received})

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


# ----------------------------------------------------------------------------- Redis proxy


class TcpProxy:
    """A TCP proxy in front of Redis, in threads of its own: :meth:`cut` drops every connection
    and refuses new ones (the listening socket is closed) until :meth:`reopen`."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = 0
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self.reopen()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def reopen(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            doomed = list(self._sockets)
            self._sockets.clear()
        if listener is not None:
            _close(listener)
        for sock in doomed:
            _close(sock)

    def close(self) -> None:
        self.cut()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            try:
                server = socket.create_connection(self.upstream, timeout=3)
                server.settimeout(None)
            except OSError:
                _close(client)
                continue
            with self._lock:
                if self._listener is not listener:
                    _close(client)
                    _close(server)
                    return
                self._sockets.update((client, server))
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        for sock in (source, sink):
            _close(sock)
            with self._lock:
                self._sockets.discard(sock)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


# ----------------------------------------------------------------------------- the cluster


class Cluster:
    """A fresh database, two API processes (A, B) in ``server`` mode, one worker, the receiver,
    and for the Redis transport the proxy with a random key prefix. :meth:`close` undoes all."""

    def __init__(self, transport: str, logs: Path) -> None:
        self.transport = transport
        self.logs = logs
        self.db = Database()
        self.receiver = Receiver()
        self.proxy: TcpProxy | None = None
        self.prefix: str | None = None
        extra: dict[str, str | None] = {}
        if transport == "redis":
            self.proxy = TcpProxy((REDIS_HOST, REDIS_PORT))
            self.prefix = f"mercato_scale_{secrets.token_hex(4)}:"
            extra = {"REDIS_URL": self.proxy.url, "MERCATO_REDIS_PREFIX": self.prefix}
        self.env = process_env(self.db.url, **extra)
        self.apis: list[MercatoServer] = []
        self.workers: list[Worker] = []

    async def start(self, admin_email: str, password: str) -> None:
        """Migrate, create the admin (as an operator does, with the CLI), start A, B and a
        worker, and wait until all three are up."""
        await self.db.create()
        migrate(self.env)
        # Everything else starts at once: each process spends seconds importing.
        self.apis = [MercatoServer(self.env, self.logs / f"api-{n}.log") for n in "ab"]
        worker = self.start_worker()
        await asyncio.gather(
            asyncio.to_thread(create_admin, self.env, admin_email, password),
            *(asyncio.to_thread(api.wait_ready) for api in self.apis),
            worker.wait_registered(self.db),
        )

    def start_worker(self) -> Worker:
        worker = Worker(self.env, self.logs / f"worker-{len(self.workers) + 1}.log")
        self.workers.append(worker)
        return worker

    def start_refused(self, env: dict[str, str]) -> Refusal:
        """A further API process that must refuse to start (its log: ``api-refused.log``)."""
        return start_expecting_refusal(env, self.logs / "api-refused.log")

    @property
    def worker(self) -> Worker:
        return self.workers[-1]

    def logs_tail(self) -> str:
        """The last lines of every process's log, for a failure message."""
        parts = []
        for path in sorted(self.logs.glob("*.log")):
            parts.append(f"--- {path.name}\n{path.read_text()[-1500:]}")
        return "\n".join(parts)

    async def close(self) -> None:
        for worker in self.workers:
            worker.stop()
        for api in self.apis:
            api.stop()
        self.receiver.close()
        if self.proxy is not None:
            self.proxy.close()
        if self.prefix is not None:
            delete_redis_keys(self.prefix)
        await self.db.drop()
