"""Schemathesis against the app's own ``/openapi.json``, in process, with valid credentials.

Every operation of every audience (admin, store, vendor, auth, health) gets a fresh marketplace
(:func:`tests.api.world.build_world`: an admin, a publishable key with a channel, two sellers
with products and shipping options, a member, a customer with a completed checkout, a fulfilment
and an open cart) and requests generated from its documented parameters and body — valid ones
and invalid ones — sent with the credentials its ``security`` names, and with existing ids in
its path half of the time, so requests reach real code paths, not only the 404s of random ids.

The test fails on any 5xx and on any answer the schema does not document: its status code,
content type, headers or body shape, and on a method a path does not serve answered otherwise
than 405 with an ``Allow`` header (``OPTIONS`` must list exactly the documented methods).

The bounds are here, not in a flag, and keep the run to a few minutes on a 2-core machine: a
fixed seed; :data:`EXAMPLES` generated requests per operation, valid and invalid; and
schemathesis' deterministic coverage cases with valid values only (boundary values, each
optional parameter alone, the methods a path does not serve) — its invalid-value cases alone
would be some 8,000 more requests, three quarters of them for the list routes' filters. No
operation is excluded.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from mercato.db.models import Base
from mercato.http.app import create_app
from mercato.settings import get_settings
from tests.api.world import World, build_world

SEED = 20260601
EXAMPLES = 30  # generated requests per operation in the fuzzing phase, about half invalid
CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "generation": {
            "max-examples": EXAMPLES,
            "mode": "all",  # schema-valid requests and invalid ones
            "with-security-parameters": False,  # credentials come from the world
            "database": "none",  # no replay of earlier runs' examples: every run is the same
        },
        "phases": {
            "examples": {"enabled": False},  # the schema carries no examples
            "coverage": {"enabled": True, "generation": {"mode": "positive"}},
            "fuzzing": {"enabled": True},
            "stateful": {"enabled": False},
        },
        "checks": {
            "enabled": False,
            "not_a_server_error": {"enabled": True},
            "status_code_conformance": {"enabled": True},
            "content_type_conformance": {"enabled": True},
            "response_headers_conformance": {"enabled": True},
            "response_schema_conformance": {"enabled": True},
            # Methods a path does not serve: 405 with an ``Allow`` header; OPTIONS lists them.
            "unsupported_method": {"enabled": True},
            "allow_header_conformance": {"enabled": True},
        },
    }
)


async def _served_schema() -> dict[str, Any]:
    """What the app serves at ``/openapi.json`` (answering it needs no database)."""
    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get("/openapi.json")
    response.raise_for_status()
    return response.json()


DOCUMENT = asyncio.run(_served_schema())
schema = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG)


@pytest.fixture(scope="module")
def served_app(database_url: str) -> Iterator[Any]:
    """The app as it runs in production: its lifespan (started by schemathesis, in the event
    loop that serves its requests) opens an engine on the test database from the settings."""
    settings = get_settings()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DATABASE_URL", database_url)
        # Required with DATABASE_URL; the suite's own, so its tokens stay valid.
        patch.setenv("MERCATO_JWT_SECRET", settings.jwt_secret)
        patch.setenv("MERCATO_SECRET_KEY", settings.secret_key)
        get_settings.cache_clear()
        yield create_app()
    get_settings.cache_clear()


TABLES = Base.metadata.sorted_tables  # parents first


@dataclass
class Snapshot:
    world: World
    rows: dict[str, list[asyncpg.Record]]  # table name → every row
    connection: asyncpg.Connection


@pytest.fixture(scope="module")
async def marketplace(app, database_url: str) -> AsyncIterator[Snapshot]:
    """The world, built once through the API, and a copy of every row it consists of."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        world = await build_world(client, app)
    connection = await asyncpg.connect(database_url)
    try:
        rows = {t.name: await connection.fetch(f'SELECT * FROM "{t.name}"') for t in TABLES}
        yield Snapshot(world, rows, connection)
        await _empty(connection)
    finally:
        await connection.close()


@pytest.fixture(autouse=True)
def clean_tables() -> None:
    """Replaces the suite's ``TRUNCATE`` after each test (a second each, a hundred times
    over): each operation starts from the restored marketplace instead."""


@pytest.fixture
async def world(marketplace: Snapshot, fast_hashing) -> World:
    """The marketplace exactly as built, whatever the previous operation did to it."""
    connection = marketplace.connection
    async with connection.transaction():
        await _empty(connection)
        for table in TABLES:
            if records := marketplace.rows[table.name]:
                columns = list(records[0].keys())
                await connection.copy_records_to_table(table.name, records=records, columns=columns)
    return marketplace.world


async def _empty(connection: asyncpg.Connection) -> None:
    for table in reversed(TABLES):
        await connection.execute(f'DELETE FROM "{table.name}"')


def _credentials(world: World, case: schemathesis.Case, alternative: int) -> dict[str, str]:
    """The headers of one of the security alternatives the operation documents."""
    security = DOCUMENT["paths"][case.operation.path][case.operation.method]["security"]
    if not security:
        return {}
    by_scheme = {
        "admin_token": world.admin,
        "admin_secret_key": world.secret_key,
        "publishable_key": world.store,
        # Step two of registration takes a registration token, not a customer's.
        "customer_token": (
            world.registration
            if case.operation.definition.raw.get("operationId") == "StoreCreateCustomer"
            else world.customer
        ),
        "member_token": world.member,
    }
    headers: dict[str, str] = {}
    for scheme in security[alternative % len(security)]:
        headers.update(by_scheme[scheme])
    return headers


# Body fields that name an existing object, and the world's id for each.
BODY_IDS = {"sales_channel_id": "channel_id", "location_id": None, "provider_id": None}


def _use_existing_ids(case: schemathesis.Case, world: World) -> None:
    """Existing ids in the path and in the body's ``*_id`` fields (``cart_id``,
    ``variant_id``, ``seller_id``, ``option_id``, …), wherever the request has them."""
    for name in case.path_parameters or {}:
        if name in world.ids:
            case.path_parameters[name] = world.ids[name]

    def replace(value: Any) -> None:
        if isinstance(value, list):
            for item in value:
                replace(item)
        elif isinstance(value, dict):
            for key, item in value.items():
                name = BODY_IDS.get(key, key)
                if name in world.ids and isinstance(item, str):
                    value[key] = world.ids[name]
                else:
                    replace(item)

    replace(case.body)


def _choices(case: schemathesis.Case) -> tuple[bool, int]:
    """Whether to use existing ids and which security alternative, drawn from the case's own
    values: the same case always gets the same (shrinking replays it; coverage cases, which
    ``@schema.given`` would disable, need no strategy)."""
    drawn = zlib.crc32(repr((case.path_parameters, case.query, case.body)).encode())
    return bool(drawn & 1), drawn >> 1


@pytest.mark.slow  # hundreds of generated requests against a served app
@schema.parametrize()
@settings(
    # One marketplace per operation, shared by its examples; a slow request is not a failure.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    deadline=None,
)
def test_api_conforms_to_its_schema(case, world, served_app):
    existing_ids, alternative = _choices(case)
    if existing_ids:
        _use_existing_ids(case, world)
    case.call_and_validate(app=served_app, headers=_credentials(world, case, alternative))
