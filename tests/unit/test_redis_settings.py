"""``REDIS_URL`` and ``MERCATO_REDIS_PREFIX`` (events-and-scale-out.md, Settings), and the pieces
of the Redis transport that need no server."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mercato.events.delivery import Envelope
from mercato.events.redis_transport import backoff_s, entry_fields, envelope
from mercato.settings import get_settings


def test_redis_settings_come_from_the_environment(monkeypatch):
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("MERCATO_REDIS_PREFIX", raising=False)
    get_settings.cache_clear()
    try:
        settings = get_settings()
        assert (settings.redis_url, settings.redis_prefix) == (None, "mercato:")
        monkeypatch.setenv("REDIS_URL", "redis://cache:6379/2")
        monkeypatch.setenv("MERCATO_REDIS_PREFIX", "shop1:")
        get_settings.cache_clear()
        settings = get_settings()
        assert (settings.redis_url, settings.redis_prefix) == ("redis://cache:6379/2", "shop1:")
        monkeypatch.setenv("REDIS_URL", "cache:6379")
        get_settings.cache_clear()
        with pytest.raises(ValueError, match="REDIS_URL must be a redis://"):
            get_settings()
    finally:
        get_settings.cache_clear()


def test_an_entry_carries_the_whole_envelope():
    event = Envelope(
        "evt_1", 42, "order.placed", {"id": "order_1"}, "sel_1", datetime(2026, 1, 2, tzinfo=UTC)
    )
    fields = entry_fields(event)
    assert fields == {
        "id": "evt_1",
        "seq": "42",
        "name": "order.placed",
        "seller_id": "sel_1",
        "occurred_at": "2026-01-02T00:00:00+00:00",
        "data": '{"id":"order_1"}',
    }
    assert envelope(fields) == event
    no_seller = Envelope("evt_2", 43, "order_group.created", {}, None, event.occurred_at)
    assert envelope(entry_fields(no_seller)) == no_seller


def test_redis_errors_back_off_from_one_to_thirty_seconds():
    assert [backoff_s(n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]
    assert backoff_s(1000) == 30
