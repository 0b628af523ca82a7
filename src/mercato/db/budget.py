"""The connection budget (events-and-scale-out.md): every process reserves what it may hold.

A process may hold ``MERCATO_DB_POOL_SIZE`` (+ ``MERCATO_DB_MAX_OVERFLOW``) connections: its
budget. At start-up, ``mercato serve`` (``--workers N``: N budgets, one row) and
``mercato worker`` register in ``mercato_process``, in one transaction under a fixed advisory
lock, so two processes starting at once cannot both take the last room: the budgets of the live
processes (a heartbeat within 30 s, by PostgreSQL's clock) and this one's must fit the server's
``max_connections`` less its reserved connections, or the process refuses to start with exit
code 78 (``EX_CONFIG``) rather than failing requests with "too many clients" at the first busy
minute. The registered id reaches the uvicorn worker processes through the environment
(:data:`PROCESS_ID_ENV`): they heartbeat that row, the command deletes it as it exits.
"""

from __future__ import annotations

import os
import socket
import sys
from dataclasses import dataclass

import asyncpg

from mercato.db.base import new_id
from mercato.db.engine import plain_url

# The advisory lock every registration takes (b"mercato\x01" as a bigint).
BUDGET_LOCK_KEY = int.from_bytes(b"mercato\x01", "big")
EXIT_BUDGET_EXCEEDED = 78  # EX_CONFIG, sysexits.h
SILENT_AFTER_S = 30.0
# How ``mercato serve`` hands its registration to the app in each uvicorn worker process.
PROCESS_ID_ENV = "MERCATO_PROCESS_ID"
PROCESS_BUDGET_ENV = "MERCATO_PROCESS_BUDGET"


@dataclass(frozen=True)
class ServerLimits:
    max_connections: int
    reserved: int  # superuser_reserved_connections (+ reserved_connections, PostgreSQL 16+)

    @property
    def usable(self) -> int:
        return self.max_connections - self.reserved


@dataclass(frozen=True)
class Reservations:
    """What the live processes (this one not yet among them) reserve."""

    processes: int
    connections: int


def budget_error(live: Reservations, need: int, server: ServerLimits) -> str | None:
    """Why a process needing ``need`` connections does not fit, or None when it does."""
    if live.connections + need <= server.usable:
        return None
    reserve = "live process reserves" if live.processes == 1 else "live processes reserve"
    return (
        f"Connection budget exceeded: {live.processes} {reserve} {live.connections}"
        f" connections, this one needs {need}; PostgreSQL allows {server.usable}"
        f" (max_connections {server.max_connections} \u2212 {server.reserved} reserved)."
        " Lower MERCATO_DB_POOL_SIZE or raise max_connections."
    )


class BudgetExceeded(Exception):
    """The process does not fit the server's connections (``MERCATO_DB_BUDGET_CHECK=enforce``)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Registration:
    """This process's row in ``mercato_process``."""

    id: str
    kind: str  # api | worker
    pool_budget: int
    warning: str | None = None  # the refusal ``MERCATO_DB_BUDGET_CHECK=warn`` let pass

    def export(self) -> None:
        """Hand the row to the app of each uvicorn worker process (spawned with this
        environment), which heartbeats it."""
        os.environ[PROCESS_ID_ENV] = self.id
        os.environ[PROCESS_BUDGET_ENV] = str(self.pool_budget)

    @classmethod
    def from_environment(cls) -> Registration | None:
        """The row ``mercato serve`` registered for this app, if it was started that way."""
        process_id = os.environ.get(PROCESS_ID_ENV)
        budget = os.environ.get(PROCESS_BUDGET_ENV, "")
        if not process_id or not budget.isdigit():
            return None
        return cls(id=process_id, kind="api", pool_budget=int(budget))


_LIMITS = (
    "SELECT current_setting('max_connections')::int,"
    " current_setting('superuser_reserved_connections')::int"
    " + coalesce(current_setting('reserved_connections', true), '0')::int"
)
_PRUNE = "DELETE FROM mercato_process WHERE heartbeat_at < now() - make_interval(secs => $1)"
_LIVE = (
    "SELECT count(*)::int, coalesce(sum(pool_budget), 0)::int FROM mercato_process"
    " WHERE heartbeat_at >= now() - make_interval(secs => $1)"
)
_INSERT = (
    "INSERT INTO mercato_process (id, kind, host, pid, pool_budget, started_at, heartbeat_at)"
    " VALUES ($1, $2, $3, $4, $5, now(), now())"
)


async def register(url: str, *, kind: str, pool_budget: int, check: str) -> Registration:
    """Check the budget and register this process, in one transaction under the budget lock.

    ``check``: ``enforce`` raises :class:`BudgetExceeded` when the process does not fit,
    ``warn`` registers it anyway with the message as ``warning``, ``off`` does not look."""
    connection = await asyncpg.connect(plain_url(url))
    try:
        async with connection.transaction():
            await connection.execute("SELECT pg_advisory_xact_lock($1)", BUDGET_LOCK_KEY)
            error = None
            if check != "off":
                max_connections, reserved = await connection.fetchrow(_LIMITS)
                await connection.execute(_PRUNE, SILENT_AFTER_S)
                processes, connections = await connection.fetchrow(_LIVE, SILENT_AFTER_S)
                error = budget_error(
                    Reservations(processes, connections),
                    pool_budget,
                    ServerLimits(max_connections, reserved),
                )
                if error is not None and check == "enforce":
                    raise BudgetExceeded(error)
            process_id = new_id("proc")
            await connection.execute(
                _INSERT, process_id, kind, socket.gethostname(), os.getpid(), pool_budget
            )
    except asyncpg.UndefinedTableError:
        raise SystemExit(
            "error: the database has no mercato_process table; run mercato migrate first"
        ) from None
    finally:
        await connection.close()
    return Registration(id=process_id, kind=kind, pool_budget=pool_budget, warning=error)


async def unregister(url: str, process_id: str) -> None:
    """Leave the process list (a clean exit; a killed process's row goes silent instead)."""
    connection = await asyncpg.connect(plain_url(url))
    try:
        await connection.execute("DELETE FROM mercato_process WHERE id = $1", process_id)
    finally:
        await connection.close()


async def register_or_exit(url: str, *, kind: str, pool_budget: int, check: str) -> Registration:
    """:func:`register` for a command: a refusal is its message on stderr and exit code 78, a
    let-through one a warning."""
    try:
        registration = await register(url, kind=kind, pool_budget=pool_budget, check=check)
    except BudgetExceeded as exceeded:
        print(exceeded.message, file=sys.stderr, flush=True)
        raise SystemExit(EXIT_BUDGET_EXCEEDED) from None
    if registration.warning is not None:
        print(
            f"warning (MERCATO_DB_BUDGET_CHECK=warn): {registration.warning}",
            file=sys.stderr,
            flush=True,
        )
    return registration
