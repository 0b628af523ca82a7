"""Runtime settings, read once from the environment."""

from __future__ import annotations

import os
import secrets
import textwrap
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

# Every setting, as `mercato --help` and the README list them: name, what it does, its default.
ENVIRONMENT: tuple[tuple[str, str, str], ...] = (
    (
        "DATABASE_URL",
        "The PostgreSQL database, e.g. postgresql://user@host:5432/mercato",
        "an embedded PostgreSQL in $MERCATO_DATA_DIR/pg, which stops when the last mercato"
        " process using it exits",
    ),
    ("MERCATO_DATA_DIR", "Where local state is kept", "./.mercato"),
    (
        "MERCATO_JWT_SECRET",
        "The secret that signs login tokens, the same on every process; required with DATABASE_URL",
        "without DATABASE_URL, generated once and kept in $MERCATO_DATA_DIR/jwt-secret",
    ),
    (
        "MERCATO_JWT_SECRET_PREVIOUS",
        "A former MERCATO_JWT_SECRET whose tokens are still accepted, during a rotation",
        "none",
    ),
    ("MERCATO_TOKEN_TTL_SECONDS", "How long a login token is valid", "86400 (a day)"),
    (
        "MERCATO_ENABLE_WEBHOOKS",
        "0 turns webhook delivery off (the relay skips events no endpoint wants, so it costs"
        " nothing without endpoints)",
        "on",
    ),
    (
        "MERCATO_ENABLE_TEST_PROVIDER",
        "1 enables the pp_test payment provider, whose sessions choose their outcome",
        "off",
    ),
    (
        "MERCATO_TEST_PROVIDER_DELAY_MS",
        "Milliseconds the pp_test payment provider waits in each call, as a real processor's"
        " round trip takes time (the benchmark's slow-provider case)",
        "0",
    ),
    (
        "MERCATO_MAX_BODY_BYTES",
        "The largest request body accepted; larger ones are refused with 413",
        "1048576 (1 MiB)",
    ),
    (
        "MERCATO_DB_POOL_SIZE",
        "The most database connections one process may hold (each uvicorn worker is one"
        " process); a process refuses to start with exit code 78 when the budgets of the live"
        " processes and its own exceed max_connections less the reserved connections",
        "20 for mercato serve, 10 for mercato worker",
    ),
    (
        "MERCATO_DB_MAX_OVERFLOW",
        "Further connections a process may open above MERCATO_DB_POOL_SIZE under load; they"
        " count in its budget",
        "0",
    ),
    (
        "MERCATO_DB_BUDGET_CHECK",
        "What a process does when the connection budget is exceeded at start: enforce (refuse"
        " to start), warn (start anyway, e.g. behind PgBouncer) or off",
        "enforce",
    ),
    (
        "MERCATO_WORKER_MODE",
        "What a mercato serve process runs: shared (the API and the event relay and"
        " subscribers), server (the API only; run mercato worker beside it) or worker",
        "shared",
    ),
    (
        "REDIS_URL",
        "A Redis (6.2 or newer) whose streams carry events from the relay to the subscribers,"
        " e.g. redis://host:6379/0; only mercato worker and shared processes connect to it",
        "unset: events go through PostgreSQL alone",
    ),
    (
        "MERCATO_REDIS_PREFIX",
        "The prefix of Mercato's Redis keys (the event stream is <prefix>events)",
        "mercato:",
    ),
    (
        "MERCATO_LEASE_S",
        "Seconds a worker holds a claimed event delivery; a handler is cancelled after half",
        "60",
    ),
    ("MERCATO_EVENT_POLL_MS", "How often a worker looks for events without a wake-up", "500"),
    (
        "MERCATO_EVENT_RETRY_BASE_MS",
        "The wait after a subscriber's first failure, doubled after each further one",
        "1000",
    ),
    ("MERCATO_EVENT_RETRY_MAX_MS", "The longest wait between two attempts", "300000"),
    (
        "MERCATO_EVENT_MAX_ATTEMPTS",
        "Attempts of a subscriber at one event before it becomes a dead letter",
        "10",
    ),
    (
        "MERCATO_EVENT_RETENTION_DAYS",
        "Days an event is kept; older ones whose deliveries are all settled are deleted by"
        " the worker (hourly), with their consumption records",
        "7",
    ),
    (
        "MERCATO_SECRET_KEY",
        "The key webhook secrets are encrypted with, the same on every process; required with"
        " DATABASE_URL",
        "without DATABASE_URL, derived from the jwt-secret kept in $MERCATO_DATA_DIR",
    ),
    (
        "MERCATO_WEBHOOK_TIMEOUT_S",
        "Seconds a webhook attempt may take (at most half of MERCATO_LEASE_S)",
        "15",
    ),
    (
        "MERCATO_WEBHOOK_RETRY_SCHEDULE",
        "Waits before each attempt of a webhook delivery, comma-separated (s, m, h)",
        "0s,5s,5m,30m,2h,5h,10h,14h,20h,24h",
    ),
    (
        "MERCATO_WEBHOOK_DISABLE_AFTER",
        "Failed deliveries in a row that disable a webhook endpoint",
        "5",
    ),
    (
        "MERCATO_WEBHOOK_ALLOW_HTTP",
        "1 accepts http:// webhook URLs",
        "off",
    ),
    (
        "MERCATO_WEBHOOK_ALLOW_PRIVATE_TARGETS",
        "1 lets webhooks target private and loopback addresses (tests, private networks)",
        "off",
    ),
    (
        "MERCATO_ADMIN_DIR",
        "The admin dashboard's build (make admin), served at /app; empty disables /app",
        "admin/dist, relative to the working directory",
    ),
)


