"""Promotions at completion (promotions.md, Completion; checkout.md precondition 7).

* :func:`check_promotions` — before stock is reserved or payment authorized: every promotion
  on the cart is evaluated again with the current definitions and PostgreSQL's ``now()``; one
  that no longer applies, or that would give other adjustments than the cart holds, refuses the
  completion with a 400 naming its code (:class:`PromotionRefused`: the caller then refreshes
  the cart in its own transaction). What it returns is what placement copies and consumes.
* :func:`consume` — inside the placing transaction, as its last writes: each campaign budget
  (ascending id), then each promotion (ascending id), by one conditional ``UPDATE`` that
  PostgreSQL re-checks after a concurrent commit, so a limit is never overspent; then one
  ``promotion_usage`` row per promotion (unique per cart).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.carts.models import (
    CartLineItemAdjustment,
    CartPromotion,
    CartShippingMethodAdjustment,
)
from mercato.carts.promotions import candidates, cart_context
from mercato.domain import promotions as dom
from mercato.errors import MercatoError
from mercato.promotions.loading import load_promotions
from mercato.promotions.models import Promotion, PromotionCampaignBudget, PromotionUsage
from mercato.query.driver import FixedInsert, FixedQuery, rows_of
from mercato.unit_of_work import UnitOfWork

CHANGED = "promotion_changed"


class PromotionRefused(MercatoError):
    """A completion refused because of a promotion: the cart must be refreshed afterwards."""


def refused(code: str, cart_id: str, reason: str, detail: str) -> PromotionRefused:
    return PromotionRefused(
        "not_allowed",
        f"Promotion code {code} cannot be applied to cart {cart_id}: {detail}",
        code=reason,
    )


@dataclass(frozen=True, slots=True)
class BudgetUse:
    budget_id: str
    campaign_id: str
    amount: int  # 1 cart (usage) or the discount in minor units (spend)
    code: str  # a code of the campaign's promotions on the cart, for the message
    limit: int | None
    seller_id: str | None  # the campaign's owner (its promotions')


@dataclass(frozen=True, slots=True)
class PromotionUse:
    promotion_id: str
    code: str
    campaign_id: str | None
    amount: int  # Σ of its adjustments on the cart
    limit: int | None


@dataclass
class CartPromotions:
    """What placement copies (the cart's adjustment rows by line / method id, in stacking
    order) and what the completion consumes."""

    adjustments: dict[str, list[Any]] = field(default_factory=dict)
    promotions: list[PromotionUse] = field(default_factory=list)
    budgets: list[BudgetUse] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.promotions


_ENTERED = FixedQuery(
    select(CartPromotion.promotion_id).where(CartPromotion.cart_id == bindparam("cart_id"))
)
_LINE_ADJUSTMENTS = FixedQuery(
    rows_of(CartLineItemAdjustment)
    .where(CartLineItemAdjustment.cart_id == bindparam("cart_id"))
    .order_by(CartLineItemAdjustment.position)
)
_METHOD_ADJUSTMENTS = FixedQuery(
    rows_of(CartShippingMethodAdjustment)
    .where(CartShippingMethodAdjustment.cart_id == bindparam("cart_id"))
    .order_by(CartShippingMethodAdjustment.position)
)


def _owner(row: Any) -> str:
    return getattr(row, "item_id", None) or row.shipping_method_id


async def check_promotions(
    session: AsyncSession,
    cart: Any,
    region: Any,
    lines: Sequence[Any],
    methods: Sequence[Any],
) -> CartPromotions:
    """Precondition 7: the cart's promotions still apply and give the same adjustments."""
    entered = [row[0] for row in await _ENTERED.records(session, cart_id=cart.id)]
    stored = [
        *await _LINE_ADJUSTMENTS.rows(session, cart_id=cart.id),
        *await _METHOD_ADJUSTMENTS.rows(session, cart_id=cart.id),
    ]
    stored.sort(key=lambda row: row.position)
    on_cart = list(dict.fromkeys([*entered, *(row.promotion_id for row in stored)]))
    loaded = await load_promotions(session, candidates(on_cart))
    if not loaded.promotions and not stored:
        return CartPromotions()
    by_id = {p.id: p for p in loaded.promotions}
    context = await cart_context(session, cart, region, lines, methods, loaded)
    application = dom.apply_promotions(context, loaded.promotions)
    rejected = {r.promotion_id: r for r in application.rejected}
    for promotion_id in on_cart:  # read above, deleted or not: the rows are never removed
        rejection = rejected.get(promotion_id)
        if rejection is not None:
            code = by_id[promotion_id].code
            raise refused(code, cart.id, rejection.reason, rejection.detail)
    fresh = [
        (a.promotion_id, a.item_id or a.shipping_method_id, a.amount)
        for a in application.adjustments
    ]
    held = [(row.promotion_id, _owner(row), row.amount) for row in stored]
    if sorted(fresh) != sorted(held):
        # The first promotion, in stacking order, whose adjustments differ.
        differing = {pid for pid, _, _ in set(fresh).symmetric_difference(held)}
        first = min((by_id[pid] for pid in differing), key=dom.stacking_key)
        raise refused(
            first.code, cart.id, CHANGED, "it changed since it was applied; apply it again"
        )
    adjustments: dict[str, list[Any]] = defaultdict(list)
    for row in stored:
        adjustments[_owner(row)].append(row)
    return CartPromotions(
        adjustments=dict(adjustments),
        promotions=_promotion_uses(application),
        budgets=_budget_uses(application),
    )


