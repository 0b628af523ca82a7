"""The ``mercato`` command line: serve, worker, events replay, migrate, user create, seed --demo,
demo checkout."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from mercato.db.budget import register_or_exit, unregister
from mercato.db.engine import create_engine, resolve_database_url, session_factory
from mercato.settings import environment_help, get_settings


def _database_url() -> str:
    settings = get_settings()
    return resolve_database_url(settings.database_url, settings.data_dir)


def _require_current_schema() -> None:
    """Refuse to start a server or worker on a schema older than this release's code."""
    from mercato.db.engine import plain_url
    from mercato.db.migrate import schema_behind

    problem = asyncio.run(schema_behind(plain_url(_database_url())))
    if problem is not None:
        sys.exit(problem)


def cmd_migrate(_: argparse.Namespace) -> None:
    from mercato.db.migrate import upgrade
    from mercato.stores.service import ensure_store

    print(upgrade(_database_url()).summary())
    asyncio.run(_with_uow(ensure_store))  # the one store, once (admin-dashboard.md §3)


def cmd_serve(args: argparse.Namespace) -> None:
    """uvicorn, with its own worker processes when ``--workers`` > 1 (each builds the app).

    TCP_NODELAY is on for every connection without a word from us: uvloop sets it on each TCP
    transport, and asyncio on each one accepted from uvicorn's ``IPPROTO_TCP`` listening socket
    (tests/api/test_serving.py reads it on the server's side)."""
    import uvicorn

    from mercato.http.admin_app import startup_line

    settings = get_settings()
    if settings.worker_mode == "worker":
        sys.exit(
            "error: MERCATO_WORKER_MODE=worker is what mercato worker runs; mercato serve runs"
            " shared or server"
        )
    url = _database_url()  # starts the embedded database before serving, if it is used
    _require_current_schema()
    # One row for all uvicorn workers: N budgets, heartbeated by each worker's app.
    registration = asyncio.run(
        register_or_exit(
            url,
            kind="api",
            pool_budget=args.workers * settings.pool_budget("api"),
            check=settings.db_budget_check,
        )
    )
    registration.export()
    try:
        print(f"Mercato API on http://{args.host}:{args.port}  (OpenAPI docs: /docs)", flush=True)
        print(startup_line(settings.admin_dir, args.host, args.port), flush=True)
        uvicorn.run(
            "mercato.http.app:create_app",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_level="info",
            access_log=not args.no_access_log,
            # SIGTERM: stop accepting, let in-flight requests finish for at most 30 s.
            timeout_graceful_shutdown=30,
        )
    finally:
        asyncio.run(unregister(url, registration.id))


def cmd_worker(args: argparse.Namespace) -> None:
    """Relay and deliver events until SIGTERM (or Ctrl-C), then stop gracefully."""
    _require_current_schema()
    asyncio.run(_run_worker(args.concurrency, args.only))


