"""The reference server: the least any FastAPI server can do for each read case.

``GET /cases/{name}`` runs exactly the SQL Mercato ran for that case (captured in-process by the
runner), statement after statement on one dedicated asyncpg connection, and answers the bytes
Mercato answered. No authentication, session, pool, rendering or serialisation: what remains is
uvicorn, FastAPI's routing and the case's database round trips.

Measured at 1 client in the same minutes as Mercato, its p50 divided by the raw SQL p50 is what
the stack alone costs on this machine. Where that alone exceeds the issue's 3x, the server/raw
target is out of reach here for any FastAPI server, and the report says so next to the miss
(docs/benchmarks.md).

Run by the runner as ``python -m benchmarks.reference --spec FILE --port N``; the spec is a
pickle the runner writes: ``(database_url, {case: ([(sql, params), ...], body)})``.
"""

from __future__ import annotations

import argparse
import pickle
from collections.abc import Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
from fastapi import FastAPI
from starlette.responses import Response

from mercato.db.engine import SERVER_SETTINGS

Statements = list[tuple[str, tuple[Any, ...]]]
Cases = dict[str, tuple[Statements, bytes]]


def create_app(url: str, cases: Cases) -> FastAPI:
    connection: list[asyncpg.Connection] = []

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        connection.append(await asyncpg.connect(url, server_settings=SERVER_SETTINGS))
        yield
        await connection[0].close()

    app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/health")
    async def health() -> Response:
        await connection[0].fetchval("SELECT 1")
        return Response(b'{"status":"ok"}', media_type="application/json")

    @app.get("/cases/{name}")
    async def case(name: str) -> Response:
        found = cases.get(name)
        if found is None:
            return Response(status_code=404)
        statements, body = found
        for sql, params in statements:
            await connection[0].fetch(sql, *params)
        return Response(body, media_type="application/json")

    return app


def write_spec(path: Path, url: str, cases: Cases) -> None:
    path.write_bytes(pickle.dumps((url, cases)))


def main(argv: Sequence[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m benchmarks.reference")
    parser.add_argument("--spec", required=True, type=Path)
    parser.add_argument("--port", required=True, type=int)
    args = parser.parse_args(argv)
    # The runner's own file, written just before (``write_spec``).
    url, cases = pickle.loads(args.spec.read_bytes())  # noqa: S301
    uvicorn.run(
        create_app(url, cases),
        host="127.0.0.1",
        port=args.port,
        access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
