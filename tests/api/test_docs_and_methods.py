"""``/docs`` works offline (Swagger UI from the installed package, nothing from a CDN), and the
methods of a path are told completely: ``OPTIONS``, ``HEAD`` and the ``Allow`` of a 405."""

from __future__ import annotations

import re

from tests.api.helpers import admin_headers, fast_hashing, ok  # noqa: F401


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
