"""``/docs`` works offline (Swagger UI from the installed package, nothing from a CDN), and the
methods of a path are told completely: ``OPTIONS``, ``HEAD`` and the ``Allow`` of a 405."""

from __future__ import annotations

import re

from tests.api.helpers import ok


async def test_docs_page_references_nothing_outside_the_server(client):
    page = await client.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "SwaggerUIBundle" in html
    # No absolute or protocol-relative URL: a CDN would leave the page blank offline.
    assert not re.search(r"https?:|//[\w.-]+\.\w", html), html
    assert "validatorUrl" in html and '"validatorUrl": null' in html  # no public validator badge
    assert "url: '/openapi.json'" in html


async def test_docs_assets_load_from_the_server(client):
    html = (await client.get("/docs")).text
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert {a.rsplit("/", 1)[-1] for a in assets} == {
        "swagger-ui-bundle.js",
        "swagger-ui.css",
        "favicon-32x32.png",
    }
    kinds = {"js": "javascript", "css": "text/css", "png": "image/png"}
    for asset in assets:
        response = await client.get(asset)
        assert response.status_code == 200, asset
        assert kinds[asset.rsplit(".", 1)[-1]] in response.headers["content-type"], asset
        assert len(response.content) > 500, asset
    assert (await client.get("/redoc")).status_code == 404  # not served rather than blank


async def test_options_lists_every_method_of_the_path(client):
    cases = {
        "/admin/products": "GET, HEAD, OPTIONS, POST",
        "/admin/products/prod_x": "DELETE, GET, HEAD, OPTIONS, POST",
        "/store/carts/cart_x/complete": "OPTIONS, POST",
        "/health": "GET, HEAD, OPTIONS",
        # A literal path is its own route's, as in OpenAPI, though /admin/users/{user_id} matches.
        "/admin/users/me": "GET, HEAD, OPTIONS",
    }
    for path, allow in cases.items():
        response = await client.options(path)
        assert response.status_code == 204, path
        assert response.headers["allow"] == allow, path
        assert response.content == b""
    assert (await client.options("/nowhere")).status_code == 404


async def test_a_405_lists_every_method_of_the_path(client, admin_headers):
    # Before: ``Allow: GET`` (only the first route whose path matched).
    response = await client.delete("/admin/products", headers=admin_headers)
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, OPTIONS, POST"
    assert response.json() == {"type": "not_allowed", "message": "Method DELETE is not allowed"}
    response = await client.put("/admin/products/prod_x", headers=admin_headers)
    assert (response.status_code, response.headers["allow"]) == (
        405,
        "DELETE, GET, HEAD, OPTIONS, POST",
    )
    response = await client.get("/store/carts/cart_x/complete")
    assert (response.status_code, response.headers["allow"]) == (405, "OPTIONS, POST")


async def test_head_answers_like_get_without_a_body(client, admin_headers):
    get = await client.get("/health")
    head = await client.head("/health")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == get.headers["content-length"]
    assert head.headers["content-type"] == "application/json"
    listed = await client.head("/admin/products", headers=admin_headers)
    assert listed.status_code == 200 and listed.content == b""
    assert (await client.head("/admin/products")).status_code == 401  # still authenticated
    assert (await client.head("/docs")).status_code == 200
    assert (await client.head("/store/carts/cart_x/complete")).status_code == 405
    ok(await client.get("/admin/products", headers=admin_headers))  # GET itself unchanged
