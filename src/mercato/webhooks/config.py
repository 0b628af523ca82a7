"""The webhook settings (events-and-scale-out.md, Settings), read once from the environment.

Kept apart from ``mercato.settings`` so tests can change them (``webhook_settings.cache_clear``)
without rebuilding the whole process's settings."""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from functools import lru_cache

DEFAULT_RETRY_SCHEDULE = "0s,5s,5m,30m,2h,5h,10h,14h,20h,24h"
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
log = logging.getLogger("mercato.webhooks")
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h|d)$")


def parse_schedule(raw: str, name: str = "MERCATO_WEBHOOK_RETRY_SCHEDULE") -> tuple[float, ...]:
    """``0s,5s,5m`` → seconds after the previous attempt, one per attempt (the first included)."""
    delays = []
    for part in raw.split(","):
        match = _DURATION.match(part.strip())
        if match is None:
            raise ValueError(
                f"{name} must be comma-separated durations such as 0s,5s,5m,2h, not {raw!r}"
            )
        delays.append(float(match.group(1)) * _UNITS[match.group(2)])
    return tuple(delays)


def _flag(name: str) -> bool:
    raw = os.environ.get(name, "").strip()
    if raw not in ("", "0", "1"):
        raise ValueError(f"{name} must be 0 or 1, not {raw!r}")
    return raw == "1"


def _number(name: str, default: float, *, least: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = least - 1
    if value < least:
        raise ValueError(f"{name} must be a number of at least {least:g}, not {raw!r}")
    return value


@dataclass(frozen=True)
class WebhookSettings:
    retry_schedule: tuple[float, ...]
    disable_after: int
    timeout_s: float
    connect_timeout_s: float
    allow_http: bool
    allow_private_targets: bool
    lease_s: float


@lru_cache
def webhook_settings() -> WebhookSettings:
    """The settings; an invalid value raises ValueError naming its variable (call this at
    start-up so a bad value stops the process there)."""
    timeout = _number("MERCATO_WEBHOOK_TIMEOUT_S", 15, least=0.1)
    settings = WebhookSettings(
        retry_schedule=parse_schedule(
            os.environ.get("MERCATO_WEBHOOK_RETRY_SCHEDULE", "").strip() or DEFAULT_RETRY_SCHEDULE
        ),
        disable_after=int(_number("MERCATO_WEBHOOK_DISABLE_AFTER", 5, least=1)),
        timeout_s=timeout,
        connect_timeout_s=min(5.0, timeout),
        allow_http=_flag("MERCATO_WEBHOOK_ALLOW_HTTP"),
        allow_private_targets=_flag("MERCATO_WEBHOOK_ALLOW_PRIVATE_TARGETS"),
        lease_s=_number("MERCATO_LEASE_S", 60, least=1),
    )
    if settings.timeout_s > settings.lease_s / 2:
        raise ValueError(
            "MERCATO_WEBHOOK_TIMEOUT_S must not exceed half of MERCATO_LEASE_S"
            f" ({settings.lease_s / 2:g} s), not {settings.timeout_s:g}"
        )
    if settings.allow_private_targets:
        log.warning(
            "MERCATO_WEBHOOK_ALLOW_PRIVATE_TARGETS=1: webhooks may target private and loopback"
            " addresses"
        )
    return settings
