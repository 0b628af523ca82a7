"""Promotion rows → the domain's :class:`~mercato.domain.promotions.Promotion` (what the cart
and the completion evaluate), in two queries whatever the number of promotions.

The first query also reads PostgreSQL's ``now()``: campaigns start and end by the database's
clock (promotions.md), the same for every process.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.domain import promotions as dom
from mercato.domain.money import to_minor
from mercato.promotions.models import (
    Promotion,
    PromotionApplicationMethod,
    PromotionCampaign,
    PromotionCampaignBudget,
    PromotionRule,
)
from mercato.sellers.models import Seller


@dataclass(frozen=True, slots=True)
class Loaded:
    """Promotions as the domain sees them, and the database's clock when they were read."""

    promotions: list[dom.Promotion]
    now: datetime | None  # None when nothing was found


def _rule(row: PromotionRule) -> dom.Rule:
    return dom.Rule(attribute=row.attribute, operator=row.operator, values=tuple(row.values))


def _method(
    row: PromotionApplicationMethod, rules: Sequence[PromotionRule]
) -> dom.ApplicationMethod:
    fixed = row.type == "fixed"
    return dom.ApplicationMethod(
        type=row.type,  # type: ignore[arg-type]  # held to the vocabulary by a CHECK
        target_type=row.target_type,  # type: ignore[arg-type]
        allocation=row.allocation,  # type: ignore[arg-type]
        percentage=None if fixed else row.value,
        amount=to_minor(row.value, row.currency_code) if fixed and row.currency_code else None,
        currency_code=row.currency_code,
        max_quantity=row.max_quantity,
        apply_to_quantity=row.apply_to_quantity,
        buy_rules_min_quantity=row.buy_rules_min_quantity,
        target_rules=tuple(_rule(r) for r in rules if r.rule_set == "target_rules"),
        buy_rules=tuple(_rule(r) for r in rules if r.rule_set == "buy_rules"),
    )


def _campaign(
    row: PromotionCampaign | None, budget: PromotionCampaignBudget | None
) -> dom.Campaign | None:
    if row is None:
        return None
    return dom.Campaign(
        id=row.id,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        budget=None
        if budget is None
        else dom.Budget(
            id=budget.id,
            type=budget.type,  # type: ignore[arg-type]
            limit=budget.limit,
            used=budget.used,
            currency_code=budget.currency_code,
        ),
    )


async def load_promotions(session: AsyncSession, where: ColumnElement[bool]) -> Loaded:
    """The promotions matching ``where`` (deleted ones included: the caller decides), with their
    method, rules, campaign and budget, ordered by ``created_at``, ``id``."""
    rows = (
        await session.execute(
            select(
                Promotion,
                PromotionApplicationMethod,
                PromotionCampaign,
                PromotionCampaignBudget,
                Seller.name,
                func.now(),
            )
            .join(
                PromotionApplicationMethod,
                PromotionApplicationMethod.promotion_id == Promotion.id,
            )
            .outerjoin(
                PromotionCampaign,
                and_(
                    PromotionCampaign.id == Promotion.campaign_id,
                    PromotionCampaign.deleted_at.is_(None),
                ),
            )
            .outerjoin(
                PromotionCampaignBudget,
                and_(
                    PromotionCampaignBudget.campaign_id == PromotionCampaign.id,
                    PromotionCampaignBudget.deleted_at.is_(None),
                ),
            )
            .outerjoin(Seller, Seller.id == Promotion.seller_id)
            .where(where)
            .order_by(Promotion.created_at, Promotion.id)
        )
    ).all()
    if not rows:
        return Loaded([], None)
    rules: dict[str, list[PromotionRule]] = defaultdict(list)
    for rule in await session.scalars(
        select(PromotionRule)
        .where(PromotionRule.promotion_id.in_([row[0].id for row in rows]))
        .order_by(PromotionRule.promotion_id, PromotionRule.id)
    ):
        rules[rule.promotion_id].append(rule)
    promotions = [
        _promotion(promotion, method, campaign, budget, seller_name, rules[promotion.id])
        for promotion, method, campaign, budget, seller_name, _ in rows
    ]
    return Loaded(promotions, rows[0][5])


def _promotion(
    row: Promotion,
    method: PromotionApplicationMethod,
    campaign: PromotionCampaign | None,
    budget: PromotionCampaignBudget | None,
    seller_name: str | None,
    rules: Sequence[PromotionRule],
) -> dom.Promotion:
    return dom.Promotion(
        id=row.id,
        code=row.code,
        type=row.type,  # type: ignore[arg-type]
        status=row.status,
        is_automatic=row.is_automatic,
        is_tax_inclusive=row.is_tax_inclusive,
        seller_id=row.seller_id,
        funded_by=row.funded_by,  # type: ignore[arg-type]
        limit=row.usage_limit,
        used=row.used,
        created_at=row.created_at,
        method=_method(method, rules),
        rules=tuple(_rule(r) for r in rules if r.rule_set == "rules"),
        campaign=_campaign(campaign, budget),
        deleted=row.deleted_at is not None,
        seller_name=seller_name,
    )


def live_automatic() -> ColumnElement[bool]:
    """Active automatic promotions (``ix_promotion_automatic``)."""
    return and_(
        Promotion.is_automatic.is_(True),
        Promotion.status == "active",
        Promotion.deleted_at.is_(None),
    )


def by_codes(codes: Sequence[str]) -> ColumnElement[bool]:
    """Live promotions whose code is one of ``codes``, case-insensitively."""
    return and_(
        func.lower(Promotion.code).in_([code.lower() for code in codes]),
        Promotion.deleted_at.is_(None),
    )


def by_ids(ids: Sequence[str]) -> ColumnElement[bool]:
    return Promotion.id.in_(list(ids))