def environment_help() -> str:
    """The settings as ``mercato --help`` lists them."""
    lines = ["settings (environment variables):"]
    for name, meaning, default in ENVIRONMENT:
        lines.append(f"  {name}")
        lines += textwrap.wrap(
            f"{meaning}. Default: {default}.",
            width=78,
            initial_indent=" " * 6,
            subsequent_indent=" " * 6,
        )
    return "\n".join(lines)


DEFAULT_MAX_BODY_BYTES = 1024 * 1024


def _positive_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if not raw:
        return default
    if not raw.isdigit() or int(raw) == 0:
        raise ValueError(f"{name} must be a positive integer, not {raw!r}")
    return int(raw)


# The default connection budgets of an API process and of a ``mercato worker``.
API_POOL_SIZE = 20
WORKER_POOL_SIZE = 10
BUDGET_CHECKS = ("enforce", "warn", "off")


@dataclass(frozen=True)
class Settings:
    database_url: str | None
    data_dir: Path
    jwt_secret: str
    token_ttl_seconds: int
    enable_test_provider: bool
    enable_webhooks: bool
    max_body_bytes: int
    # The key webhook secrets are encrypted with (``MERCATO_SECRET_KEY``), and a former JWT
    # secret still accepted while every process moves to a new one.
    secret_key: str = ""
    jwt_secret_previous: str | None = None
    # Each process's database connections (events-and-scale-out.md, Connection budget): the
    # pool (None: the default of the process's kind, ``pool_size``) and what it may open above
    # it; both count in the budget it registers (``db/budget.py``).
    db_pool_size: int | None = None
    db_max_overflow: int = 0
    db_budget_check: str = "enforce"
    # How long each pp_test call waits, standing in for a real processor's latency.
    test_provider_delay_ms: int = 0
    # Events (events-and-scale-out.md): what this process runs, leases, polling and retries.
    worker_mode: str = "shared"
    lease_s: int = 60
    event_poll_ms: int = 500
    event_retry_base_ms: int = 1000
    event_retry_max_ms: int = 300_000
    event_max_attempts: int = 10
    event_retention_days: int = 7
    # The Redis Streams transport (unset: PostgreSQL alone) and its keys' prefix.
    redis_url: str | None = None
    redis_prefix: str = "mercato:"
    # The admin dashboard's build served at ``/app`` (None: no dashboard).
    admin_dir: Path | None = None

    def pool_size(self, kind: str = "api") -> int:
        """``MERCATO_DB_POOL_SIZE``, or the default of an API (``api``) or worker process."""
        if self.db_pool_size is not None:
            return self.db_pool_size
        return WORKER_POOL_SIZE if kind == "worker" else API_POOL_SIZE

    def pool_budget(self, kind: str = "api") -> int:
        """The most connections one process of ``kind`` may hold: its pool and overflow."""
        return self.pool_size(kind) + self.db_max_overflow


def _persisted_secret(data_dir: Path) -> str:
    """A random signing secret, generated on first run and kept in the data directory."""
    path = data_dir / "jwt-secret"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    path.write_text(secret)
    path.chmod(0o600)
    return secret


