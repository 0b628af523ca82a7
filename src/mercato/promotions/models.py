"""Promotion tables: promotions, application methods, rules, campaigns, budgets and usage.

Vocabularies are defined once here and held by CHECK constraints. Money columns of a fixed
application method keep the major-unit ``value`` clients send (``Numeric``); budgets keep minor
units (``spend``) or a count of carts (``usage``), because the completion updates them with one
conditional statement (promotions.md, Budgets).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Numeric, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from mercato.db.base import Base, SoftDelete, Timestamps, id_column, one_of

PROMOTION_TYPES = ("standard", "buyget")
PROMOTION_STATUSES = ("draft", "active", "inactive")
FUNDERS = ("operator", "seller")
METHOD_TYPES = ("fixed", "percentage")
TARGET_TYPES = ("items", "shipping_methods", "order")
ALLOCATIONS = ("each", "across")
BUDGET_TYPES = ("spend", "usage")
RULE_SETS = ("rules", "target_rules", "buy_rules")

LIVE = text("deleted_at IS NULL")


class PromotionCampaign(Timestamps, SoftDelete, Base):
    """A campaign groups promotions of one owner (the operator or one seller) in a window."""

    __tablename__ = "promotion_campaign"
    __table_args__ = (
        Index(
            "uq_promotion_campaign_identifier",
            "campaign_identifier",
            unique=True,
            postgresql_where=LIVE,
        ),
        Index("ix_promotion_campaign_created_at", "created_at"),
        Index("ix_promotion_campaign_updated_at", "updated_at"),
    )
    id: Mapped[str] = id_column("procamp")
    name: Mapped[str]
    campaign_identifier: Mapped[str]
    description: Mapped[str | None]
    starts_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    seller_id: Mapped[str | None] = mapped_column(ForeignKey("seller.id"), index=True)


class PromotionCampaignBudget(Timestamps, SoftDelete, Base):
    """At most one per campaign; ``used`` moves only by the completion's conditional update."""

    __tablename__ = "promotion_campaign_budget"
    __table_args__ = (one_of("type", BUDGET_TYPES),)
    id: Mapped[str] = id_column("probudg")
    campaign_id: Mapped[str] = mapped_column(ForeignKey("promotion_campaign.id"), unique=True)
    type: Mapped[str]
    limit: Mapped[int | None] = mapped_column(BigInteger)
    used: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    currency_code: Mapped[str | None]


class Promotion(Timestamps, SoftDelete, Base):
    """A promotion; its code is unique case-insensitively among live promotions."""

    __tablename__ = "promotion"
    __table_args__ = (
        one_of("type", PROMOTION_TYPES),
        one_of("status", PROMOTION_STATUSES),
        one_of("funded_by", FUNDERS),
        Index(
            "uq_promotion_code_lower", func.lower(text("code")), unique=True, postgresql_where=LIVE
        ),
        Index("ix_promotion_created_at", "created_at", "id"),
        Index("ix_promotion_updated_at", "updated_at"),
        Index("ix_promotion_code", "code"),
        Index("ix_promotion_automatic", "is_automatic", "status", postgresql_where=LIVE),
    )
    id: Mapped[str] = id_column("promo")
    code: Mapped[str]
    type: Mapped[str] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(index=True)
    is_automatic: Mapped[bool] = mapped_column(default=False)
    is_tax_inclusive: Mapped[bool] = mapped_column(default=False)
    seller_id: Mapped[str | None] = mapped_column(ForeignKey("seller.id"), index=True)
    funded_by: Mapped[str] = mapped_column(index=True)
    usage_limit: Mapped[int | None] = mapped_column(BigInteger)
    used: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    campaign_id: Mapped[str | None] = mapped_column(ForeignKey("promotion_campaign.id"), index=True)


class PromotionApplicationMethod(Timestamps, Base):
    """How a promotion's discount is computed and where it goes (one per promotion)."""

    __tablename__ = "promotion_application_method"
    __table_args__ = (
        one_of("type", METHOD_TYPES),
        one_of("target_type", TARGET_TYPES),
        one_of("allocation", ALLOCATIONS),
    )
    id: Mapped[str] = id_column("proappmet")
    promotion_id: Mapped[str] = mapped_column(ForeignKey("promotion.id"), unique=True)
    type: Mapped[str]
    target_type: Mapped[str]
    allocation: Mapped[str]
    value: Mapped[Decimal] = mapped_column(Numeric)
    currency_code: Mapped[str | None]
    max_quantity: Mapped[int | None]
    apply_to_quantity: Mapped[int | None]
    buy_rules_min_quantity: Mapped[int | None]


class PromotionRule(Timestamps, Base):
    """One condition: of the cart (``rules``), of eligible targets or of bought items."""

    __tablename__ = "promotion_rule"
    __table_args__ = (
        one_of("rule_set", RULE_SETS),
        Index("ix_promotion_rule_promotion", "promotion_id", "rule_set", "id"),
    )
    id: Mapped[str] = id_column("prorul")
    promotion_id: Mapped[str] = mapped_column(ForeignKey("promotion.id"))
    rule_set: Mapped[str]
    attribute: Mapped[str]
    operator: Mapped[str]
    values: Mapped[list[str]] = mapped_column(JSONB)
    description: Mapped[str | None]


class PromotionUsage(Base):
    """One row per (promotion, completed cart): a second consumption for a cart is impossible."""

    __tablename__ = "promotion_usage"
    promotion_id: Mapped[str] = mapped_column(ForeignKey("promotion.id"), primary_key=True)
    cart_id: Mapped[str] = mapped_column(ForeignKey("cart.id"), primary_key=True)
    campaign_id: Mapped[str | None] = mapped_column(index=True)
    order_group_id: Mapped[str] = mapped_column(ForeignKey("order_group.id"), index=True)
    customer_id: Mapped[str | None]
    currency_code: Mapped[str]
    amount: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), default=func.now()
    )


def rule_values(values: Any) -> list[str]:
    """The stored form of a rule's values: always a list of strings."""
    return [values] if isinstance(values, str) else list(values)
