"""Plain helpers shared by the HTTP tests; their fixtures live in ``tests/api/conftest.py``."""

from __future__ import annotations

import base64
import itertools
from typing import Any

import httpx

from mercato.unit_of_work import UnitOfWork
from mercato.users.service import create_user

_numbers = itertools.count(1)
ADMIN_EMAIL = "admin@example.com"
PASSWORD = "supersecret"


def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    """The JSON body of a response that must have ``status`` (the body is shown on failure)."""
    assert response.status_code == status, (response.status_code, response.text)
    return response.json()


def error(response: httpx.Response, status: int, type_: str, message: str | None = None) -> str:
    """Assert an error response; returns its message."""
    body = ok(response, status)
    assert body["type"] == type_, body
    if message is not None:
        assert body["message"] == message, body
    return body["message"]


async def create_admin(app, *, email: str = ADMIN_EMAIL, password: str = PASSWORD) -> str:
    """An admin user created as the CLI does (``mercato user create``); returns its id."""
    user = await create_user(UnitOfWork(app.state.sessionmaker), email=email, password=password)
    return user.id


async def login(client: httpx.AsyncClient, actor: str, email: str, password: str) -> dict:
    """Log in at ``/auth/<actor>/emailpass``; returns bearer headers."""
    body = ok(
        await client.post(f"/auth/{actor}/emailpass", json={"email": email, "password": password})
    )
    return bearer(body["token"])


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def basic(secret_token: str) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(f"{secret_token}:".encode()).decode()}


async def create_sales_channel(client, admin: dict, name: str = "Webshop", **extra: Any) -> dict:
    body = ok(
        await client.post("/admin/sales-channels", json={"name": name, **extra}, headers=admin)
    )
    return body["sales_channel"]


async def create_api_key(
    client, admin: dict, type_: str = "publishable", title: str = "Key"
) -> dict:
    body = ok(
        await client.post("/admin/api-keys", json={"title": title, "type": type_}, headers=admin)
    )
    return body["api_key"]


async def link_channels(client, admin: dict, key_id: str, add=(), remove=()) -> dict:
    body = {"add": list(add), "remove": list(remove)}
    response = await client.post(
        f"/admin/api-keys/{key_id}/sales-channels", json=body, headers=admin
    )
    return ok(response)["api_key"]


async def create_store_key(client, admin: dict, *channel_ids: str) -> dict[str, str]:
    """A publishable key linked to ``channel_ids`` (a new channel if none); returns store headers."""
    if not channel_ids:
        channel_ids = ((await create_sales_channel(client, admin))["id"],)
    key = await create_api_key(client, admin)
    await link_channels(client, admin, key["id"], add=channel_ids)
    return {"x-publishable-api-key": key["token"]}


async def create_region(client, admin: dict, **fields: Any) -> dict:
    body = {"name": "United States", "currency_code": "usd", **fields}
    return ok(await client.post("/admin/regions", json=body, headers=admin))["region"]


async def create_seller(client, admin: dict, name: str = "Acme", **fields: Any) -> dict:
    body = ok(await client.post("/admin/sellers", json={"name": name, **fields}, headers=admin))
    return body["seller"]


def variant(
    title: str = "Default", amount: float | int = 10, currency: str = "usd", **extra
) -> dict:
    return {"title": title, "prices": [{"amount": amount, "currency_code": currency}], **extra}


async def create_product(
    client, admin: dict, seller_id: str, *, channels: tuple[str, ...] = (), **fields: Any
) -> dict:
    body = {
        "title": f"Product {next(_numbers)}",
        "seller_id": seller_id,
        "sales_channels": [{"id": c} for c in channels],
        "variants": [variant()],
        **fields,
    }
    return ok(await client.post("/admin/products", json=body, headers=admin))["product"]