def _promotion_uses(application: dom.Application) -> list[PromotionUse]:
    amounts: dict[str, int] = defaultdict(int)
    for a in application.adjustments:
        amounts[a.promotion_id] += a.amount
    return sorted(
        (
            PromotionUse(
                p.id, p.code, p.campaign.id if p.campaign else None, amounts[p.id], p.limit
            )
            for p in application.applied
        ),
        key=lambda use: use.promotion_id,
    )


def _budget_uses(application: dom.Application) -> list[BudgetUse]:
    spend = dom.discount_usage(application)
    uses: dict[str, BudgetUse] = {}
    for p in application.applied:
        budget = p.campaign.budget if p.campaign else None
        if budget is None or budget.id in uses:
            continue
        assert p.campaign is not None
        amount = spend.get(p.campaign.id, 0) if budget.type == "spend" else 1
        uses[budget.id] = BudgetUse(
            budget.id, p.campaign.id, amount, p.code, budget.limit, p.seller_id
        )
    return sorted(uses.values(), key=lambda use: use.budget_id)


_BUDGET = FixedQuery(
    update(PromotionCampaignBudget)
    .where(
        PromotionCampaignBudget.id == bindparam("budget_id"),
        PromotionCampaignBudget.deleted_at.is_(None),
        or_(
            PromotionCampaignBudget.limit.is_(None),
            PromotionCampaignBudget.used + bindparam("amount") <= PromotionCampaignBudget.limit,
        ),
    )
    .values(used=PromotionCampaignBudget.used + bindparam("amount"), updated_at=func.now())
    .returning(PromotionCampaignBudget.used)
)
_PROMOTION = FixedQuery(
    update(Promotion)
    .where(
        Promotion.id == bindparam("promotion_id"),
        or_(Promotion.usage_limit.is_(None), Promotion.used + 1 <= Promotion.usage_limit),
    )
    .values(used=Promotion.used + 1, updated_at=func.now())
    .returning(Promotion.used)
)
_USAGE = FixedInsert(PromotionUsage)


async def consume(uow: UnitOfWork, cart: Any, group_id: str, promotions: CartPromotions) -> None:
    """Consume the budgets and limits of the cart's promotions (the completion's last writes);
    a budget or limit with no room left refuses the whole completion."""
    session = uow.session
    for use in promotions.budgets:
        found = await _BUDGET.records(session, budget_id=use.budget_id, amount=use.amount)
        if not found:
            raise refused(
                use.code, cart.id, dom.BUDGET_EXHAUSTED, "the campaign budget is exhausted"
            )
        if use.limit is not None and found[0][0] >= use.limit:
            uow.emit("campaign.budget_exhausted", {"id": use.campaign_id}, seller_id=use.seller_id)
    for promotion in promotions.promotions:
        if not await _PROMOTION.records(session, promotion_id=promotion.promotion_id):
            raise refused(
                promotion.code,
                cart.id,
                dom.LIMIT_REACHED,
                "the promotion's usage limit is reached",
            )
    now = uow.now()
    await _USAGE.run(
        session,
        [
            {
                "promotion_id": promotion.promotion_id,
                "cart_id": cart.id,
                "campaign_id": promotion.campaign_id,
                "order_group_id": group_id,
                "customer_id": cart.customer_id,
                "currency_code": cart.currency_code,
                "amount": promotion.amount,
                "created_at": now,
            }
            for promotion in promotions.promotions
        ],
    )
