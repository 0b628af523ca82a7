"""Tallies (``mercato.migrations.tally``) compared with counting the rows they tally."""

from __future__ import annotations

import asyncpg

STATUSES = ("status", "payment_status", "fulfillment_status")


def mismatches_sql(source: str, tally: str, keys: tuple[str, ...]) -> str:
    """The keys whose tallied sum differs from ``count(*)`` of the source's rows with that key
    (a key with no rows may keep tally rows summing to 0)."""
    cols = ", ".join(keys)
    return f"""
    SELECT {cols}, coalesce(counted.n, 0) AS counted, coalesce(tallied.n, 0) AS tallied
    FROM (SELECT {cols}, count(*) AS n FROM {source} GROUP BY {cols}) AS counted
    FULL JOIN (SELECT {cols}, sum(live) AS n FROM {tally} GROUP BY {cols}) AS tallied
        USING ({cols})
    WHERE coalesce(counted.n, 0) <> coalesce(tallied.n, 0)
    ORDER BY {cols}"""


ORDER_TALLY_CHECKS = (
    mismatches_sql('"order"', "order_tally", STATUSES),
    mismatches_sql('"order"', "order_seller_tally", ("seller_id", *STATUSES)),
)


async def order_tally_mismatches(conn: asyncpg.Connection) -> list[tuple]:
    return [tuple(row) for sql in ORDER_TALLY_CHECKS for row in await conn.fetch(sql)]
