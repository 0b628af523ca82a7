"""The payment as ``POST /admin/payments/:id/capture`` returns it: with its captures and refunds."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.domain.money import to_major
from mercato.errors import not_found
from mercato.payments.models import Capture, Payment, Refund
from mercato.query.values import iso


async def payment_view(session: AsyncSession, payment_id: str) -> dict[str, Any]:
    """``{id, amount, currency_code, provider_id, …, captures, refunds}`` in major units."""
    payment = await session.get(Payment, payment_id, populate_existing=True)
    if payment is None:
        raise not_found("Payment", payment_id)
    currency = payment.currency_code
    captures = await session.scalars(
        select(Capture)
        .where(Capture.payment_id == payment.id)
        .order_by(Capture.created_at, Capture.id)
    )
    refunds = await session.scalars(
        select(Refund).where(Refund.payment_id == payment.id).order_by(Refund.created_at, Refund.id)
    )
    return {
        "id": payment.id,
        "amount": to_major(payment.amount, currency),
        "currency_code": currency,
        "provider_id": payment.provider_id,
        "payment_collection_id": payment.payment_collection_id,
        "captured_at": iso(payment.captured_at),
        "canceled_at": iso(payment.canceled_at),
        "created_at": iso(payment.created_at),
        "updated_at": iso(payment.updated_at),
        "captures": [
            {
                "id": c.id,
                "amount": to_major(c.amount, currency),
                "order_id": c.order_id,
                "created_by": c.created_by,
                "created_at": iso(c.created_at),
            }
            for c in captures
        ],
        "refunds": [
            {
                "id": r.id,
                "amount": to_major(r.amount, currency),
                "order_id": r.order_id,
                "note": r.note,
                "reason": r.reason,
                "created_by": r.created_by,
                "created_at": iso(r.created_at),
            }
            for r in refunds
        ],
    }
