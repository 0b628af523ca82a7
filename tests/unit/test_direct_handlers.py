"""Direct handlers (``http.direct``): the same answers as FastAPI's solver, which still serves
every route or request they cannot."""

from typing import Annotated

import httpx
import pytest
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from starlette.responses import Response

from mercato.http.direct import direct_handler
from mercato.http.routing import APIRouter, RouteTable, flatten

calls: list[str] = []


async def audience(request: Request) -> str:
    calls.append("audience")
    if request.headers.get("x-pass") != "yes":
        raise HTTPException(status_code=401)
    return "member"


async def account(request: Request) -> str:
    calls.append("account")
    return request.headers.get("x-account", "none")


async def greeting(who: Annotated[str, Depends(account)]) -> str:
    return f"hello {who}"


def sync_dependency(request: Request) -> str:
    return "sync"


async def override_account() -> str:
    return "overridden"


def _app() -> tuple[FastAPI, RouteTable]:
    app = FastAPI()
    router = APIRouter(prefix="/t")

    @router.get("/plain/{item_id}")
    async def plain(
        item_id: str,
        request: Request,
        who: Annotated[str, Depends(account)],
        hello: Annotated[str, Depends(greeting)],
    ) -> dict:
        return {"item": item_id, "who": who, "hello": hello, "path": request.url.path}

    @router.get("/query")
    async def with_query(limit: Annotated[int, Query()] = 5) -> dict:
        return {"limit": limit}

    @router.get("/typed/{number}")
    async def typed(number: int) -> dict:
        return {"number": number}

    @router.get("/sync")
    async def with_sync(value: Annotated[str, Depends(sync_dependency)]) -> dict:
        return {"value": value}

    table = RouteTable(flatten(router, dependencies=[Depends(audience)], app=app))
    app.router.routes.append(table)
    return app, table


def _direct(table: RouteTable, path: str) -> bool:
    route = next(route for route in table.routes if route.path == path)
    return direct_handler(route, route.get_route_handler()) is not None


@pytest.fixture
def app_and_table():
    calls.clear()
    return _app()


async def _get(app: FastAPI, path: str, **headers: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.get(path, headers=headers)


def test_only_routes_of_request_only_inputs_are_served_directly(app_and_table):
    _, table = app_and_table
    assert _direct(table, "/t/plain/{item_id}")
    assert not _direct(table, "/t/query")  # a query parameter to validate
    assert not _direct(table, "/t/typed/{number}")  # a path parameter to convert
    assert not _direct(table, "/t/sync")  # FastAPI runs ``def`` dependencies in a thread


async def test_a_direct_handler_resolves_each_dependency_once_in_order(app_and_table):
    app, _ = app_and_table
    response = await _get(app, "/t/plain/x1", **{"x-pass": "yes", "x-account": "ann"})
    assert response.json() == {
        "item": "x1",
        "who": "ann",
        "hello": "hello ann",
        "path": "/t/plain/x1",
    }
    # The audience first (the router's dependency), then ``account`` once although two
    # parameters depend on it — as FastAPI's per-request cache would.
    assert calls == ["audience", "account"]


async def test_dependency_errors_answer_as_they_would_through_fastapi(app_and_table):
    app, _ = app_and_table
    assert (await _get(app, "/t/plain/x1")).status_code == 401
    assert calls == ["audience"]


async def test_routes_it_cannot_serve_keep_fastapis_validation(app_and_table):
    app, _ = app_and_table
    assert (await _get(app, "/t/query?limit=7", **{"x-pass": "yes"})).json() == {"limit": 7}
    assert (await _get(app, "/t/query?limit=x", **{"x-pass": "yes"})).status_code == 422
    assert (await _get(app, "/t/typed/12", **{"x-pass": "yes"})).json() == {"number": 12}
    assert (await _get(app, "/t/sync", **{"x-pass": "yes"})).json() == {"value": "sync"}


async def test_dependency_overrides_send_requests_to_fastapis_solver(app_and_table):
    app, _ = app_and_table
    app.dependency_overrides[account] = override_account
    response = await _get(app, "/t/plain/x1", **{"x-pass": "yes", "x-account": "ann"})
    assert response.json()["who"] == "overridden"
    assert response.json()["hello"] == "hello overridden"


async def test_requests_fastapis_telemetry_records_keep_its_handler(app_and_table):
    """FastAPI's handler traces the dependency and endpoint steps of a request its native
    telemetry records (``scope["fastapi.telemetry"]``)."""
    _, table = app_and_table
    route = next(route for route in table.routes if route.path == "/t/plain/{item_id}")
    served: list[str] = []

    async def fallback(request: Request) -> Response:
        served.append(request.url.path)
        return Response(b"traced")

    handler = direct_handler(route, fallback)
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/t/plain/x",
        "query_string": b"",
        "headers": [(b"x-pass", b"yes")],
        "path_params": {"item_id": "x"},
        "fastapi.telemetry": object(),
    }
    assert (await handler(Request(scope))).body == b"traced"
    assert served == ["/t/plain/x"] and calls == []


def test_every_read_route_of_the_api_is_served_directly():
    from mercato.http.app import create_app

    table = next(r for r in create_app().router.routes if isinstance(r, RouteTable))
    reads = [route for route in table.routes if "GET" in route.methods]
    assert len(reads) > 30
    assert [r.path for r in reads if direct_handler(r, r.get_route_handler()) is None] == []
