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
