"""Regressions the schemathesis run (``test_openapi_fuzz.py``) found, each pinned by a test."""

from __future__ import annotations

from urllib.parse import quote

from tests.api.helpers import error, ok


async def test_a_date_filter_outside_utcs_range_is_a_400(client, admin_headers):
    """``0001-01-01T00:00:00+00:01`` is a valid ISO-8601 date whose instant falls before year 1
    in UTC; the driver could not encode it and the list answered 500."""
    for value in ("0001-01-01T00:00:00+00:01", "9999-12-31T23:59:59-01:00"):
        for form in ("created_at[$gte]", "created_at[$in]", "created_at"):
            response = await client.get(
                f"/admin/sales-channels?{form}={quote(value)}", headers=admin_headers
            )
            error(response, 400, "invalid_data", "created_at is out of range")
    within = quote("0001-01-01T00:00:00-01:00")
    ok(await client.get(f"/admin/sales-channels?created_at[$gte]={within}", headers=admin_headers))
