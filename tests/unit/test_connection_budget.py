"""The connection budget (events-and-scale-out.md): what a process needs, the live processes'
reservations and the server's room; the refusal names every figure."""

from __future__ import annotations

import pytest

from mercato.db.budget import Registration, Reservations, ServerLimits, budget_error
from mercato.settings import get_settings

SERVER = ServerLimits(max_connections=100, reserved=3)


def test_the_spec_example_is_refused_with_its_message():
    error = budget_error(Reservations(12, 220), 20, ServerLimits(200, 3))
    assert error == (
        "Connection budget exceeded: 12 live processes reserve 220 connections, this one needs"
        " 20; PostgreSQL allows 197 (max_connections 200 \u2212 3 reserved). Lower"
        " MERCATO_DB_POOL_SIZE or raise max_connections."
    )


def test_a_process_that_fits_exactly_passes_and_one_more_connection_does_not():
    assert SERVER.usable == 97
    assert budget_error(Reservations(0, 0), 97, SERVER) is None
    assert budget_error(Reservations(3, 77), 20, SERVER) is None
    error = budget_error(Reservations(3, 78), 20, SERVER)
    assert error is not None and "3 live processes reserve 78 connections" in error
    alone = budget_error(Reservations(0, 0), 98, SERVER)
    assert alone is not None and alone.startswith(
        "Connection budget exceeded: 0 live processes reserve 0 connections, this one needs 98;"
    )
    one = budget_error(Reservations(1, 90), 20, SERVER)
    assert one is not None and "1 live process reserves 90 connections" in one


@pytest.fixture
def settings_env(monkeypatch):
    """Settings read again from the environment ``monkeypatch`` sets, and again after."""
    for name in ("MERCATO_DB_POOL_SIZE", "MERCATO_DB_MAX_OVERFLOW", "MERCATO_DB_BUDGET_CHECK"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def test_budgets_default_to_20_for_an_api_process_and_10_for_a_worker(settings_env):
    settings = get_settings()
    assert (settings.pool_budget("api"), settings.pool_budget("worker")) == (20, 10)
    assert (settings.db_max_overflow, settings.db_budget_check) == (0, "enforce")


def test_the_pool_settings_come_from_the_environment(settings_env):
    settings_env.setenv("MERCATO_DB_POOL_SIZE", "4")
    settings_env.setenv("MERCATO_DB_MAX_OVERFLOW", "2")
    settings_env.setenv("MERCATO_DB_BUDGET_CHECK", "warn")
    get_settings.cache_clear()
    settings = get_settings()
    assert (settings.pool_size("api"), settings.pool_size("worker")) == (4, 4)
    assert (settings.pool_budget("api"), settings.pool_budget("worker")) == (6, 6)
    assert settings.db_budget_check == "warn"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MERCATO_DB_POOL_SIZE", "0"),
        ("MERCATO_DB_POOL_SIZE", "many"),
        ("MERCATO_DB_MAX_OVERFLOW", "-1"),
        ("MERCATO_DB_BUDGET_CHECK", "strict"),
    ],
)
def test_an_invalid_value_names_its_variable(settings_env, name, value):
    settings_env.setenv(name, value)
    get_settings.cache_clear()
    with pytest.raises(ValueError, match=name):
        get_settings()


def test_a_registration_reaches_the_uvicorn_workers_through_the_environment(monkeypatch):
    monkeypatch.delenv("MERCATO_PROCESS_ID", raising=False)
    monkeypatch.delenv("MERCATO_PROCESS_BUDGET", raising=False)
    assert Registration.from_environment() is None
    Registration(id="proc_1", kind="api", pool_budget=40).export()
    try:
        assert Registration.from_environment() == Registration("proc_1", "api", 40)
    finally:
        monkeypatch.delenv("MERCATO_PROCESS_ID")
        monkeypatch.delenv("MERCATO_PROCESS_BUDGET")
