"""``/app``: the admin dashboard's build served from ``MERCATO_ADMIN_DIR`` (admin-dashboard.md
§1.2) — files, the single-page fallback, traversal, cache headers, gzip, ``HEAD``, other methods,
a disabled or missing build."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest

from mercato.http.admin_app import startup_line
from mercato.http.app import create_app
from mercato.settings import get_settings

INDEX = (
    b'<!DOCTYPE html><html><head><script type="module" src="/app/assets/x-hash.js"></script>'
    b'</head><body><div id="medusa"></div></body></html>'
)
SCRIPT = b"console.log('dashboard');\n" * 40
STYLE = b"body { margin: 0 }\n" * 40
FONT = b"\x00\x01\x00\x00" + b"font" * 200
SECRET = b"the server's secret"
NOT_BUILT = {"type": "not_found", "message": "The admin dashboard is not built; run make admin"}
IDENTITY = {"Accept-Encoding": "identity"}
IMMUTABLE = "public, max-age=31536000, immutable"


def make_build(dist: Path) -> Path:
    """A fake build in ``dist``, with a secret beside it (outside the directory) and symlinks
    leading out of it and within it."""
    (dist.parent / "secret.txt").write_bytes(SECRET)
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_bytes(INDEX)
    (dist / "assets" / "x-hash.js").write_bytes(SCRIPT)
    (dist / "assets" / "x-hash.css").write_bytes(STYLE)
    (dist / "assets" / "font-hash.ttf").write_bytes(FONT)
    (dist / "manifest.json").write_bytes(b'{"name": "Medusa"}')
    (dist / "leak.txt").symlink_to(dist.parent / "secret.txt")
    (dist / "outside").symlink_to(dist.parent, target_is_directory=True)
    (dist / "assets" / "leak-hash.js").symlink_to(dist.parent / "secret.txt")
    (dist / "assets" / "dangling-hash.js").symlink_to(dist.parent / "nowhere.js")
    (dist / "alias.js").symlink_to(dist / "assets" / "x-hash.js")
    return dist


def app_serving(engine, admin_dir: str):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MERCATO_ADMIN_DIR", admin_dir)
        get_settings.cache_clear()
        try:
            return create_app(engine=engine)
        finally:
            get_settings.cache_clear()


@asynccontextmanager
async def client_of(app) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture(scope="module")
def build(tmp_path_factory) -> Path:
    return make_build(tmp_path_factory.mktemp("admin") / "dist")


@pytest.fixture(scope="module")
def dashboard_app(engine, build):
    return app_serving(engine, str(build))


@pytest.fixture
async def client(dashboard_app) -> AsyncIterator[httpx.AsyncClient]:
    async with client_of(dashboard_app) as c:
        yield c


@pytest.fixture
def serving(engine) -> Callable[[str], AbstractAsyncContextManager[httpx.AsyncClient]]:
    """``async with serving(admin_dir) as client``: an app built with ``MERCATO_ADMIN_DIR``."""
    return lambda admin_dir: client_of(app_serving(engine, admin_dir))


def assert_secure(response: httpx.Response) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"


def assert_index(response: httpx.Response) -> None:
    assert response.status_code == 200, response.text
    assert response.content == INDEX
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["etag"].startswith('"')
    assert_secure(response)


async def test_the_index_at_app_and_the_fallback_for_every_page(client):
    for path in ("/app", "/app/", "/app/index.html", "/app/orders", "/app/orders/order_01H"):
        response = await client.get(path, headers=IDENTITY)
        assert_index(response)
    # a page's fallback and the index are the same resource: one validator
    etags = {(await client.get(p, headers=IDENTITY)).headers["etag"] for p in ("/app", "/app/x")}
    assert len(etags) == 1


async def test_no_credentials_are_needed_and_no_body_limit_applies(client):
    response = await client.request(
        "GET",
        "/app/settings",
        content=b"x" * 2_000_000,
        headers={**IDENTITY, "Authorization": "Bearer not-a-token"},
    )
    assert_index(response)


async def test_assets_are_served_with_their_type_and_cached_for_a_year(client):
    for name, body, media_type in (
        ("x-hash.js", SCRIPT, "text/javascript; charset=utf-8"),
        ("x-hash.css", STYLE, "text/css; charset=utf-8"),
        ("font-hash.ttf", FONT, "font/ttf"),
    ):
        response = await client.get(f"/app/assets/{name}", headers=IDENTITY)
        assert response.status_code == 200, response.text
        assert response.content == body
        assert response.headers["content-type"] == media_type
        assert response.headers["cache-control"] == IMMUTABLE
        assert "content-encoding" not in response.headers
        assert_secure(response)
    response = await client.get("/app/manifest.json", headers=IDENTITY)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-cache"
    assert response.json() == {"name": "Medusa"}


async def test_a_missing_asset_is_404_not_the_index(client):
    for path in ("/app/assets/gone-hash.js", "/app/assets/", "/app/assets", "/app/assets/a/b"):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert response.json() == {"type": "not_found", "message": f"Route {path} was not found"}
        assert_secure(response)


@pytest.mark.parametrize(
    "path",
    [
        "/app/..%2fsecret.txt",
        "/app/assets/..%2f..%2fsecret.txt",
        "/app/%2e%2e%2fsecret.txt",
        "/app/orders/..%2f..%2f..%2fsecret.txt",
        "/app/index.html%00",
        "/app/assets/x-hash.js%00.html",
        "/app/%00",
    ],
)
async def test_traversal_and_nul_are_404(client, path):
    response = await client.get(path)
    assert response.status_code == 404, response.text
    # the path arrived decoded: the unknown-route 404 names it so
    assert response.json() == {
        "type": "not_found",
        "message": f"Route {unquote(path)} was not found",
    }
    assert SECRET not in response.content
    assert_secure(response)


async def test_symlinks_leaving_the_directory_are_404_inside_it_are_served(client):
    for path in (
        "/app/leak.txt",
        "/app/outside/secret.txt",
        "/app/assets/leak-hash.js",
        "/app/assets/dangling-hash.js",
    ):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert SECRET not in response.content
    response = await client.get("/app/alias.js", headers=IDENTITY)
    assert response.status_code == 200
    assert response.content == SCRIPT


async def test_a_backslash_is_part_of_a_name_not_a_separator(client):
    response = await client.get("/app/..%5c..%5csecret.txt", headers=IDENTITY)
    assert_index(response)  # no such file: a page of the dashboard


async def test_the_index_answers_304_to_its_etag(client, build):
    first = await client.get("/app/orders", headers=IDENTITY)
    etag = first.headers["etag"]
    for path in ("/app", "/app/orders", "/app/sellers/sel_1"):
        response = await client.get(path, headers={**IDENTITY, "If-None-Match": etag})
        assert response.status_code == 304, path
        assert response.content == b""
        assert response.headers["etag"] == etag
        assert response.headers["cache-control"] == "no-cache"
        assert_secure(response)
    # either encoding's tag, weak or in a list, validates the same content
    gzipped = await client.get("/app", headers={"Accept-Encoding": "gzip"})
    for tag in (gzipped.headers["etag"], f'"other", W/{etag}', "*"):
        response = await client.get("/app", headers={**IDENTITY, "If-None-Match": tag})
        assert response.status_code == 304, tag
    # a changed build is a new tag
    (build / "index.html").write_bytes(INDEX + b"\n")
    try:
        response = await client.get("/app", headers={**IDENTITY, "If-None-Match": etag})
        assert response.status_code == 200
        assert response.headers["etag"] != etag
    finally:
        (build / "index.html").write_bytes(INDEX)


async def test_text_is_gzipped_when_accepted(client):
    for path, body in (("/app/assets/x-hash.js", SCRIPT), ("/app/orders", INDEX)):
        response = await client.get(path, headers={"Accept-Encoding": "gzip, br"})
        assert response.status_code == 200
        assert response.headers["content-encoding"] == "gzip"
        assert response.headers["vary"] == "Accept-Encoding"
        assert response.content == body  # httpx decodes
        assert int(response.headers["content-length"]) == len(gzip.compress(body, mtime=0))
        assert_secure(response)
    for accept in ("identity", "gzip;q=0", "br", ""):
        response = await client.get("/app/assets/x-hash.js", headers={"Accept-Encoding": accept})
        assert "content-encoding" not in response.headers, accept
        assert response.headers["vary"] == "Accept-Encoding"
        assert response.content == SCRIPT
    # fonts and other binaries as they are
    response = await client.get("/app/assets/font-hash.ttf", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in response.headers
    assert response.content == FONT


async def test_head_answers_the_gets_headers_without_a_body(client):
    for path, accept in (
        ("/app", "identity"),
        ("/app/orders", "gzip"),
        ("/app/assets/x-hash.js", "identity"),
        ("/app/assets/x-hash.js", "gzip"),
    ):
        get = await client.get(path, headers={"Accept-Encoding": accept})
        head = await client.head(path, headers={"Accept-Encoding": accept})
        assert head.status_code == 200
        assert head.content == b""
        for name in ("content-type", "content-length", "cache-control", "etag"):
            assert head.headers[name] == get.headers[name], (path, name)
        assert_secure(head)
    head = await client.head("/app/assets/gone-hash.js")
    assert head.status_code == 404
    assert head.content == b""


async def test_other_methods_get_the_unknown_route_404(client):
    for method in ("POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
        for path in ("/app", "/app/orders", "/app/assets/x-hash.js"):
            response = await client.request(method, path, json={})
            assert response.status_code == 404, (method, path)
            assert response.json() == {
                "type": "not_found",
                "message": f"Route {path} was not found",
            }


async def test_only_app_and_below_are_the_dashboards(client, dashboard_app):
    response = await client.get("/apps")
    assert response.status_code == 404
    assert response.json() == {"type": "not_found", "message": "Route /apps was not found"}
    # no route: nothing in the OpenAPI schema
    paths = [getattr(route, "path", "") for route in dashboard_app.routes]
    assert not [p for p in paths if p == "/app" or p.startswith("/app/")]


async def test_without_a_build_app_says_how_to_build_it(serving, tmp_path):
    async with serving(str(tmp_path / "dist")) as client:
        for build_step in ("no directory", "no index.html"):
            for path in ("/app", "/app/orders", "/app/assets/x-hash.js"):
                response = await client.get(path)
                assert response.status_code == 404, build_step
                assert response.json() == NOT_BUILT
            assert (await client.head("/app")).status_code == 404
            (tmp_path / "dist" / "assets").mkdir(parents=True, exist_ok=True)
        # built while the server runs: served at once
        (tmp_path / "dist" / "index.html").write_bytes(INDEX)
        assert_index(await client.get("/app/orders", headers=IDENTITY))


async def test_an_empty_setting_disables_app(serving):
    async with serving("") as client:
        for path in ("/app", "/app/orders", "/app/assets/x-hash.js"):
            response = await client.get(path)
            assert response.status_code == 404
            assert response.json() == {
                "type": "not_found",
                "message": f"Route {path} was not found",
            }


def test_the_setting_defaults_to_admin_dist_of_the_working_directory(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MERCATO_ADMIN_DIR", raising=False)
    get_settings.cache_clear()
    try:
        assert get_settings().admin_dir == tmp_path.resolve() / "admin" / "dist"
        monkeypatch.setenv("MERCATO_ADMIN_DIR", "build")
        get_settings.cache_clear()
        assert get_settings().admin_dir == tmp_path.resolve() / "build"
        monkeypatch.setenv("MERCATO_ADMIN_DIR", " ")
        get_settings.cache_clear()
        assert get_settings().admin_dir is None
    finally:
        monkeypatch.delenv("MERCATO_ADMIN_DIR", raising=False)
        get_settings.cache_clear()


def test_serve_says_where_the_dashboard_is(build, tmp_path):
    assert startup_line(build, "127.0.0.1", 9000) == "Admin dashboard: http://127.0.0.1:9000/app"
    assert startup_line(tmp_path / "missing", "127.0.0.1", 9000) == NOT_BUILT["message"]
    assert (
        startup_line(None, "0.0.0.0", 80)
        == "Admin dashboard: disabled (MERCATO_ADMIN_DIR is empty)"
    )
