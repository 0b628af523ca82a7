"""``mercato demo checkout``: a three-seller checkout through the HTTP API of a running server."""

from __future__ import annotations

import json
from typing import Any

import httpx

from mercato.domain.payments import PP_SYSTEM_DEFAULT
from mercato.seed import ADMIN_EMAIL, PASSWORD


class DemoError(RuntimeError):
    pass


def _ok(response: httpx.Response) -> dict[str, Any]:
    if response.status_code >= 400:
        raise DemoError(
            f"{response.request.method} {response.request.url.path} → "
            f"{response.status_code} {response.text}"
        )
    return response.json()


def run_checkout(base_url: str, publishable_key: str) -> dict[str, Any]:
    """Guest checkout of one product from each of three sellers; returns the admin's view."""
    store = {"x-publishable-api-key": publishable_key}
    with httpx.Client(base_url=base_url, timeout=30) as client:
        region = _ok(client.get("/store/regions", headers=store))["regions"][0]
        products = _ok(
            client.get(
                "/store/products",
                headers=store,
                params={"limit": 100, "fields": "id,seller_id,variants.id"},
            )
        )["products"]
        by_seller: dict[str, str] = {}
        for product in products:
            if product["variants"]:
                by_seller.setdefault(product["seller_id"], product["variants"][0]["id"])
        if len(by_seller) < 3:
            raise DemoError("the demo needs three sellers with products: run `mercato seed --demo`")
        items = [{"variant_id": v, "quantity": 1} for v in list(by_seller.values())[:3]]
        cart = _ok(
            client.post(
                "/store/carts",
                headers=store,
                json={
                    "region_id": region["id"],
                    "email": "demo-guest@mercato.test",
                    "items": items,
                },
            )
        )["cart"]
        options = _ok(
            client.get("/store/shipping-options", headers=store, params={"cart_id": cart["id"]})
        )["shipping_options"]
        chosen: dict[str, str] = {}
        for option in options:
            chosen.setdefault(option["seller_id"], option["id"])
        for option_id in chosen.values():
            _ok(
                client.post(
                    f"/store/carts/{cart['id']}/shipping-methods",
                    headers=store,
                    json={"option_id": option_id},
                )
            )
        collection = _ok(
            client.post("/store/payment-collections", headers=store, json={"cart_id": cart["id"]})
        )["payment_collection"]
        _ok(
            client.post(
                f"/store/payment-collections/{collection['id']}/payment-sessions",
                headers=store,
                json={"provider_id": PP_SYSTEM_DEFAULT},
            )
        )
        completion = _ok(client.post(f"/store/carts/{cart['id']}/complete", headers=store))
        if completion["type"] != "order_group":
            raise DemoError(f"checkout did not complete: {json.dumps(completion['error'])}")
        token = _ok(
            client.post("/auth/user/emailpass", json={"email": ADMIN_EMAIL, "password": PASSWORD})
        )["token"]
        group_id = completion["order_group"]["id"]
        return _ok(
            client.get(
                f"/admin/order-groups/{group_id}",
                headers={"Authorization": f"Bearer {token}"},
            )
        )["order_group"]
