"""``mercato seed --demo``: its region offers only the payment providers the server really has."""

from __future__ import annotations

import pytest

from mercato.seed import seed_demo
from mercato.settings import get_settings
from mercato.unit_of_work import UnitOfWork
from tests.api.helpers import ok


@pytest.fixture
def test_provider_off(monkeypatch: pytest.MonkeyPatch):
    """The server as it runs by default: without ``MERCATO_ENABLE_TEST_PROVIDER``."""
    monkeypatch.delenv("MERCATO_ENABLE_TEST_PROVIDER", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()  # read again once monkeypatch has restored the environment


async def _seed(app):
    return await seed_demo(UnitOfWork(app.state.sessionmaker))


async def _store_regions(client, demo) -> list[dict]:
    headers = {"x-publishable-api-key": demo.publishable_key}
    return ok(await client.get("/store/regions", headers=headers))["regions"]


async def test_demo_region_offers_only_the_default_provider_when_the_test_one_is_off(
    client, app, fast_hashing, test_provider_off
):
    demo = await _seed(app)
    assert demo.payment_providers == ["pp_system_default"]  # as `seed --demo` prints them
    [region] = await _store_regions(client, demo)
    # It listed pp_test as enabled too, and a pp_test session then failed as "not available".
    assert region["payment_providers"] == [{"id": "pp_system_default", "is_enabled": True}]


async def test_demo_region_offers_the_test_provider_when_it_is_on(client, app, fast_hashing):
    assert get_settings().enable_test_provider
    demo = await _seed(app)
    [region] = await _store_regions(client, demo)
    assert region["payment_providers"] == [
        {"id": "pp_system_default", "is_enabled": True},
        {"id": "pp_test", "is_enabled": True},
    ]


async def test_a_region_keeps_the_test_provider_but_shows_it_disabled_when_it_is_off(
    client, app, admin_headers, monkeypatch
):
    created = ok(
        await client.post(
            "/admin/regions",
            json={
                "name": "Testland",
                "currency_code": "eur",
                "payment_providers": ["pp_system_default", "pp_test"],
            },
            headers=admin_headers,
        )
    )["region"]
    monkeypatch.delenv("MERCATO_ENABLE_TEST_PROVIDER")
    get_settings.cache_clear()
    try:
        region = ok(await client.get(f"/admin/regions/{created['id']}", headers=admin_headers))
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert region["region"]["payment_providers"] == [
        {"id": "pp_system_default", "is_enabled": True},
        {"id": "pp_test", "is_enabled": False},
    ]


async def test_demo_has_return_reasons_and_a_return_option_per_seller(
    client, app, admin_headers, fast_hashing
):
    demo = await _seed(app)
    store = {"x-publishable-api-key": demo.publishable_key}
    reasons = ok(await client.get("/store/return-reasons?limit=100", headers=store))
    by_value = {r["value"]: r for r in reasons["return_reasons"]}
    assert set(by_value) == {"wrong_size", "damaged", "quality", "defective", "not_as_described"}
    quality = by_value["quality"]["id"]
    assert by_value["defective"]["parent_return_reason_id"] == quality
    assert by_value["wrong_size"]["parent_return_reason_id"] is None
    options = ok(
        await client.get(
            "/admin/shipping-options?is_return=true&fields=seller_id,amount", headers=admin_headers
        )
    )["shipping_options"]
    assert sorted(o["amount"] for o in options) == [3, 3, 3]
    assert len({o["seller_id"] for o in options}) == len(demo.seller_handles) == 3
