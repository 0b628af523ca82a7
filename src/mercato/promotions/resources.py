"""How promotions and campaigns render and list (promotions.md, Data and Admin API).

A promotion's ``limit`` is its ``usage_limit`` column; rules render their values as
``[{value}]``; a ``spend`` budget's ``limit``/``used`` (minor units stored) render in major
units of its currency, a ``usage`` budget's as counts. Vendor lists and reads are the admin's
scoped to the member's seller (``seller_id`` bound per request)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import bindparam

from mercato.domain.money import to_major
from mercato.promotions.models import (
    Promotion,
    PromotionApplicationMethod,
    PromotionCampaign,
    PromotionCampaignBudget,
    PromotionRule,
)
from mercato.query.fields import Field, FieldRules, Join, Relation, RenderContext, Resource
from mercato.query.listing import Filter, ListSpec, ilike_any
from mercato.query.loaders import HasMany, belongs_to, has_many
from mercato.query.values import attr, number, timestamp

RULE_ORDER = (PromotionRule.created_at, PromotionRule.id)


class _RulesOfPromotion(HasMany):
    """The rules of one set of the promotion an application method belongs to (its
    ``target_rules`` / ``buy_rules``): keyed by the method's ``promotion_id``, not its id."""

    def __init__(self, rule_set: str) -> None:
        super().__init__(
            PromotionRule, "promotion_id", RULE_ORDER, PromotionRule.rule_set == rule_set
        )
        self.reads = ("promotion_id",)

    async def __call__(
        self,
        ctx: RenderContext,
        rows: list[Any],
        columns: frozenset[str] | None = None,
        joins: tuple[Join, ...] = (),
    ) -> list[Any]:
        groups: dict[Any, list[Any]] = defaultdict(list)
        query = self.query(columns, ("promotion_id",), joins)
        for rule in await self.rows(ctx, query, list({r.promotion_id for r in rows})):
            groups[rule.promotion_id].append(rule)
        return [groups.get(r.promotion_id, []) for r in rows]


def _values(row: Any) -> list[dict[str, str]]:
    return [{"value": value} for value in row.values]


RULE: Resource = Resource(
    name="promotion_rule",
    fields={
        "id": attr("id"),
        "attribute": attr("attribute"),
        "operator": attr("operator"),
        "values": Field(
            _values,
            ("values",),
            schema={
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"value": {"type": "string"}},
                    "required": ["value"],
                    "additionalProperties": False,
                },
            },
        ),
        "description": attr("description"),
        "created_at": timestamp("created_at"),
        "updated_at": timestamp("updated_at"),
    },
    defaults=("id", "attribute", "operator", "values", "description"),
)
RULE_FIELDS = FieldRules(defaults=RULE.defaults)


def _method_value(row: Any) -> int | float | None:
    return number(row.value)


APPLICATION_METHOD: Resource = Resource(
    name="application_method",
    fields={
        "id": attr("id"),
        "type": attr("type"),
        "target_type": attr("target_type"),
        "allocation": attr("allocation"),
        "value": Field(_method_value, ("value",), schema={"type": ["number", "null"]}),
        "currency_code": attr("currency_code"),
        "max_quantity": attr("max_quantity"),
        "apply_to_quantity": attr("apply_to_quantity"),
        "buy_rules_min_quantity": attr("buy_rules_min_quantity"),
        "promotion_id": attr("promotion_id"),
        "created_at": timestamp("created_at"),
        "updated_at": timestamp("updated_at"),
    },
    relations={
        "target_rules": Relation(lambda: RULE, _RulesOfPromotion("target_rules"), many=True),
        "buy_rules": Relation(lambda: RULE, _RulesOfPromotion("buy_rules"), many=True),
    },
    defaults=(
        "id",
        "type",
        "target_type",
        "allocation",
        "value",
        "currency_code",
        "max_quantity",
        "apply_to_quantity",
        "buy_rules_min_quantity",
        "target_rules",
        "buy_rules",
    ),
)


def _budget_amount(name: str) -> Field:
    """``limit``/``used``: major units of a ``spend`` budget's currency, a count for ``usage``."""

    def get(row: Any) -> Any:
        amount = getattr(row, name)
        if amount is None or row.type != "spend" or row.currency_code is None:
            return amount
        return to_major(amount, row.currency_code)

    return Field(get, (name, "type", "currency_code"), schema={"type": ["number", "null"]})


BUDGET: Resource = Resource(
    name="budget",
    fields={
        "id": attr("id"),
        "type": attr("type"),
        "limit": _budget_amount("limit"),
        "used": _budget_amount("used"),
        "currency_code": attr("currency_code"),
        "campaign_id": attr("campaign_id"),
        "created_at": timestamp("created_at"),
        "updated_at": timestamp("updated_at"),
    },
    defaults=("id", "type", "limit", "used", "currency_code"),
)

CAMPAIGN: Resource = Resource(
    name="campaign",
    fields={
        "id": attr("id"),
        "name": attr("name"),
        "campaign_identifier": attr("campaign_identifier"),
        "description": attr("description"),
        "starts_at": timestamp("starts_at"),
        "ends_at": timestamp("ends_at"),
        "seller_id": attr("seller_id"),
        "created_at": timestamp("created_at"),
        "updated_at": timestamp("updated_at"),
        "deleted_at": timestamp("deleted_at"),
    },
    relations={
        "budget": Relation(
            lambda: BUDGET,
            belongs_to(PromotionCampaignBudget, "id", key="campaign_id"),
            many=False,
        ),
        "promotions": Relation(
            lambda: PROMOTION,
            has_many(
                Promotion,
                "campaign_id",
                order_by=(Promotion.created_at, Promotion.id),
                where=Promotion.deleted_at.is_(None),
            ),
            many=True,
        ),
    },
    defaults=(
        "id",
        "name",
        "campaign_identifier",
        "description",
        "starts_at",
        "ends_at",
        "seller_id",
        "budget",
        "created_at",
        "updated_at",
    ),
)
CAMPAIGN_FIELDS = FieldRules(defaults=CAMPAIGN.defaults)

