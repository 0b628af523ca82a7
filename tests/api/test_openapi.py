"""``/openapi.json`` says what the API does: how each audience authenticates, every query
parameter a route accepts, the error answers it gives and the shape of its bodies."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

import pytest

from tests.api.checkout_helpers import build_marketplace, ready_cart
from tests.api.helpers import ok
from tests.api.world import World, build_world

PUBLISHABLE = {"publishable_key": []}
CUSTOMER = {"customer_token": []}
ADMIN = [{"admin_token": []}, {"admin_secret_key": []}]


async def _schema(client) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.headers["content-type"] == "application/json"
    return ok(response)


def _operations(schema: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    return {
        op["operationId"]: (path, method, op)
        for path, methods in schema["paths"].items()
        for method, op in methods.items()
    }


async def test_security_schemes_are_declared(client):
    schemes = (await _schema(client))["components"]["securitySchemes"]
    assert schemes["publishable_key"] == {
        "type": "apiKey",
        "in": "header",
        "name": "x-publishable-api-key",
        "description": schemes["publishable_key"]["description"],
    }
    assert (schemes["admin_token"]["type"], schemes["admin_token"]["scheme"]) == ("http", "bearer")
    assert schemes["admin_secret_key"]["scheme"] == "basic"
    assert schemes["customer_token"]["scheme"] == schemes["member_token"]["scheme"] == "bearer"


async def test_each_operation_declares_the_credentials_it_needs(client):
    ops = _operations(await _schema(client))
    security = {op_id: op["security"] for op_id, (_, _, op) in ops.items()}
    assert security["StoreListProducts"] == [PUBLISHABLE]
    assert security["StoreGetCustomerMe"] == [{**PUBLISHABLE, **CUSTOMER}]
    assert security["StoreListOrderGroups"] == [{**PUBLISHABLE, **CUSTOMER}]
    # A guest or a customer: the token is optional.
    assert security["StoreCreateCart"] == [{**PUBLISHABLE, **CUSTOMER}, PUBLISHABLE]
    assert security["StoreCreateCustomer"] == [{**PUBLISHABLE, **CUSTOMER}]  # registration token
    assert security["AdminListOrders"] == ADMIN
    assert security["VendorListOrders"] == [{"member_token": []}]
    assert security["PostAuthUserEmailpass"] == security["GetHealth"] == []
    for op_id, (path, _, op) in ops.items():
        audience = path.split("/")[1]
        if op_id == "AdminGetFeatureFlags":  # admin-dashboard.md §4: called before login
            assert op["security"] == [], op_id
        elif audience == "admin":
            assert op["security"] == ADMIN, op_id
        elif audience == "store":
            assert all("publishable_key" in s for s in op["security"]), op_id
        elif audience == "vendor":
            assert op["security"] == [{"member_token": []}], op_id


async def test_operations_without_their_credentials_are_refused_as_documented(client):
    """The declared security is what the API enforces: without credentials every secured
    operation answers 401, or 400 ``not_allowed`` for a store request without a key."""
    for op_id, (path, method, op) in _operations(await _schema(client)).items():
        if not op["security"]:
            continue
        response = await client.request(method, path.replace("{", "x").replace("}", ""))
        store = all("publishable_key" in s for s in op["security"])
        expected = (400, "not_allowed") if store else (401, "unauthorized")
        assert (response.status_code, response.json()["type"]) == expected, op_id
        assert str(response.status_code) in op["responses"], op_id


async def test_a_list_route_documents_its_filters_operators_order_and_page(client):
    _, _, op = _operations(await _schema(client))["AdminListOrders"]
    params = {p["name"]: p for p in op["parameters"]}
    assert {"limit", "offset", "order", "fields", "q", "status", "seller_id", "created_at"} <= set(
        params
    )
    assert all(p["in"] == "query" and not p["required"] for p in params.values())
    assert params["limit"]["schema"] == {
        "type": "integer",
        "minimum": 0,
        "maximum": 1000,
        "default": 50,
    }
    assert {"display_id", "-display_id", "-created_at"} <= set(params["order"]["schema"]["enum"])
    created = params["created_at"]
    assert (created["style"], created["explode"]) == ("deepObject", True)
    operators = created["schema"]["properties"]
    assert set(operators) == {"$eq", "$ne", "$in", "$nin", "$gt", "$gte", "$lt", "$lte"}
    assert operators["$gte"] == {"type": "string", "format": "date-time"}
    assert operators["$in"]["type"] == "array"
    assert created["schema"]["additionalProperties"] is False
    status = params["status"]["schema"]["properties"]
    assert set(status) == {"$eq", "$ne", "$in", "$nin"}  # no range operators on a string
    assert "completed" in status["$eq"]["enum"]
    body = op["responses"]["200"]["content"]["application/json"]["schema"]
    assert body["required"] == ["orders", "count", "offset", "limit"]
    assert body["additionalProperties"] is False
    # The vendor list is the same without seller_id (the member's seller is implied).
    _, _, vendor = _operations(await _schema(client))["VendorListOrders"]
    assert "seller_id" not in {p["name"] for p in vendor["parameters"]}


def _sample(schema: dict[str, Any]) -> Any:
    if "enum" in schema:
        return schema["enum"][-1]
    if schema.get("type") == "array":
        return [_sample(schema["items"])] * 2
    if schema.get("format") == "date-time":
        return "2026-01-01T00:00:00Z"
    return {"integer": 1, "boolean": "true", "string": "x"}[schema["type"]]


def _queries(param: dict[str, Any]) -> list[str]:
    """One query string per documented form of ``param``, each with a valid value."""
    name, schema = param["name"], param["schema"]
    if param.get("style") == "deepObject":
        queries = []
        for op, value_schema in schema["properties"].items():
            value = _sample(value_schema)
            values = value if isinstance(value, list) else [value]
            queries.append("&".join(f"{name}[{op}]={quote(str(v))}" for v in values))
        return queries
    if name == "fields":  # the first default field: ``id``, or ``code`` for a currency
        first = re.search(r"Default: `([^`]+)`", param["description"])
        assert first is not None, param
        return [f"fields={first.group(1)}", "fields=%2Bcreated_at"]
    if name == "order":
        return [f"order={quote(value)}" for value in schema["enum"]]
    return [f"{name}={quote(str(_sample(schema)))}"]


def _credentials(world: World, op: dict[str, Any]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for scheme in op["security"][0] if op["security"] else ():
        headers.update(
            {
                "admin_token": world.admin,
                "publishable_key": world.store,
                "customer_token": world.customer,
                "member_token": world.member,
            }[scheme]
        )
    return headers


@pytest.mark.slow  # a request per documented parameter of every list route
async def test_every_documented_query_parameter_of_a_list_is_accepted(client, app, fast_hashing):
    """Each form of each parameter a list route documents, with a valid value, is answered
    200: the documentation and the route's ``ListSpec`` are one thing."""
    world = await build_world(client, app)
    lists = 0
    for op_id, (path, method, op) in _operations(await _schema(client)).items():
        body = op["responses"]["200"]["content"]["application/json"]["schema"]
        if method != "get" or "count" not in body.get("properties", {}):
            continue
        if "{" in path:  # a list under one resource (a webhook's deliveries) needs a real one
            continue
        lists += 1
        for param in op["parameters"]:
            for query in _queries(param):
                response = await client.get(f"{path}?{query}", headers=_credentials(world, op))
                assert response.status_code == 200, (op_id, query, response.text)
    assert lists >= 14


