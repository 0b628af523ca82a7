"""``RouteTable`` finds the route plain routers would: declaration order, 405s, 404s."""

import httpx
import pytest
from fastapi import Depends, FastAPI, HTTPException, Request

from mercato.http.routing import APIRouter, RouteTable, flatten


def _app() -> FastAPI:
    app = FastAPI()
    first = APIRouter(prefix="/shop")

    @first.get("/{kind}/items")
    async def by_kind(kind: str) -> dict:
        return {"route": "by_kind", "kind": kind}

    @first.get("/books/items")
    async def books() -> dict:  # declared after by_kind, so by_kind answers /shop/books/items
        return {"route": "books"}

    @first.get("/books")
    async def list_books() -> dict:
        return {"route": "list_books"}

    @first.post("/books")
    async def add_book() -> dict:
        return {"route": "add_book"}

    anywhere = APIRouter()

    @anywhere.get("/{section}/about")
    async def about(section: str) -> dict:
        return {"route": "about", "section": section}

    def guarded(request: Request) -> None:
        if request.headers.get("x-pass") != "yes":
            raise HTTPException(status_code=401)

    table = RouteTable(
        [
            *flatten(first, dependencies=[], app=app),
            *flatten(anywhere, dependencies=[Depends(guarded)], app=app),
        ]
    )
    app.router.routes.append(table)
    return app


@pytest.fixture
async def client():
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield client


async def test_the_first_declared_route_that_matches_answers(client):
    assert (await client.get("/shop/books/items")).json() == {"route": "by_kind", "kind": "books"}
    assert (await client.get("/shop/books")).json() == {"route": "list_books"}
    assert (await client.post("/shop/books")).json() == {"route": "add_book"}


async def test_routes_with_a_parameter_in_the_first_segments_match_any_path(client):
    assert (await client.get("/shop/about", headers={"x-pass": "yes"})).json() == {
        "route": "about",
        "section": "shop",
    }
    assert (await client.get("/elsewhere/about", headers={"x-pass": "yes"})).status_code == 200


async def test_flattened_routes_run_the_given_dependencies(client):
    assert (await client.get("/shop/about")).status_code == 401


async def test_wrong_method_no_match_and_trailing_slash(client):
    wrong = await client.delete("/shop/books")
    # As with plain routers, the first route whose path matched names the allowed methods.
    assert (wrong.status_code, wrong.headers["allow"]) == (405, "GET")
    assert (await client.get("/shop/nothing")).status_code == 404
    assert (await client.get("/nowhere")).status_code == 404
    slash = await client.get("/shop/books/")
    assert slash.status_code == 307 and slash.headers["location"] == "http://t/shop/books"


def test_url_path_for_finds_a_route_by_name():
    table = next(r for r in _app().router.routes if isinstance(r, RouteTable))
    assert table.url_path_for("by_kind", kind="dvd") == "/shop/dvd/items"
    with pytest.raises(Exception, match="No route exists"):
        table.url_path_for("missing")
