"""The reference server: the least any FastAPI server can do for each read case.

``GET /cases/{name}`` runs exactly the SQL Mercato ran for that case (captured in-process by the
runner), statement after statement on one pooled asyncpg connection, and answers the bytes
Mercato answered. No authentication, session, ORM, rendering or serialisation: what remains is
uvicorn, FastAPI's routing and the case's database round trips.

It runs under uvicorn with as many worker processes as the server under test and is measured at
the same client levels in the same minutes, so server p50 ÷ reference p50 is Mercato's own cost
at each level (the targets in ``benchmarks.report``). Each worker's pool keeps its share of the
clients' connections open and may grow to all of them: the kernel does not always hand each
worker its share of the kept-alive client connections, and a request must never wait for a
database connection that Mercato's larger pool would have had.

Run by the runner as ``python -m benchmarks.reference --spec FILE --port N --workers W
--clients C``; the spec is a pickle the runner writes: ``(database_url, {case: ([(sql, params),
...], body)})``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pickle
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
from fastapi import FastAPI
from starlette.responses import Response

from mercato.db.engine import SERVER_SETTINGS

Statements = list[tuple[str, tuple[Any, ...]]]
Cases = dict[str, tuple[Statements, bytes]]
# How ``main`` tells uvicorn's worker processes (which each build the app) what to serve.
CONFIG_ENV = "MERCATO_BENCH_REFERENCE"
# Its connections in ``pg_stat_activity``.
APPLICATION_NAME = "mercato-bench-reference"


def create_app(url: str, cases: Cases, *, min_size: int = 1, max_size: int = 1) -> FastAPI:
    pools: list[asyncpg.Pool] = []

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        pools.append(
            await asyncpg.create_pool(
                url,
                min_size=min_size,
                max_size=max_size,
                server_settings={**SERVER_SETTINGS, "application_name": APPLICATION_NAME},
            )
        )
        yield
        await pools[0].close()

    app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/health")
    async def health() -> Response:
        await pools[0].fetchval("SELECT 1")
        return Response(b'{"status":"ok"}', media_type="application/json")

    @app.get("/cases/{name}")
    async def case(name: str) -> Response:
        found = cases.get(name)
        if found is None:
            return Response(status_code=404)
        statements, body = found
        async with pools[0].acquire() as connection:
            for sql, params in statements:
                await connection.fetch(sql, *params)
        return Response(body, media_type="application/json")

    return app


def app_from_environment() -> FastAPI:
    """uvicorn's app factory, called in each worker process with ``main``'s settings."""
    config = json.loads(os.environ[CONFIG_ENV])
    # The runner's own file, written just before (``write_spec``).
    url, cases = pickle.loads(Path(config["spec"]).read_bytes())  # noqa: S301
    return create_app(url, cases, min_size=config["min_size"], max_size=config["max_size"])


def pool_sizes(workers: int, clients: int) -> tuple[int, int]:
    """Each worker's pool: its share of the clients kept open, growing up to all of them."""
    return max(1, math.ceil(clients / workers)), max(1, clients)


def write_spec(path: Path, url: str, cases: Cases) -> None:
    path.write_bytes(pickle.dumps((url, cases)))


def main(argv: Sequence[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m benchmarks.reference")
    parser.add_argument("--spec", required=True, type=Path)
    parser.add_argument("--port", required=True, type=int)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--clients", type=int, default=1, help="the most concurrent clients")
    args = parser.parse_args(argv)
    min_size, max_size = pool_sizes(args.workers, args.clients)
    os.environ[CONFIG_ENV] = json.dumps(
        {"spec": str(args.spec.resolve()), "min_size": min_size, "max_size": max_size}
    )
    uvicorn.run(
        "benchmarks.reference:app_from_environment",
        factory=True,
        host="127.0.0.1",
        port=args.port,
        workers=args.workers,
        access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
