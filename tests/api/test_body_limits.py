"""The request-body limit (``MERCATO_MAX_BODY_BYTES``, 413 before the body is read or stored) and
the 64 KiB bound of ``metadata`` (api-conventions.md, "Request validation")."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import orjson
import pytest
from sqlalchemy import func, select

from mercato.carts.models import Cart
from mercato.http.app import create_app
from mercato.settings import get_settings
from tests.api.cart_helpers import new_cart, sell
from tests.api.helpers import (
    error,
    ok,
)

TOO_LARGE = {"type": "payload_too_large", "message": "Request body exceeds 1048576 bytes"}


async def carts_stored(app) -> int:
    async with app.state.sessionmaker() as session:
        return await session.scalar(select(func.count()).select_from(Cart))


async def test_a_10_mb_cart_is_refused_before_anything_is_stored(client, app, store_headers):
    body = orjson.dumps({"metadata": {"blob": "x" * 10_000_000}})
    response = await client.post(
        "/store/carts",
        content=body,
        headers={**store_headers, "content-type": "application/json"},
    )
    assert response.status_code == 413, response.text
    assert response.json() == TOO_LARGE
    assert await carts_stored(app) == 0


async def test_a_chunked_body_is_counted_as_it_streams(client, app, store_headers):
    """Without a ``Content-Length`` the limit is enforced on the bytes as they arrive; the
    refusal comes before the rest of the stream is even produced."""
    produced = []

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"metadata": {"blob": "'
        for _ in range(64):  # 64 × 64 KiB = 4 MiB
            produced.append(1)
            yield b"x" * 65536
        yield b'"}}'

    response = await client.post(
        "/store/carts",
        content=chunks(),
        headers={**store_headers, "content-type": "application/json"},
    )
    assert response.status_code == 413, response.text
    assert response.json() == TOO_LARGE
    assert len(produced) < 64
    assert await carts_stored(app) == 0


async def test_a_chunked_body_within_the_limit_reaches_the_route(client, app, market):
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"metadata": {"note": "'
        yield b"y" * 1000
        yield b'"}}'

    response = await client.post(
        "/store/carts",
        content=chunks(),
        headers={**market.store, "content-type": "application/json"},
    )
    assert ok(response)["cart"]["metadata"] == {"note": "y" * 1000}
    assert await carts_stored(app) == 1


async def test_the_setting_changes_the_limit(engine, market, monkeypatch):
    monkeypatch.setenv("MERCATO_MAX_BODY_BYTES", "2000")
    get_settings.cache_clear()
    try:
        small_app = create_app(engine=engine)
    finally:
        monkeypatch.delenv("MERCATO_MAX_BODY_BYTES")
        get_settings.cache_clear()
    transport = httpx.ASGITransport(app=small_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.post(
            "/store/carts", json={"metadata": {"a": "x" * 2000}}, headers=market.store
        )
        assert response.status_code == 413
        assert response.json() == {
            "type": "payload_too_large",
            "message": "Request body exceeds 2000 bytes",
        }
        response = await client.post(
            "/store/carts", json={"metadata": {"a": "x" * 1900}}, headers=market.store
        )
        assert response.status_code == 200, response.text


def test_the_setting_must_be_a_positive_integer(monkeypatch):
    for wrong in ("0", "-1", "1MB"):
        monkeypatch.setenv("MERCATO_MAX_BODY_BYTES", wrong)
        get_settings.cache_clear()
        try:
            with pytest.raises(ValueError, match="MERCATO_MAX_BODY_BYTES"):
                get_settings()
        finally:
            get_settings.cache_clear()
    monkeypatch.delenv("MERCATO_MAX_BODY_BYTES")
    assert get_settings().max_body_bytes == 1048576


# --- metadata -------------------------------------------------------------------------------------

BIG = {"blob": "x" * 65536}  # 65,547 bytes serialized


async def test_metadata_is_at_most_64_kib(client, app, market):
    response = await client.post("/store/carts", json={"metadata": BIG}, headers=market.store)
    error(
        response,
        400,
        "invalid_data",
        "Invalid request: metadata: must be at most 65536 bytes serialized",
    )
    assert await carts_stored(app) == 0
    fits = {"blob": "x" * (65536 - 11)}
    assert len(orjson.dumps(fits)) == 65536
    cart = ok(await client.post("/store/carts", json={"metadata": fits}, headers=market.store))
    assert cart["cart"]["metadata"] == fits


@pytest.mark.parametrize("number", [b"NaN", b"Infinity", b"-Infinity", b"1e400"])
async def test_metadata_cannot_hold_what_json_cannot_store(client, app, market, number):
    response = await client.post(
        "/store/carts",
        content=b'{"metadata": {"a": ' + number + b"}}",
        headers={**market.store, "content-type": "application/json"},
    )
    error(
        response, 400, "invalid_data", "Invalid request: metadata: must not contain NaN or Infinity"
    )
    assert await carts_stored(app) == 0


async def test_nested_metadata_is_bounded_too(client, market):
    product = await sell(client, market.admin, market.acme["id"], market.channel_id)
    cart = await new_cart(client, market.store)
    for path, body, field in [
        (
            f"/store/carts/{cart['id']}",
            {"shipping_address": {"metadata": BIG}},
            "shipping_address.metadata",
        ),
        (
            f"/store/carts/{cart['id']}/line-items",
            {"variant_id": product["id"], "quantity": 1, "metadata": BIG},
            "metadata",
        ),
        ("/admin/sellers", {"name": "Big", "metadata": BIG}, "metadata"),
        (
            f"/admin/products/{product['product']['id']}/variants/{product['id']}",
            {"metadata": BIG},
            "metadata",
        ),
    ]:
        headers = market.admin if path.startswith("/admin") else market.store
        response = await client.post(path, json=body, headers=headers)
        assert error(response, 400, "invalid_data").startswith(
            f"Invalid request: {field}: must be at most 65536 bytes"
        ), path
    cart = ok(await client.get(f"/store/carts/{cart['id']}", headers=market.store))["cart"]
    assert cart["items"] == [] and cart["shipping_address"] is None


async def test_every_metadata_of_every_body_is_documented_as_bounded(client):
    """Each ``metadata`` (and provider ``data``) in the OpenAPI schema says its bound."""
    components = ok(await client.get("/openapi.json"))["components"]["schemas"]
    seen = 0
    for model in components.values():
        for name, prop in model.get("properties", {}).items():
            if name in ("metadata", "data"):
                seen += 1
                assert "At most 65536 bytes serialized." in json_text(prop), (model, name)
    assert seen > 20


def json_text(value) -> str:
    return orjson.dumps(value).decode()