async def _run_worker(concurrency: int, only: str | None) -> None:
    import signal

    from mercato.events.delivery import EventWorker, worker_parts
    from mercato.subscribers import load as load_subscribers

    load_subscribers()
    parts = None
    if only:
        parts = [part.strip() for part in only.split(",") if part.strip()]
        unknown = sorted(set(parts) - set(worker_parts()))
        if unknown:
            sys.exit(
                f"error: --only: unknown part {', '.join(unknown)}"
                f" (choose from {', '.join(worker_parts())})"
            )
    settings = get_settings()
    url = _database_url()
    registration = await register_or_exit(
        url,
        kind="worker",
        pool_budget=settings.pool_budget("worker"),
        check=settings.db_budget_check,
    )
    engine = create_engine(url, pool_size=settings.pool_size("worker"))
    worker = EventWorker(
        session_factory(engine),
        concurrency=concurrency,
        kind="worker",
        pool_budget=registration.pool_budget,
        parts=parts,
        process_id=registration.id,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await worker.start()
        print(
            f"Mercato worker {worker.process_id}: {', '.join(sorted(worker.parts))}"
            f" (concurrency {concurrency})",
            flush=True,
        )
        await stop.wait()
        print("Mercato worker stopping: finishing running handlers", flush=True)
        await worker.stop()
    finally:
        await engine.dispose()
        await unregister(url, registration.id)
    print("Mercato worker stopped", flush=True)


def cmd_events_replay(args: argparse.Namespace) -> None:
    """Owe relayed events to durable subscribers again (see ``mercato.events.replay``)."""
    try:
        done = asyncio.run(_replay(args.since, args.until, args.subscriber))
    except ValueError as exc:
        sys.exit(f"error: {exc}")
    deliveries = "delivery" if done.deliveries == 1 else "deliveries"
    events = "event" if done.events == 1 else "events"
    print(
        f"Queued {done.deliveries} {deliveries} of {done.events} relayed {events} from"
        f" {done.since.isoformat()} to {done.until.isoformat()}"
        f" (subscribers: {', '.join(done.subscribers) or 'none registered'})."
    )


async def _replay(since: str, until: str | None, subscriber: str | None) -> Any:
    from mercato.events.replay import replay
    from mercato.subscribers import load as load_subscribers

    load_subscribers()  # the built-in subscribers, as every process of the release knows them
    engine = create_engine(_database_url(), pool_size=2)
    try:
        return await replay(session_factory(engine), since, until, subscriber)
    finally:
        await engine.dispose()


async def _with_uow(work):
    """Run ``work(uow)`` against the configured database: a CLI command is a command like an
    API route's, given a unit of work."""
    from mercato.unit_of_work import UnitOfWork

    engine = create_engine(_database_url(), pool_size=2)
    try:
        return await work(UnitOfWork(session_factory(engine)))
    finally:
        await engine.dispose()


def cmd_user_create(args: argparse.Namespace) -> None:
    from mercato.errors import MercatoError
    from mercato.users.service import create_user

    async def work(uow):
        return await create_user(uow, email=args.email, password=args.password)

    try:
        user = asyncio.run(_with_uow(work))
    except MercatoError as exc:
        sys.exit(f"error: {exc.message}")
    print(f"Created admin user {user.id} <{user.email}>")


def cmd_seed(args: argparse.Namespace) -> None:
    from mercato.seed import print_demo, seed_demo

    if not args.demo:
        sys.exit("error: nothing to seed; pass --demo")
    print_demo(asyncio.run(_with_uow(seed_demo)))


def cmd_demo_checkout(args: argparse.Namespace) -> None:
    import json

    from mercato.demo import DemoError, run_checkout
    from mercato.seed import KEY_TITLE

    async def find_key(uow):
        from sqlalchemy import select

        from mercato.api_keys.models import ApiKey

        async with uow:
            return await uow.session.scalar(
                select(ApiKey.token).where(ApiKey.title == KEY_TITLE, ApiKey.revoked_at.is_(None))
            )

    key = args.publishable_key or asyncio.run(_with_uow(find_key))
    if not key:
        sys.exit(
            "error: no demo publishable key; run `mercato seed --demo` or pass --publishable-key"
        )
    try:
        group = run_checkout(args.base_url, key)
    except (DemoError, OSError) as exc:
        sys.exit(f"error: {exc}")
    print(json.dumps(group, indent=2))
    print(
        f"\nOrder group {group['id']}: {group['seller_count']} sellers, "
        f"total {group['total']} {group['currency_code'].upper()}, status {group['status']}, "
        f"payment {group['payment_status']}."
    )


DESCRIPTION = """\
Mercato: a headless multi-vendor marketplace commerce engine (Medusa v2 / Mercur API).

A first run: mercato migrate, mercato seed --demo, mercato serve (what make run does);
then see README.md ("A short tour")."""


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions and the settings list keep their line breaks."""


def _command(
    commands: Any, name: str, summary: str, description: str = ""
) -> argparse.ArgumentParser:
    return commands.add_parser(
        name,
        help=summary,
        description=description or summary[0].upper() + summary[1:] + ".",
        formatter_class=HelpFormatter,
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mercato",
        description=DESCRIPTION,
        epilog=environment_help(),
        formatter_class=HelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = _command(
        commands,
        "serve",
        "serve the HTTP API",
        "Serve the HTTP API (interactive docs at /docs). Without DATABASE_URL it starts the\n"
        "embedded PostgreSQL, which stops when the server exits.",
    )
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    serve.add_argument(
        "--port", type=int, default=9000, help="port to listen on (default: %(default)s)"
    )
    serve.add_argument(
        "--workers", type=int, default=1, help="worker processes (default: %(default)s)"
    )
    serve.add_argument("--no-access-log", action="store_true", help="do not log each request")
    serve.set_defaults(func=cmd_serve)

    worker = _command(
        commands,
        "worker",
        "relay and deliver events",
        "Relay committed events and run their subscribers (with retries and dead letters)\n"
        "until SIGTERM, then finish running handlers (at most 30 s) and give back the rest.\n"
        "Any number may run beside API processes started with MERCATO_WORKER_MODE=server.",
    )
    worker.add_argument(
        "--concurrency",
        type=int,
        default=8,
        help="deliveries handled at once (default: %(default)s)",
    )
    worker.add_argument(
        "--only",
        help="a comma-separated part list: relay, subscribers, retention (and webhooks when"
        " enabled; default: all)",
    )
    worker.set_defaults(func=cmd_worker)

    events = _command(commands, "events", "manage the event outbox").add_subparsers(
        dest="events_command", required=True, metavar="COMMAND"
    )
    replay = _command(
        events,
        "replay",
        "queue relayed events to subscribers again",
        "Queue the relayed outbox events created between --since and --until to the durable\n"
        "subscribers that hear them (or to --subscriber only); the workers deliver them. Use it\n"
        "after Redis lost data or for a subscriber added later. A subscriber that already\n"
        "consumed an event skips it (its consumption record), so replaying twice is harmless.\n"
        "Events older than MERCATO_EVENT_RETENTION_DAYS may be gone already.",
    )
    replay.add_argument(
        "--since",
        required=True,
        help="ISO 8601 timestamp (UTC unless it names an offset), or a time ago: 30m, 2h, 7d",
    )
    replay.add_argument("--until", help="the same forms (default: now)")
    replay.add_argument("--subscriber", help="one subscriber id (default: every subscriber)")
    replay.set_defaults(func=cmd_events_replay)

    _command(
        commands,
        "migrate",
        "apply database migrations",
        "Bring the database to the newest schema; says how many migrations it applied.",
    ).set_defaults(func=cmd_migrate)

    user = _command(commands, "user", "manage admin users").add_subparsers(
        dest="user_command", required=True, metavar="COMMAND"
    )
    create = _command(user, "create", "create an admin user")
    create.add_argument("--email", required=True, help="the user's email, used to log in")
    create.add_argument("--password", required=True, help="the user's password")
    create.set_defaults(func=cmd_user_create)

    seed = _command(
        commands,
        "seed",
        "seed data",
        "Seed data. --demo creates a small marketplace (a region, three sellers with products,\n"
        "an admin user, a customer and a publishable key) and prints how to log in; run again,\n"
        "it prints the same again.",
    )
    seed.add_argument("--demo", action="store_true", help="the demo marketplace (idempotent)")
    seed.set_defaults(func=cmd_seed)

    demo = _command(commands, "demo", "demonstrations against a running server")
    demo_commands = demo.add_subparsers(dest="demo_command", required=True, metavar="COMMAND")
    checkout = _command(
        demo_commands,
        "checkout",
        "a three-seller guest checkout",
        "A guest cart with a product of three sellers, shipping and payment, completed into\n"
        "one order group, which is printed (the demo seed's catalogue, on a running server).",
    )
    checkout.add_argument(
        "--base-url", default="http://127.0.0.1:9000", help="the server (default: %(default)s)"
    )
    checkout.add_argument(
        "--publishable-key", help="the store key to use (default: the demo seed's key)"
    )
    checkout.set_defaults(func=cmd_demo_checkout)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        get_settings()  # a missing or invalid setting stops every command here, in one line
    except ValueError as invalid:
        sys.exit(f"error: {invalid}")
    args.func(args)


if __name__ == "__main__":
    main()
