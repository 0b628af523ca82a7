import gc

import httpx


async def test_health_reports_database_ok(client):
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_unknown_route_is_a_json_404(client):
    response = await client.get("/nope")
    assert response.status_code == 404
    assert response.json()["type"] == "not_found"


async def test_openapi_names_every_operation_explicitly(client):
    schema = (await client.get("/openapi.json")).json()
    operation_ids = [op["operationId"] for path in schema["paths"].values() for op in path.values()]
    assert len(operation_ids) == len(set(operation_ids)) > 50
    # FastAPI's generated ids contain the path with underscores; ours are CamelCase names.
    assert all("_" not in op and op[0].isupper() for op in operation_ids)
    assert (await client.get("/docs")).status_code == 200


async def test_routing_of_the_included_routers(client, admin_headers):
    """Routes, 404s, 405s and trailing-slash redirects are FastAPI's, and each audience's
    dependency runs for its routes (``http.routers``)."""
    near_misses = ("/admin/order-group", "/admin/order-groups-x", "/admin/nothing", "/store")
    for path in near_misses:
        response = await client.get(path, headers=admin_headers)
        assert (response.status_code, response.json()["type"]) == (404, "not_found"), path
    listed = await client.get("/admin/order-groups", headers=admin_headers)
    assert listed.status_code == 200
    one = await client.get("/admin/order-groups/og_missing", headers=admin_headers)
    assert (one.status_code, one.json()["type"]) == (404, "not_found")
    assert "og_missing" in one.json()["message"]  # the route with the path parameter answered
    wrong_method = await client.delete("/admin/order-groups", headers=admin_headers)
    assert wrong_method.status_code == 405
    assert wrong_method.headers["allow"] == "GET, HEAD, OPTIONS"  # http/allow.py
    slash = await client.get("/admin/order-groups/", headers=admin_headers)
    assert slash.status_code == 307 and slash.headers["location"].endswith("/admin/order-groups")
    unauthenticated = await client.get("/admin/order-groups")  # the audience's dependency ran
    assert unauthenticated.status_code == 401
    assert (await client.get("/store/order-groups")).status_code == 400  # no publishable key


async def test_routes_answer_below_a_root_path(app):
    """Behind a proxy that mounts the API at ``/api`` (ASGI ``root_path``)."""
    transport = httpx.ASGITransport(app=app, root_path="/api")
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        assert (await client.get("/api/health")).json() == {"status": "ok"}
        assert (await client.get("/api/nope")).status_code == 404


async def test_start_up_moves_the_heap_out_of_the_collectors_reach(app):
    gc.unfreeze()
    async with app.router.lifespan_context(app):
        assert gc.get_freeze_count() > 0
