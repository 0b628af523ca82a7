"""``mercato`` command line: serve, migrate, user create, seed --demo."""

from __future__ import annotations

import argparse
import asyncio
import sys

from mercato.db.budget import check_connection_budget
from mercato.db.engine import create_engine, resolve_database_url, session_factory
from mercato.settings import get_settings


def _database_url() -> str:
    settings = get_settings()
    return resolve_database_url(settings.database_url, settings.data_dir)


def cmd_migrate(_: argparse.Namespace) -> None:
    from mercato.db.migrate import upgrade

    upgrade(_database_url())
    print("Database is up to date.")


def cmd_serve(args: argparse.Namespace) -> None:
    import uvicorn

    from mercato.http.app import create_app

    _database_url()  # start the embedded database before serving, if it is used
    check_connection_budget(_database_url(), args.workers)
    print(f"Mercato API on http://{args.host}:{args.port}  (OpenAPI docs: /docs)", flush=True)
    if args.workers > 1:
        _serve_workers(args)
        return
    uvicorn.run(
        create_app(),
        host=args.host,
        port=args.port,
        workers=1,
        log_level="info",
        access_log=not args.no_access_log,
    )


def _serve_workers(args: argparse.Namespace) -> None:
    """``uvicorn.run(..., workers=N)`` with TCP_NODELAY on the shared listening socket and
    connections shared evenly by the workers.

    asyncio only disables Nagle on sockets created with ``IPPROTO_TCP``; uvicorn's shared socket
    is not, so every response (headers and body are two writes) waited for the client's delayed
    ACK: +40 ms per request. Accepted connections inherit the option from the listener.
    On POSIX systems the workers' loop balances accepts through a board in a temporary
    directory (:mod:`mercato.http.serving`).
    """
    import os
    import socket
    import tempfile

    import uvicorn
    from uvicorn.supervisors import Multiprocess

    balanced = os.name == "posix"  # the board needs fcntl and mmap'd files
    config = uvicorn.Config(
        "mercato.http.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        loop="mercato.http.serving:balanced_loop" if balanced else "auto",
        log_level="info",
        access_log=not args.no_access_log,
    )
    sock = config.bind_socket()
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if not balanced:
        Multiprocess(config, sockets=[sock]).run()
        return
    from mercato.http import serving

    with tempfile.TemporaryDirectory(prefix="mercato-serve-") as directory:
        board = os.path.join(directory, "accept-board")
        serving.create_board(board)
        os.environ[serving.BOARD_ENV] = board  # inherited by the spawned workers
        Multiprocess(config, sockets=[sock]).run()


async def _with_session(work):
    engine = create_engine(_database_url(), pool_size=2)
    try:
        async with session_factory(engine)() as session:
            return await work(session)
    finally:
        await engine.dispose()


def cmd_user_create(args: argparse.Namespace) -> None:
    from mercato.errors import MercatoError
    from mercato.users.service import create_user

    async def work(session):
        return await create_user(session, email=args.email, password=args.password)

    try:
        user = asyncio.run(_with_session(work))
    except MercatoError as exc:
        sys.exit(f"error: {exc.message}")
    print(f"Created admin user {user.id} <{user.email}>")


def cmd_seed(args: argparse.Namespace) -> None:
    from mercato.seed import print_demo, seed_demo

    if not args.demo:
        sys.exit("error: nothing to seed; pass --demo")
    print_demo(asyncio.run(_with_session(seed_demo)))


def cmd_demo_checkout(args: argparse.Namespace) -> None:
    import json

    from mercato.demo import DemoError, run_checkout
    from mercato.seed import KEY_TITLE

    async def find_key(session):
        from sqlalchemy import select

        from mercato.api_keys.models import ApiKey

        return await session.scalar(
            select(ApiKey.token).where(ApiKey.title == KEY_TITLE, ApiKey.revoked_at.is_(None))
        )

    key = args.publishable_key or asyncio.run(_with_session(find_key))
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="mercato", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the HTTP API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=9000)
    serve.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    serve.add_argument("--no-access-log", action="store_true", help="do not log each request")
    serve.set_defaults(func=cmd_serve)

    commands.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)

    user = commands.add_parser("user", help="manage admin users").add_subparsers(
        dest="user_command", required=True
    )
    create = user.add_parser("create", help="create an admin user")
    create.add_argument("--email", required=True)
    create.add_argument("--password", required=True)
    create.set_defaults(func=cmd_user_create)

    seed = commands.add_parser("seed", help="seed data")
    seed.add_argument("--demo", action="store_true", help="a small demo marketplace (idempotent)")
    seed.set_defaults(func=cmd_seed)

    demo = commands.add_parser("demo", help="demonstrations against a running server")
    demo_commands = demo.add_subparsers(dest="demo_command", required=True)
    checkout = demo_commands.add_parser("checkout", help="a three-seller guest checkout")
    checkout.add_argument("--base-url", default="http://127.0.0.1:9000")
    checkout.add_argument("--publishable-key", help="default: the demo seed's key")
    checkout.set_defaults(func=cmd_demo_checkout)

    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