def _whole_number(name: str, default: int, *, least: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = least - 1
    if value < least:
        raise ValueError(f"{name} must be a whole number of at least {least}, not {raw!r}")
    return value


def _switch(name: str, *, default: bool) -> bool:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if raw not in ("0", "1"):
        raise ValueError(f"{name} must be 0 or 1, not {raw!r}")
    return raw == "1"


WORKER_MODES = ("shared", "server", "worker")


def _worker_mode() -> str:
    mode = os.environ.get("MERCATO_WORKER_MODE", "").strip() or "shared"
    if mode not in WORKER_MODES:
        raise ValueError(
            f"MERCATO_WORKER_MODE must be one of {', '.join(WORKER_MODES)}, not {mode!r}"
        )
    return mode


def _budget_check() -> str:
    check = os.environ.get("MERCATO_DB_BUDGET_CHECK", "").strip() or "enforce"
    if check not in BUDGET_CHECKS:
        raise ValueError(
            f"MERCATO_DB_BUDGET_CHECK must be one of {', '.join(BUDGET_CHECKS)}, not {check!r}"
        )
    return check


def _shared_secret(name: str, database_url: str | None) -> str | None:
    """A secret every process must share: with a database of its own (``DATABASE_URL``) there
    may be other machines, so it must come from the environment; the embedded set-up falls back
    to the data directory's (None here)."""
    value = os.environ.get(name) or None
    if value is None and database_url is not None:
        raise ValueError(
            f"{name} must be set when DATABASE_URL is set: every process must share it"
        )
    return value


def _pool_size() -> int | None:
    if not os.environ.get("MERCATO_DB_POOL_SIZE", "").strip():
        return None
    return _whole_number("MERCATO_DB_POOL_SIZE", API_POOL_SIZE, least=1)


def _redis_url() -> str | None:
    url = os.environ.get("REDIS_URL", "").strip()
    if not url:
        return None
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError(f"REDIS_URL must be a redis://, rediss:// or unix:// URL, not {url!r}")
    return url


def _admin_dir() -> Path | None:
    """``MERCATO_ADMIN_DIR``: unset, ``admin/dist`` of the working directory; empty, none."""
    raw = os.environ.get("MERCATO_ADMIN_DIR")
    if raw is None:
        return Path("admin/dist").resolve()
    if not raw.strip():
        return None
    return Path(raw.strip()).expanduser().resolve()


@lru_cache
def get_settings() -> Settings:
    """The settings; ValueError naming the variable when one is missing or invalid."""
    data_dir = Path(os.environ.get("MERCATO_DATA_DIR", ".mercato")).resolve()
    database_url = os.environ.get("DATABASE_URL") or None
    jwt_secret = _shared_secret("MERCATO_JWT_SECRET", database_url)
    secret_key = _shared_secret("MERCATO_SECRET_KEY", database_url)
    return Settings(
        database_url=database_url,
        data_dir=data_dir,
        jwt_secret=jwt_secret or _persisted_secret(data_dir),
        secret_key=secret_key or _persisted_secret(data_dir),
        jwt_secret_previous=os.environ.get("MERCATO_JWT_SECRET_PREVIOUS") or None,
        token_ttl_seconds=int(os.environ.get("MERCATO_TOKEN_TTL_SECONDS", "86400")),
        enable_test_provider=os.environ.get("MERCATO_ENABLE_TEST_PROVIDER") == "1",
        enable_webhooks=_switch("MERCATO_ENABLE_WEBHOOKS", default=True),
        max_body_bytes=_positive_int("MERCATO_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES),
        db_pool_size=_pool_size(),
        db_max_overflow=_whole_number("MERCATO_DB_MAX_OVERFLOW", 0, least=0),
        db_budget_check=_budget_check(),
        test_provider_delay_ms=_whole_number("MERCATO_TEST_PROVIDER_DELAY_MS", 0, least=0),
        worker_mode=_worker_mode(),
        lease_s=_whole_number("MERCATO_LEASE_S", 60, least=2),
        event_poll_ms=_whole_number("MERCATO_EVENT_POLL_MS", 500, least=1),
        event_retry_base_ms=_whole_number("MERCATO_EVENT_RETRY_BASE_MS", 1000, least=0),
        event_retry_max_ms=_whole_number("MERCATO_EVENT_RETRY_MAX_MS", 300_000, least=0),
        event_max_attempts=_whole_number("MERCATO_EVENT_MAX_ATTEMPTS", 10, least=1),
        event_retention_days=_whole_number("MERCATO_EVENT_RETENTION_DAYS", 7, least=1),
        redis_url=_redis_url(),
        redis_prefix=os.environ.get("MERCATO_REDIS_PREFIX", "mercato:"),
        admin_dir=_admin_dir(),
    )