async def test_errors_are_documented_as_the_api_answers_them(client):
    schema = await _schema(client)
    assert "HTTPValidationError" not in json.dumps(schema)
    error = schema["components"]["schemas"]["Error"]
    assert error["required"] == ["type", "message"] and set(error["properties"]) == {
        "type",
        "message",
        "code",
    }
    with_422 = set()
    for op_id, (path, _, op) in _operations(schema).items():
        responses = op["responses"]
        errors = {status for status in responses if status[0] in "45"}
        for status in errors:
            assert responses[status]["$ref"].startswith("#/components/responses/"), op_id
        assert "500" in errors, op_id
        if op_id != "GetHealth":
            assert "400" in errors, op_id  # every input is validated
        if "{" in path:
            assert "404" in errors, op_id
        if "requestBody" in op:
            assert "413" in errors, op_id
        if any(p["name"] == "Idempotency-Key" for p in op.get("parameters", [])):
            assert "409" in errors, op_id
        if "422" in errors:
            with_422.add(op_id)
    # Only operations that can meet a duplicate, or a payment the provider refuses, answer 422;
    # validation errors are 400.
    assert with_422 == {
        "StoreAuthorizePaymentSession",
        "AdminCreateUser",
        "AdminUpdateUser",
        "AdminCreateSeller",
        "AdminUpdateSeller",
        "AdminCreateSellerMember",
        "AdminCreateCustomerGroup",
        "AdminUpdateCustomerGroup",
        "AdminCreateProduct",
        "AdminUpdateProduct",
        "AdminCreateProductVariant",
        "AdminUpdateProductVariant",
        "PostAuthCustomerEmailpassRegister",
        "StoreCreateCustomer",
        "AdminCreatePromotion",
        "AdminUpdatePromotion",
        "VendorCreatePromotion",
        "VendorUpdatePromotion",
        "AdminCreateCampaign",
        "AdminUpdateCampaign",
        "VendorCreateCampaign",
        "VendorUpdateCampaign",
    }
    bad_request = schema["components"]["responses"]["BadRequest"]["content"]["application/json"]
    assert bad_request["schema"]["allOf"][1]["properties"]["type"]["enum"] == [
        "invalid_data",
        "not_allowed",
    ]


