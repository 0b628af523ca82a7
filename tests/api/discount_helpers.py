"""Discounts written straight into placed orders, as placement copies them from a cart's
promotions (promotions.md, "Completion"): for reads tested before promotions are applied
through the API."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text

from mercato.orders.models import OrderLineItemAdjustment, OrderShippingMethodAdjustment
from mercato.promotions.models import Promotion

# Every figure of an order is the plain sum of its lines' and shipping methods' (promotions.md).
_ORDER_TOTALS_SQL = """
UPDATE "order" o SET
  item_subtotal = i.subtotal, item_tax_total = i.tax_total, item_total = i.total,
  shipping_subtotal = s.subtotal, shipping_tax_total = s.tax_total, shipping_total = s.total,
  subtotal = i.subtotal + s.subtotal, tax_total = i.tax_total + s.tax_total,
  total = i.total + s.total,
  discount_subtotal = i.discount_subtotal + s.discount_subtotal,
  discount_tax_total = i.discount_tax_total + s.discount_tax_total,
  discount_total = i.discount_total + s.discount_total,
  original_item_total = i.total + i.discount_total,
  original_shipping_total = s.total + s.discount_total
FROM
  (SELECT coalesce(sum(subtotal), 0) subtotal, coalesce(sum(tax_total), 0) tax_total,
          coalesce(sum(total), 0) total, coalesce(sum(discount_subtotal), 0) discount_subtotal,
          coalesce(sum(discount_tax_total), 0) discount_tax_total,
          coalesce(sum(discount_total), 0) discount_total
     FROM order_line_item WHERE order_id = :order_id) i,
  (SELECT coalesce(sum(subtotal), 0) subtotal, coalesce(sum(tax_total), 0) tax_total,
          coalesce(sum(total), 0) total, coalesce(sum(discount_subtotal), 0) discount_subtotal,
          coalesce(sum(discount_tax_total), 0) discount_tax_total,
          coalesce(sum(discount_total), 0) discount_total
     FROM order_shipping_method WHERE order_id = :order_id) s
WHERE o.id = :order_id
"""


async def add_promotion(app, code: str, funded_by: str, seller_id: str | None = None) -> str:
    async with app.state.sessionmaker() as session:
        promotion = Promotion(
            code=code,
            type="standard",
            status="active",
            is_automatic=False,
            funded_by=funded_by,
            seller_id=seller_id,
        )
        session.add(promotion)
        await session.commit()
        return promotion.id


async def discount(
    app,
    order_id: str,
    *,
    line: Sequence[tuple[str, str, int, int]] = (),
    shipping: Sequence[tuple[str, str, int, int]] = (),
) -> None:
    """Give the order's (single) line and shipping method these adjustments, in stacking order
    — ``(promotion id, funded_by, amount, tax part)`` in minor units, tax-exclusive prices —
    write the discounts they imply on the line, the method and the order, and link the order to
    their promotions, as placement does."""
    async with app.state.sessionmaker() as session:
        for table, model, key, adjustments in (
            ("order_line_item", OrderLineItemAdjustment, "item_id", line),
            (
                "order_shipping_method",
                OrderShippingMethodAdjustment,
                "shipping_method_id",
                shipping,
            ),
        ):
            if not adjustments:
                continue
            owner = (
                await session.execute(
                    text(f"SELECT id, order_id FROM {table} WHERE order_id = :o"), {"o": order_id}
                )
            ).one()
            seller_id = await session.scalar(
                text('SELECT seller_id FROM "order" WHERE id = :o'), {"o": order_id}
            )
            for position, (promotion_id, funded_by, amount, tax) in enumerate(adjustments):
                code = await session.scalar(
                    text("SELECT code FROM promotion WHERE id = :p"), {"p": promotion_id}
                )
                session.add(
                    model(
                        **{key: owner.id},
                        order_id=order_id,
                        position=position,
                        promotion_id=promotion_id,
                        code=code,
                        description=f"{funded_by} discount",
                        amount=amount,
                        subtotal=amount,
                        tax_total=tax,
                        total=amount + tax,
                        is_tax_inclusive=False,
                        funded_by=funded_by,
                        seller_id=seller_id,
                    )
                )
            d = sum(a[2] for a in adjustments)
            dt = sum(a[3] for a in adjustments)
            await session.execute(
                text(
                    f"UPDATE {table} SET discount_subtotal = :d, discount_tax_total = :dt, "
                    "discount_total = :dd, tax_total = tax_total - :dt, "
                    "total = total - :d - :dt WHERE id = :id"
                ),
                {"d": d, "dt": dt, "dd": d + dt, "id": owner.id},
            )
        await session.execute(text(_ORDER_TOTALS_SQL), {"order_id": order_id})
        for promotion_id in dict.fromkeys(a[0] for a in (*line, *shipping)):
            await session.execute(
                text("INSERT INTO order_promotion (order_id, promotion_id) VALUES (:o, :p)"),
                {"o": order_id, "p": promotion_id},
            )
        await session.commit()
