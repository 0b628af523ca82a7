"""Handles of sellers and products (marketplace-setup.md): derived from the name when omitted,
lower-case kebab, transliterated where a script has a letter-by-letter spelling and kept as
Unicode letters otherwise; a derived handle that is taken gets ``-2``, ``-3``, …; a chosen one
that is taken is a 422."""

from __future__ import annotations

import asyncio

import pytest

from tests.api.helpers import (
    create_product,
    create_seller,
    error,
    ok,
)

NAMES = [
    ("東京茶舗", "東京茶舗"),  # Japanese: kept (kanji readings depend on the language)
    ("京都 お茶の店", "京都-お茶の店"),
    ("Чайный дом", "chaynyy-dom"),  # Cyrillic: transliterated
    ("Кофейня", "kofeynya"),
    ("متجر الشاي", "متجر-الشاي"),  # Arabic: kept (vowels are not written)
    ("بيت القهوة", "بيت-القهوة"),
]


async def test_sellers_named_in_other_scripts_get_distinct_meaningful_handles(
    client, admin_headers
):
    for name, handle in NAMES:
        seller = await create_seller(client, admin_headers, name)
        assert (seller["name"], seller["handle"]) == (name, handle)
    listed = ok(await client.get("/admin/sellers?limit=100", headers=admin_headers))["sellers"]
    assert sorted(s["handle"] for s in listed) == sorted(h for _, h in NAMES)
    # A handle is looked up as stored.
    found = ok(
        await client.get("/admin/sellers", params={"handle": "東京茶舗"}, headers=admin_headers)
    )
    assert [s["name"] for s in found["sellers"]] == ["東京茶舗"]


async def test_products_named_in_other_scripts_get_distinct_meaningful_handles(
    client, admin_headers
):
    seller = await create_seller(client, admin_headers)
    for name, handle in NAMES:
        product = await create_product(client, admin_headers, seller["id"], title=name)
        assert (product["title"], product["handle"]) == (name, handle)


@pytest.mark.parametrize(
    ("name", "handle"),
    [
        ("  Café Zoë ", "cafe-zoe"),
        ("Straße & Søn", "strasse-son"),
        ("Ｆｕｌｌ Ｗｉｄｔｈ", "full-width"),
        ("Ελληνικά", "ellinika"),
        ("नमस्ते दुनिया", "नमस्ते-दुनिया"),
        ("★★★", "seller"),
    ],
)
async def test_derived_seller_handles(client, admin_headers, name, handle):
    assert (await create_seller(client, admin_headers, name))["handle"] == handle


async def test_a_taken_derived_handle_gets_a_suffix(client, admin_headers):
    handles = [
        (await create_seller(client, admin_headers, name))["handle"]
        for name in ("Tea", "TEA", "tea!", "Tea")
    ]
    assert handles == ["tea", "tea-2", "tea-3", "tea-4"]
    seller = await create_seller(client, admin_headers, "Other")
    products = [
        (await create_product(client, admin_headers, seller["id"], title=title))["handle"]
        for title in ("Чай", "ЧАЙ", "Chay")
    ]
    assert products == ["chay", "chay-2", "chay-3"]
    # The first free suffix is taken, whatever the order handles were freed or chosen in.
    await create_seller(client, admin_headers, "Chosen", handle="mate-2")
    assert (await create_seller(client, admin_headers, "Mate"))["handle"] == "mate"
    assert (await create_seller(client, admin_headers, "Mate"))["handle"] == "mate-3"


async def test_a_deleted_sellers_handle_is_free_again(client, admin_headers):
    seller = await create_seller(client, admin_headers, "Tea")
    ok(await client.delete(f"/admin/sellers/{seller['id']}", headers=admin_headers))
    assert (await create_seller(client, admin_headers, "Tea"))["handle"] == "tea"


async def test_a_taken_chosen_handle_is_a_422(client, admin_headers):
    seller = await create_seller(client, admin_headers, "東京茶舗")
    response = await client.post(
        "/admin/sellers", json={"name": "Other", "handle": "東京茶舗"}, headers=admin_headers
    )
    error(response, 422, "duplicate_error", "Seller with handle 東京茶舗 already exists")
    other = await create_seller(client, admin_headers, "Other")
    response = await client.post(
        f"/admin/sellers/{other['id']}", json={"handle": " 東京茶舗 "}, headers=admin_headers
    )
    error(response, 422, "duplicate_error", "Seller with handle 東京茶舗 already exists")
    await create_product(client, admin_headers, seller["id"], title="Чай")
    response = await client.post(
        "/admin/products",
        json={"title": "Tea", "seller_id": seller["id"], "handle": "chay"},
        headers=admin_headers,
    )
    error(response, 422, "duplicate_error", "Product with handle chay already exists")


@pytest.mark.parametrize("handle", ["Upper", "two  spaces", "-edge", "a--b", "snake_case"])
async def test_a_chosen_handle_must_be_kebab_case(client, admin_headers, handle):
    response = await client.post(
        "/admin/sellers", json={"name": "Tea", "handle": handle}, headers=admin_headers
    )
    error(
        response,
        400,
        "invalid_data",
        "Invalid request: handle: must be lower-case kebab-case (letters, digits, -)",
    )


async def test_concurrent_sellers_of_one_name_get_distinct_handles(client, admin_headers):
    responses = await asyncio.gather(
        *(
            client.post("/admin/sellers", json={"name": "Rush"}, headers=admin_headers)
            for _ in range(6)
        )
    )
    handles = sorted(ok(response)["seller"]["handle"] for response in responses)
    assert handles == ["rush", "rush-2", "rush-3", "rush-4", "rush-5", "rush-6"]


async def test_concurrent_sellers_choosing_one_handle_get_one_seller_and_422s(
    client, admin_headers
):
    responses = await asyncio.gather(
        *(
            client.post(
                "/admin/sellers",
                json={"name": f"Rush {n}", "handle": "rush"},
                headers=admin_headers,
            )
            for n in range(6)
        )
    )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200, 422, 422, 422, 422, 422], [r.text for r in responses]
    for response in responses:
        if response.status_code == 422:
            error(response, 422, "duplicate_error", "Seller with handle rush already exists")