async def test_a_validation_error_is_the_documented_400(client, admin_headers):
    response = await client.post("/admin/sellers", json={"name": 5}, headers=admin_headers)
    assert response.status_code == 400
    assert set(response.json()) <= {"type", "message", "code"}


async def test_every_operation_documents_its_json_body(client):
    for op_id, (_, _, op) in _operations(await _schema(client)).items():
        body = op["responses"]["200"]["content"]["application/json"]["schema"]
        if op_id in ("GetHealth",):
            continue
        if "oneOf" in body:
            shapes = body["oneOf"]
        elif "$ref" in body:
            continue  # a pydantic model (the auth tokens)
        else:
            shapes = [body]
        for shape in shapes:
            assert shape["additionalProperties"] is False and shape["required"], op_id


async def test_rendered_objects_document_only_the_fields_the_route_may_show(client):
    ops = _operations(await _schema(client))
    _, _, store = ops["StoreGetProduct"]
    product = store["responses"]["200"]["content"]["application/json"]["schema"]
    properties = product["properties"]["product"]["properties"]
    assert "metadata" not in properties  # the store's field rules hide it
    assert properties["id"] == {"type": "string"}
    assert properties["created_at"] == {"type": ["string", "null"]}
    assert properties["seller"]["anyOf"][1] == {"type": "null"}
    variant = properties["variants"]["items"]["properties"]
    assert variant["prices"]["items"]["properties"]["amount"] == {"type": ["number", "null"]}
    _, _, admin = ops["AdminGetProduct"]
    body = admin["responses"]["200"]["content"]["application/json"]["schema"]
    assert "metadata" in body["properties"]["product"]["properties"]


async def test_completion_refuses_an_undocumented_query_before_completing(client, admin_headers):
    """``fields`` is the only query parameter of ``POST /store/carts/:id/complete``; anything
    else is a 400 and the cart stays open (it used to complete and ignore the query)."""
    market = await build_marketplace(client, admin_headers, sellers=1)
    cart = await ready_cart(client, market)
    path = f"/store/carts/{cart['id']}/complete"
    refused = await client.post(f"{path}?foo=1", headers=market.store)
    assert (refused.status_code, refused.json()["type"]) == (400, "invalid_data")
    assert "foo" in refused.json()["message"]
    bad_fields = await client.post(f"{path}?fields=nope", headers=market.store)
    assert bad_fields.status_code == 400
    still_open = ok(await client.get(f"/store/carts/{cart['id']}", headers=market.store))
    assert still_open["cart"]["completed_at"] is None
    assert ok(await client.post(path, headers=market.store))["type"] == "order_group"
