"""``mercato serve``'s connection budget: workers x (pool + overflow) must fit the server."""

from __future__ import annotations

import pytest

from mercato.db.budget import OTHER_CLIENTS, ServerLimits, budget_error
from mercato.settings import get_settings

SERVER = ServerLimits(max_connections=100, reserved=3)
ROOM = 100 - 3 - OTHER_CLIENTS


def test_workers_pools_that_fit_the_room_pass():
    assert budget_error(workers=1, pool_size=10, max_overflow=10, server=SERVER) is None
    assert budget_error(workers=ROOM, pool_size=1, max_overflow=0, server=SERVER) is None
    assert budget_error(workers=2, pool_size=ROOM // 2, max_overflow=0, server=SERVER) is None


def test_one_connection_too_many_is_refused_with_the_figures():
    error = budget_error(workers=ROOM + 1, pool_size=1, max_overflow=0, server=SERVER)
    assert error is not None and "\n" not in error
    assert f"= {ROOM + 1} database connections" in error
    assert f"room for {ROOM} (max_connections 100 - 3 reserved - {OTHER_CLIENTS}" in error
    overflowing = budget_error(workers=5, pool_size=10, max_overflow=10, server=SERVER)
    assert overflowing is not None and "= 100 database connections" in overflowing


def test_the_pool_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("MERCATO_DB_POOL_SIZE", "4")
    monkeypatch.setenv("MERCATO_DB_MAX_OVERFLOW", "0")
    get_settings.cache_clear()
    try:
        settings = get_settings()
        assert (settings.db_pool_size, settings.db_max_overflow) == (4, 0)
        monkeypatch.delenv("MERCATO_DB_POOL_SIZE")
        monkeypatch.delenv("MERCATO_DB_MAX_OVERFLOW")
        get_settings.cache_clear()
        settings = get_settings()
        assert (settings.db_pool_size, settings.db_max_overflow) == (10, 10)
        for name, value in (("MERCATO_DB_POOL_SIZE", "0"), ("MERCATO_DB_MAX_OVERFLOW", "-1")):
            monkeypatch.setenv(name, value)
            get_settings.cache_clear()
            with pytest.raises(ValueError, match=name):
                get_settings()
            monkeypatch.delenv(name)
    finally:
        get_settings.cache_clear()