PROMOTION: Resource = Resource(
    name="promotion",
    fields={
        "id": attr("id"),
        "code": attr("code"),
        "type": attr("type"),
        "is_automatic": attr("is_automatic"),
        "is_tax_inclusive": attr("is_tax_inclusive"),
        "status": attr("status"),
        "campaign_id": attr("campaign_id"),
        "seller_id": attr("seller_id"),
        "funded_by": attr("funded_by"),
        "limit": attr("usage_limit"),
        "used": attr("used"),
        "created_at": timestamp("created_at"),
        "updated_at": timestamp("updated_at"),
        "deleted_at": timestamp("deleted_at"),
    },
    relations={
        "application_method": Relation(
            lambda: APPLICATION_METHOD,
            belongs_to(PromotionApplicationMethod, "id", key="promotion_id"),
            many=False,
        ),
        "rules": Relation(
            lambda: RULE,
            has_many(
                PromotionRule,
                "promotion_id",
                order_by=RULE_ORDER,
                where=PromotionRule.rule_set == "rules",
            ),
            many=True,
        ),
        "campaign": Relation(
            lambda: CAMPAIGN, belongs_to(PromotionCampaign, "campaign_id"), many=False
        ),
    },
    defaults=(
        "id",
        "code",
        "type",
        "is_automatic",
        "is_tax_inclusive",
        "status",
        "campaign_id",
        "seller_id",
        "funded_by",
        "limit",
        "used",
        "application_method",
        "rules",
        "created_at",
        "updated_at",
        "deleted_at",
    ),
)
PROMOTION_FIELDS = FieldRules(defaults=PROMOTION.defaults)

_PROMOTION_FILTERS = {
    "id": Filter(Promotion.id),
    "code": Filter(Promotion.code),
    "type": Filter(Promotion.type, choices=frozenset(("standard", "buyget"))),
    "status": Filter(Promotion.status, choices=frozenset(("draft", "active", "inactive"))),
    "is_automatic": Filter(Promotion.is_automatic, "boolean"),
    "campaign_id": Filter(Promotion.campaign_id),
    "seller_id": Filter(Promotion.seller_id),
    "funded_by": Filter(Promotion.funded_by, choices=frozenset(("operator", "seller"))),
    "created_at": Filter(Promotion.created_at, "datetime"),
    "updated_at": Filter(Promotion.updated_at, "datetime"),
}
_PROMOTION_SORTABLE = {
    "created_at": Promotion.created_at,
    "updated_at": Promotion.updated_at,
    "code": Promotion.code,
}
VENDOR_PROMOTION_SCOPE = (Promotion.seller_id == bindparam("seller_id"),)

PROMOTION_LIST = ListSpec(
    model=Promotion,
    resource=PROMOTION,
    plural="promotions",
    fields=PROMOTION_FIELDS,
    filters=_PROMOTION_FILTERS,
    sortable=_PROMOTION_SORTABLE,
    q=lambda text: ilike_any(text, Promotion.code),
    scope=(Promotion.deleted_at.is_(None),),
)
VENDOR_PROMOTION_LIST = ListSpec(
    model=Promotion,
    resource=PROMOTION,
    plural="promotions",
    fields=PROMOTION_FIELDS,
    filters={k: v for k, v in _PROMOTION_FILTERS.items() if k != "seller_id"},
    sortable=_PROMOTION_SORTABLE,
    q=lambda text: ilike_any(text, Promotion.code),
    scope=(Promotion.deleted_at.is_(None), *VENDOR_PROMOTION_SCOPE),
)

_CAMPAIGN_FILTERS = {
    "id": Filter(PromotionCampaign.id),
    "campaign_identifier": Filter(PromotionCampaign.campaign_identifier),
    "seller_id": Filter(PromotionCampaign.seller_id),
    "created_at": Filter(PromotionCampaign.created_at, "datetime"),
    "updated_at": Filter(PromotionCampaign.updated_at, "datetime"),
}
_CAMPAIGN_SORTABLE = {
    "created_at": PromotionCampaign.created_at,
    "updated_at": PromotionCampaign.updated_at,
    "name": PromotionCampaign.name,
    "campaign_identifier": PromotionCampaign.campaign_identifier,
}
VENDOR_CAMPAIGN_SCOPE = (PromotionCampaign.seller_id == bindparam("seller_id"),)


def _campaign_search(text: Any) -> Any:
    return ilike_any(text, PromotionCampaign.name, PromotionCampaign.campaign_identifier)


CAMPAIGN_LIST = ListSpec(
    model=PromotionCampaign,
    resource=CAMPAIGN,
    plural="campaigns",
    fields=CAMPAIGN_FIELDS,
    filters=_CAMPAIGN_FILTERS,
    sortable=_CAMPAIGN_SORTABLE,
    q=_campaign_search,
    scope=(PromotionCampaign.deleted_at.is_(None),),
)
VENDOR_CAMPAIGN_LIST = ListSpec(
    model=PromotionCampaign,
    resource=CAMPAIGN,
    plural="campaigns",
    fields=CAMPAIGN_FIELDS,
    filters={k: v for k, v in _CAMPAIGN_FILTERS.items() if k != "seller_id"},
    sortable=_CAMPAIGN_SORTABLE,
    q=_campaign_search,
    scope=(PromotionCampaign.deleted_at.is_(None), *VENDOR_CAMPAIGN_SCOPE),
)
