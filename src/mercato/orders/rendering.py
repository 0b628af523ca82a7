"""Rendering an order for the audience that asked: admins see everything, sellers their view."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.orders.models import Order
from mercato.orders.resources import ORDER, ORDER_DETAIL_FIELDS, VENDOR_ORDER_DETAIL_FIELDS
from mercato.query.listing import run_retrieve


async def render_order(
    session: AsyncSession,
    order: Order,
    params: dict[str, Any],
    *,
    vendor: bool = False,
    fresh: bool = False,
) -> dict[str, Any]:
    """``{"order": …}`` with the route's ``fields`` rules (vendor rules for ``/vendor``).

    The order is reloaded first, as a command may have changed it since the session read it,
    unless ``fresh``: the read route loaded it just now (a statement fewer per request)."""
    rules = VENDOR_ORDER_DETAIL_FIELDS if vendor else ORDER_DETAIL_FIELDS
    if not fresh:
        await session.refresh(order)
    return {
        "order": await run_retrieve(session, resource=ORDER, rules=rules, row=order, params=params)
    }
