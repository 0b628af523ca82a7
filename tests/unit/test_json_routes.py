"""``http.routing``: handlers' results leave as JSON through one wrapper per route."""

from datetime import UTC, datetime
from decimal import Decimal

import orjson

from mercato.http.app import create_app
from mercato.http.routing import JSONResponse, JSONRoute


def test_every_handler_is_wrapped_once_through_nested_routers():
    routes = [route for route in create_app().routes if isinstance(route, JSONRoute)]
    assert len(routes) > 50
    for route in routes:
        assert route.endpoint.encodes_json  # type: ignore[attr-defined]
        assert not getattr(route.endpoint.__wrapped__, "encodes_json", False), route.path


def test_values_orjson_does_not_know_are_rendered_as_the_api_does():
    body = JSONResponse(
        {
            "whole": Decimal("10"),
            "part": Decimal("10.5"),
            "at": datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
            "huge": 2**70,  # beyond orjson's 64 bits: the standard library encodes it
        }
    ).body
    assert orjson.loads(body) == {
        "whole": 10,
        "part": 10.5,
        "at": "2024-01-02T03:04:05.000Z",
        "huge": 2**70,
    }
