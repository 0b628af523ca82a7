"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from mercato.api import idempotency, routers
from mercato.api.openapi import install_openapi
from mercato.db.budget import Registration
from mercato.db.engine import create_engine, resolve_database_url, session_factory
from mercato.events.delivery import EventWorker
from mercato.http.admin_app import AdminDashboard
from mercato.http.allow import CompleteAllow
from mercato.http.body_limit import LimitRequestBody
from mercato.http.docs import install_docs
from mercato.http.errors import install_error_handlers
from mercato.http.sessions import CloseSessions
from mercato.settings import get_settings
from mercato.subscribers import load as load_subscribers
from mercato.workflows.runs import keep_sweeping


def create_app(*, engine: AsyncEngine | None = None) -> FastAPI:
    """Build the app. Without ``engine`` it connects to the configured (or embedded) database."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = None
        if not hasattr(app.state, "sessionmaker"):
            settings = get_settings()
            owned = create_engine(resolve_database_url(settings.database_url, settings.data_dir))
            _bind(app, owned)
        sweeper = asyncio.create_task(
            keep_sweeping(app.state.sessionmaker, lambda: datetime.now(UTC))
        )
        events = await _start_events(app)
        _settle_garbage_collector()
        yield
        if events is not None:
            await events.stop()
        sweeper.cancel()
        with suppress(asyncio.CancelledError):
            await sweeper
        if owned is not None:
            await owned.dispose()

    app = FastAPI(
        title="Mercato",
        version="0.1.0",
        description="Headless multi-vendor marketplace commerce API (Medusa v2 / Mercur conventions).",
        lifespan=lifespan,
        docs_url=None,  # served from the installed Swagger UI package (``http/docs.py``)
        redoc_url=None,
    )
    load_subscribers()  # the committing process writes their deliveries, whatever its mode
    if engine is not None:
        _bind(app, engine)
    install_error_handlers(app)
    app.add_middleware(CloseSessions)
    app.add_middleware(CompleteAllow, api=app)
    idempotency.install(app)
    app.add_middleware(LimitRequestBody, max_bytes=get_settings().max_body_bytes)
    admin_dir = get_settings().admin_dir
    if admin_dir is not None:
        # Outermost: /app bypasses the body limit, authentication and the OpenAPI schema.
        app.add_middleware(AdminDashboard, directory=admin_dir)
    routers.include_routers(app)
    install_openapi(app)
    install_docs(app)
    return app


async def _start_events(app: FastAPI) -> EventWorker | None:
    """In ``shared`` mode (the default) the API process also relays and delivers events, as
    tasks of its event loop woken right after each commit; in ``server`` mode ``mercato worker``
    processes do (events-and-scale-out.md).

    Started by ``mercato serve``, the app heartbeats the process row the command registered
    (one row for all its uvicorn workers): through the event worker, which in ``server`` mode
    runs no part but the heartbeat."""
    settings = get_settings()
    registration = Registration.from_environment()
    if settings.worker_mode == "shared":
        worker = EventWorker(
            app.state.sessionmaker,
            kind="api",
            pool_budget=(registration.pool_budget if registration else settings.pool_budget("api")),
            process_id=registration.id if registration else None,
        )
    elif registration is not None:
        worker = EventWorker(
            app.state.sessionmaker,
            kind="api",
            pool_budget=registration.pool_budget,
            process_id=registration.id,
            parts=(),
            listen=False,
        )
    else:
        return None
    await worker.start()
    return worker


def _settle_garbage_collector() -> None:
    """Move everything alive at start-up (modules, routes, mappers) out of the collector's reach
    and collect young objects less often.

    Responses allocate many short-lived objects; with the defaults a full collection walked the
    whole start-up heap every few hundred requests, a pause that showed as p99 latency. Request
    garbage is freed by reference counting; cycles are still collected, just less eagerly."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)


def _bind(app: FastAPI, engine: AsyncEngine) -> None:
    """Sessions for commands, and autocommit sessions for reads (``GET``): a read needs no
    transaction — under READ COMMITTED each statement takes its own snapshot either way — and
    skipping ``BEGIN``/``ROLLBACK`` saves two round trips per request."""
    app.state.sessionmaker = session_factory(engine)
    app.state.read_sessionmaker = session_factory(engine, read_only=True)
