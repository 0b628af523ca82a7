"""The migrations build exactly the schema the models declare (nothing forgotten either way)."""

import asyncio
import re
from urllib.parse import urlsplit

import asyncpg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import CheckConstraint, text
from sqlalchemy.exc import IntegrityError

from mercato.db.engine import asyncpg_url, plain_url, with_database
from mercato.db.migrate import alembic_config
from mercato.db.models import Base
from tests.api.checkout_helpers import build_marketplace, complete, ready_cart
from tests.api.helpers import ok


async def test_models_and_migrations_agree(engine):
    def diff(connection):
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)

    async with engine.connect() as connection:
        differences = await connection.run_sync(diff)
    # Trigram indexes exist only where pg_trgm is available (migration 0002); they are not models.
    differences = [
        d for d in differences if not (d[0] == "remove_index" and d[1].name.endswith("_trgm"))
    ]
    assert differences == []


@pytest.mark.slow  # a database of its own, migrated in two steps
async def test_0006_revokes_the_secret_keys_of_users_deleted_before_it(database_url):
    """A secret key dies with its creator; keys of users deleted earlier are revoked by 0006."""
    name = f"{urlsplit(database_url).path.lstrip('/')}_m0006"
    admin = await asyncpg.connect(plain_url(database_url))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = with_database(database_url, name)
        config = alembic_config(asyncpg_url(url))
        await asyncio.to_thread(command.upgrade, config, "0005")
        conn = await asyncpg.connect(plain_url(url))
        try:
            await conn.execute(
                """
                INSERT INTO "user" (id, email, deleted_at) VALUES
                  ('user_gone', 'gone@example.com', now()), ('user_here', 'here@example.com', NULL);
                INSERT INTO api_key (id, title, type, token_digest, redacted, created_by) VALUES
                  ('apk_1', 'ci', 'secret', 'd1', 'sk_1', 'user_gone'),
                  ('apk_2', 'pk', 'publishable', 'd2', 'pk_2', 'user_gone'),
                  ('apk_3', 'ci', 'secret', 'd3', 'sk_3', 'user_here');
                """
            )
            await asyncio.to_thread(command.upgrade, config, "head")
            rows = await conn.fetch("SELECT id, revoked_at IS NOT NULL AS revoked FROM api_key")
        finally:
            await conn.close()
        assert {r["id"]: r["revoked"] for r in rows} == {
            "apk_1": True,
            "apk_2": False,
            "apk_3": False,
        }
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def _status_checks() -> list[tuple[str, CheckConstraint]]:
    """(table, constraint) of every status CHECK the models declare (``db.base.one_of``)."""
    return [
        (table.name, constraint)
        for table in Base.metadata.sorted_tables
        for constraint in table.constraints
        if isinstance(constraint, CheckConstraint) and "vocabulary" in constraint.info
    ]


async def _database_checks(engine) -> dict[str, str]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
                "JOIN pg_namespace n ON n.oid = c.connamespace "
                "WHERE c.contype = 'c' AND n.nspname = current_schema()"
            )
        )
        return {name: definition for name, definition in rows}


async def test_the_database_holds_each_status_column_to_exactly_its_vocabulary(engine):
    """Alembic does not compare CHECK constraints: the migrations must create exactly the ones
    the models declare, and each must admit exactly its Python vocabulary (a vocabulary changed
    without a migration fails here)."""
    declared = {constraint.name: constraint for _, constraint in _status_checks()}
    assert {
        "ck_order_status",
        "ck_order_payment_status",
        "ck_order_fulfillment_status",
        "ck_order_group_status",
        "ck_order_group_payment_status",
        "ck_order_group_fulfillment_status",
        "ck_payment_collection_status",
        "ck_payment_session_status",
    } <= declared.keys()
    in_database = await _database_checks(engine)
    every_declared = {
        constraint.name
        for table in Base.metadata.sorted_tables
        for constraint in table.constraints
        if isinstance(constraint, CheckConstraint)
    }
    assert set(in_database) == every_declared
    for name, constraint in declared.items():
        admitted = re.findall(r"'([^']*)'", in_database[name])
        assert sorted(admitted) == sorted(constraint.info["vocabulary"]), name
        assert in_database[name].startswith(f"CHECK ((({constraint.info['column']})"), name


async def test_postgresql_refuses_a_status_outside_its_vocabulary(
    client, engine, admin_headers, fast_hashing
):
    market = await build_marketplace(client, admin_headers, sellers=2)
    cart = await ready_cart(client, market)
    ok(await complete(client, market, cart["id"]))
    refused = []
    for table, constraint in _status_checks():
        column, vocabulary = constraint.info["column"], constraint.info["vocabulary"]
        update = text(f'UPDATE "{table}" SET {column} = :value WHERE id = :id')
        # One transaction per table, rolled back when the connection closes.
        async with engine.connect() as connection:
            row = (await connection.execute(text(f'SELECT id FROM "{table}" LIMIT 1'))).first()
            if row is None:
                continue
            # A value of the vocabulary is taken, whatever else the row says ...
            await connection.execute(update, {"value": vocabulary[-1], "id": row.id})
            # ... and one outside it is refused by the database itself.
            with pytest.raises(IntegrityError, match=constraint.name):
                async with connection.begin_nested():
                    await connection.execute(update, {"value": "not_a_status", "id": row.id})
        refused.append(constraint.name)
    assert {
        "ck_order_status",
        "ck_order_payment_status",
        "ck_order_fulfillment_status",
        "ck_order_group_status",
        "ck_order_group_payment_status",
        "ck_order_group_fulfillment_status",
        "ck_payment_collection_status",
        "ck_payment_session_status",
        "ck_product_status",
        "ck_seller_status",
    } <= set(refused)


async def test_every_filter_and_sort_of_the_returns_lists_leads_an_index(engine):
    """``GET /admin/returns`` and ``/vendor/returns`` (order-changes.md §6.1, §11): each filter
    and sort column is the first column of an index of ``order_return`` (migrations 0011,
    0012), so no filter reads every return; the vendor's scope leads one too."""
    from mercato.orders.change_models import OrderReturn
    from mercato.orders.change_resources import RETURN_LIST, VENDOR_RETURN_LIST

    async with engine.connect() as connection:
        leading = set(
            (
                await connection.execute(
                    text(
                        "SELECT a.attname FROM pg_index i"
                        " JOIN pg_attribute a ON a.attrelid = i.indrelid"
                        " AND a.attnum = i.indkey[0]"
                        " WHERE i.indrelid = 'order_return'::regclass"
                    )
                )
            ).scalars()
        )
    columns = {
        f.column.key for spec in (RETURN_LIST, VENDOR_RETURN_LIST) for f in spec.filters.values()
    }
    columns |= {c.key for spec in (RETURN_LIST, VENDOR_RETURN_LIST) for c in spec.sortable.values()}
    columns.add(OrderReturn.seller_id.key)  # the vendor's scope
    assert columns == {
        "id",
        "order_id",
        "seller_id",
        "status",
        "created_at",
        "updated_at",
        "display_id",
    }
    assert columns <= leading, columns - leading
