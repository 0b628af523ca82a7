"""Promotion and campaign commands (promotions.md, Data, Admin API, ``/vendor``), each one unit
of work.

``vendor_seller_id`` is the calling member's seller: the command then sees only that seller's
promotions and campaigns (another's id is a 404), makes the seller the owner and funder, and
lets rules name only the seller's own catalogue. ``None`` is the operator, who sees everything.
A seller-scoped promotion (``seller_id`` set, by a vendor or an admin) likewise takes rules on
its seller's products, variants and shipping options only, and no ``*.seller.id`` rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.customers.models import Customer, CustomerGroup
from mercato.db.base import new_id
from mercato.domain import events
from mercato.domain.money import exact_major, exponent, is_currency, to_minor
from mercato.errors import duplicate, invalid
from mercato.products.models import Product, ProductVariant
from mercato.promotions import rules as checks
from mercato.promotions.models import (
    RULE_SETS,
    Promotion,
    PromotionApplicationMethod,
    PromotionCampaign,
    PromotionCampaignBudget,
    PromotionRule,
)
from mercato.query.listing import get_or_404
from mercato.regions.models import Region
from mercato.sales_channels.models import SalesChannel
from mercato.sellers.models import Seller
from mercato.shipping_options.models import ShippingOption
from mercato.unit_of_work import UnitOfWork

ENTITY = "Promotion"
CAMPAIGN = "Campaign"
RULE = "Promotion rule"
METHOD_COLUMNS = (
    "type",
    "target_type",
    "allocation",
    "value",
    "currency_code",
    "max_quantity",
    "apply_to_quantity",
    "buy_rules_min_quantity",
)
MAX_BUDGET = 10**15  # minor units; a spend budget is at most a cart's bound


# --------------------------------------------------------------------------- scoping


def _promotion_scope(vendor_seller_id: str | None) -> tuple[ColumnElement[bool], ...]:
    return () if vendor_seller_id is None else (Promotion.seller_id == vendor_seller_id,)


def _campaign_scope(vendor_seller_id: str | None) -> tuple[ColumnElement[bool], ...]:
    return () if vendor_seller_id is None else (PromotionCampaign.seller_id == vendor_seller_id,)


async def _promotion(
    session: AsyncSession, promotion_id: str, vendor_seller_id: str | None
) -> Promotion:
    return await get_or_404(
        session, Promotion, ENTITY, promotion_id, *_promotion_scope(vendor_seller_id)
    )


async def _campaign(
    session: AsyncSession, campaign_id: str, vendor_seller_id: str | None
) -> PromotionCampaign:
    return await get_or_404(
        session, PromotionCampaign, CAMPAIGN, campaign_id, *_campaign_scope(vendor_seller_id)
    )


# --------------------------------------------------------------------------- referenced ids

# attribute → (model, entity named in the message, whether it is a seller's own catalogue)
_REFERENCES: dict[str, tuple[type[Any], str, bool]] = {
    "customer.id": (Customer, "Customer", False),
    "customer.groups.id": (CustomerGroup, "Customer group", False),
    "region.id": (Region, "Region", False),
    "sales_channel_id": (SalesChannel, "Sales channel", False),
    "items.product.id": (Product, "Product", True),
    "items.variant.id": (ProductVariant, "Product variant", True),
    "shipping_methods.shipping_option_id": (ShippingOption, "Shipping option", True),
    "items.seller.id": (Seller, "Seller", False),
    "shipping_methods.seller.id": (Seller, "Seller", False),
}


async def _check_references(
    session: AsyncSession, rules: Iterable[checks.CheckedRule], seller_id: str | None
) -> None:
    """Every id a rule names exists (400 naming the first one missing); on a seller-scoped
    promotion the catalogue ids must be the seller's own (another seller's are "not found")."""
    wanted: dict[str, list[str]] = {}
    for rule in rules:
        if rule.attribute in _REFERENCES:
            wanted.setdefault(rule.attribute, []).extend(rule.values)
    for attribute, ids in wanted.items():
        model, entity, catalogue = _REFERENCES[attribute]
        ids = list(dict.fromkeys(ids))
        query = select(model.id).where(model.id.in_(ids), model.deleted_at.is_(None))
        if catalogue and seller_id is not None:
            if model is ProductVariant:
                query = query.join(Product, Product.id == ProductVariant.product_id).where(
                    Product.seller_id == seller_id, Product.deleted_at.is_(None)
                )
            else:
                query = query.where(model.seller_id == seller_id)
        found = set((await session.scalars(query)).all())
        for value in ids:
            if value not in found:
                raise invalid(f"{entity} with id {value} was not found")


async def _check_seller(session: AsyncSession, seller_id: str) -> None:
    found = await session.scalar(
        select(Seller.id).where(Seller.id == seller_id, Seller.deleted_at.is_(None))
    )
    if found is None:
        raise invalid(f"Seller with id {seller_id} was not found")


async def _check_code_free(session: AsyncSession, code: str, own_id: str | None = None) -> None:
    query = select(Promotion.id).where(
        func.lower(Promotion.code) == code.lower(), Promotion.deleted_at.is_(None)
    )
    if own_id is not None:
        query = query.where(Promotion.id != own_id)
    if await session.scalar(query.limit(1)) is not None:
        raise duplicate(f"Promotion with code {code} already exists")


@contextmanager
def _duplicates(*, code: str | None = None, identifier: str | None = None) -> Iterator[None]:
    """Around a unit of work: a concurrent request that took the same code or identifier
    between the check and the insert (the unique indexes refuse it) is a 422 too."""
    try:
        yield
    except IntegrityError as exc:
        text = str(exc.orig)
        if code is not None and "uq_promotion_code_lower" in text:
            raise duplicate(f"Promotion with code {code} already exists") from None
        if identifier is not None and "uq_promotion_campaign_identifier" in text:
            raise duplicate(
                f"Campaign with campaign_identifier {identifier} already exists"
            ) from None
        raise


# --------------------------------------------------------------------------- rules


def _check_rules(
    prefix: str,
    rules: Sequence[Mapping[str, Any]],
    rule_set: str,
    target_type: str,
    seller_id: str | None,
) -> list[checks.CheckedRule]:
    allowed = checks.allowed_attributes(rule_set, target_type, seller_id)
    return [checks.check_rule(f"{prefix}[{i}]", rule, allowed) for i, rule in enumerate(rules)]


def _rule_rows(
    promotion_id: str, rule_set: str, rules: Sequence[checks.CheckedRule]
) -> list[PromotionRule]:
    """New rows whose ids sort in request order (rules list by ``created_at, id``)."""
    ids = sorted(new_id("prorul") for _ in rules)
    return [
        PromotionRule(
            id=rule_id,
            promotion_id=promotion_id,
            rule_set=rule_set,
            attribute=rule.attribute,
            operator=rule.operator,
            values=rule.values,
            description=rule.description,
        )
        for rule_id, rule in zip(ids, rules, strict=True)
    ]


def _recheck_existing(
    rules: Sequence[PromotionRule], rule_set: str, target_type: str, seller_id: str | None
) -> None:
    """Existing rules still fit an application method whose target type changed."""
    allowed = checks.allowed_attributes(rule_set, target_type, seller_id)
    for i, rule in enumerate(rules):
        if rule.attribute not in allowed:
            raise invalid(
                f"application_method.{rule_set}[{i}].attribute must be one of {', '.join(allowed)}"
            )


async def _rules_of(session: AsyncSession, promotion_id: str) -> dict[str, list[PromotionRule]]:
    rows = (
        await session.scalars(
            select(PromotionRule)
            .where(PromotionRule.promotion_id == promotion_id)
            .order_by(PromotionRule.created_at, PromotionRule.id)
        )
    ).all()
    found: dict[str, list[PromotionRule]] = {name: [] for name in RULE_SETS}
    for row in rows:
        found[row.rule_set].append(row)
    return found


# --------------------------------------------------------------------------- budgets


@dataclass
class BudgetValues:
    type: str
    limit: int
    currency_code: str | None


def _budget_amount(amount: int, budget_type: str, currency: str | None) -> str:
    if budget_type == "spend" and currency is not None:
        return exact_major(amount, currency)
    return str(amount)


def _check_budget(
    body: Mapping[str, Any], existing: PromotionCampaignBudget | None
) -> BudgetValues:
    """The budget a campaign body asks for, merged over the existing one."""
    budget_type = body.get("type", existing.type if existing else None)
    if budget_type in checks.UNSUPPORTED_BUDGET_TYPES:
        raise invalid(f"budget.type {budget_type} is not supported")
    checks.one_of("budget.type", budget_type, checks.BUDGET_TYPES)
    used = existing.used if existing else 0
    previous_type = existing.type if existing else budget_type
    changed_type = previous_type != budget_type
    if changed_type and used > 0:
        raise invalid(
            f"budget.type cannot change from {previous_type} to {budget_type} once the "
            "budget is used"
        )
    if "currency_code" in body:
        currency = body["currency_code"]
    elif existing is not None and not changed_type:
        currency = existing.currency_code
    else:
        currency = None
    if currency is not None:
        currency = currency.lower()
        if not is_currency(currency):
            raise invalid(f"budget.currency_code {body['currency_code']} is not a currency")
    if budget_type == "spend" and currency is None:
        raise invalid("budget.currency_code is required for spend budgets")
    if budget_type == "usage" and currency is not None:
        raise invalid("budget.currency_code is only allowed for spend budgets")
    if (
        existing is not None
        and used > 0
        and budget_type == "spend"
        and currency != existing.currency_code
    ):
        raise invalid("budget.currency_code cannot change once the budget is used")
    limit: Decimal | None = body.get("limit")
    if limit is None:
        if existing is None or changed_type or currency != existing.currency_code:
            raise invalid("budget.limit is required")
        minor = existing.limit
        assert minor is not None
    else:
        if limit <= 0:
            raise invalid("budget.limit must be greater than 0")
        if budget_type == "spend":
            assert currency is not None
            digits = exponent(currency)
            scaled = limit.scaleb(digits)
            if scaled != scaled.to_integral_value():
                raise invalid(
                    f"budget.limit must be an amount in {currency} with at most {digits} decimals"
                )
            minor = to_minor(limit, currency)
        else:
            if limit != limit.to_integral_value():
                raise invalid("budget.limit must be an integer for usage budgets")
            minor = int(limit)
        if minor > MAX_BUDGET:
            raise invalid(
                f"budget.limit must be at most {_budget_amount(MAX_BUDGET, budget_type, currency)}"
            )
    if minor < used:
        raise invalid(
            f"Campaign budget limit {_budget_amount(minor, budget_type, currency)} is below "
            f"what is already used ({_budget_amount(used, budget_type, currency)})"
        )
    return BudgetValues(budget_type, minor, currency)


def _check_currency(method_type: str, currency: str | None, budget: BudgetValues | None) -> None:
    if (
        budget is not None
        and budget.type == "spend"
        and method_type == "fixed"
        and currency != budget.currency_code
    ):
        raise invalid(
            f"Promotion currency {currency} does not match campaign budget currency "
            f"{budget.currency_code}"
        )


async def _budget_of(session: AsyncSession, campaign_id: str) -> PromotionCampaignBudget | None:
    return await session.scalar(
        select(PromotionCampaignBudget).where(
            PromotionCampaignBudget.campaign_id == campaign_id,
            PromotionCampaignBudget.deleted_at.is_(None),
        )
    )


def _as_values(budget: PromotionCampaignBudget | None) -> BudgetValues | None:
    if budget is None:
        return None
    return BudgetValues(budget.type, budget.limit or 0, budget.currency_code)


async def _check_campaign_currencies(
    session: AsyncSession, campaign_id: str, budget: BudgetValues | None
) -> None:
    """Every fixed promotion of the campaign shares its spend budget's currency."""
    if budget is None or budget.type != "spend":
        return
    query = (
        select(PromotionApplicationMethod.currency_code)
        .join(Promotion, Promotion.id == PromotionApplicationMethod.promotion_id)
        .where(
            Promotion.campaign_id == campaign_id,
            Promotion.deleted_at.is_(None),
            PromotionApplicationMethod.type == "fixed",
            PromotionApplicationMethod.currency_code != budget.currency_code,
        )
    )
    currency = await session.scalar(query.limit(1))
    if currency is not None:
        _check_currency("fixed", currency, budget)


# --------------------------------------------------------------------------- campaigns


def _check_window(starts_at: datetime | None, ends_at: datetime | None) -> None:
    if starts_at is not None and ends_at is not None and starts_at >= ends_at:
        raise invalid("starts_at must be before ends_at")


async def _check_identifier_free(
    session: AsyncSession, identifier: str, own_id: str | None = None
) -> None:
    query = select(PromotionCampaign.id).where(
        PromotionCampaign.campaign_identifier == identifier,
        PromotionCampaign.deleted_at.is_(None),
    )
    if own_id is not None:
        query = query.where(PromotionCampaign.id != own_id)
    if await session.scalar(query.limit(1)) is not None:
        raise duplicate(f"Campaign with campaign_identifier {identifier} already exists")


@dataclass
class _NewCampaign:
    campaign: PromotionCampaign
    budget: BudgetValues | None


async def _new_campaign(
    session: AsyncSession, body: Mapping[str, Any], seller_id: str | None
) -> _NewCampaign:
    """A campaign (and its budget) checked and added to the session, owned by ``seller_id``."""
    _check_window(body.get("starts_at"), body.get("ends_at"))
    budget = _check_budget(body["budget"], None) if body.get("budget") is not None else None
    await _check_identifier_free(session, body["campaign_identifier"])
    campaign = PromotionCampaign(
        id=new_id("procamp"),
        name=body["name"],
        campaign_identifier=body["campaign_identifier"],
        description=body.get("description"),
        starts_at=body.get("starts_at"),
        ends_at=body.get("ends_at"),
        seller_id=seller_id,
    )
    session.add(campaign)
    await session.flush()  # before rows that reference it (no ORM relationships order them)
    if budget is not None:
        session.add(
            PromotionCampaignBudget(
                campaign_id=campaign.id,
                type=budget.type,
                limit=budget.limit,
                used=0,
                currency_code=budget.currency_code,
            )
        )
    return _NewCampaign(campaign, budget)


async def create_campaign(
    uow: UnitOfWork, *, body: Mapping[str, Any], vendor_seller_id: str | None = None
) -> PromotionCampaign:
    """An operator campaign (admin) or the member's seller's (vendor)."""
    with _duplicates(identifier=body["campaign_identifier"]):
        async with uow:
            made = await _new_campaign(uow.session, body, vendor_seller_id)
            await uow.flush()
            uow.emit(
                events.CAMPAIGN_CREATED, {"id": made.campaign.id}, seller_id=made.campaign.seller_id
            )
            await uow.commit()
    return made.campaign


async def update_campaign(
    uow: UnitOfWork,
    *,
    campaign_id: str,
    changes: Mapping[str, Any],
    vendor_seller_id: str | None = None,
) -> PromotionCampaign:
    """Partial; ``budget`` merges over the existing budget (``null`` removes an unused one)."""
    with _duplicates(identifier=changes.get("campaign_identifier")):
        async with uow:
            session = uow.session
            campaign = await _campaign(session, campaign_id, vendor_seller_id)
            for name in ("name", "campaign_identifier"):
                if name in changes and changes[name] is None:
                    raise invalid(f"Invalid request: {name}: must not be null")
            starts_at = changes.get("starts_at", campaign.starts_at)
            ends_at = changes.get("ends_at", campaign.ends_at)
            _check_window(starts_at, ends_at)
            identifier = changes.get("campaign_identifier")
            if identifier is not None and identifier != campaign.campaign_identifier:
                await _check_identifier_free(session, identifier, campaign.id)
            if "budget" in changes:
                existing = await _budget_of(session, campaign.id)
                if changes["budget"] is None:
                    if existing is not None:
                        if existing.used > 0:
                            raise invalid("budget cannot be removed once it is used")
                        await session.delete(existing)
                else:
                    budget = _check_budget(changes["budget"], existing)
                    await _check_campaign_currencies(session, campaign.id, budget)
                    if existing is None:
                        session.add(
                            PromotionCampaignBudget(
                                campaign_id=campaign.id,
                                type=budget.type,
                                limit=budget.limit,
                                used=0,
                                currency_code=budget.currency_code,
                            )
                        )
                    else:
                        existing.type = budget.type
                        existing.limit = budget.limit
                        existing.currency_code = budget.currency_code
            for name in ("name", "campaign_identifier", "description", "starts_at", "ends_at"):
                if name in changes:
                    setattr(campaign, name, changes[name])
            campaign.updated_at = uow.now()
            uow.emit(events.CAMPAIGN_UPDATED, {"id": campaign.id}, seller_id=campaign.seller_id)
            await uow.commit()
    return campaign


async def delete_campaign(
    uow: UnitOfWork, *, campaign_id: str, vendor_seller_id: str | None = None
) -> None:
    """Soft delete; its promotions are detached (``campaign_id`` null) and keep applying."""
    async with uow:
        session = uow.session
        campaign = await _campaign(session, campaign_id, vendor_seller_id)
        now = uow.now()
        campaign.deleted_at = now
        await session.execute(
            update(PromotionCampaignBudget)
            .where(PromotionCampaignBudget.campaign_id == campaign.id)
            .values(deleted_at=now)
        )
        detached = (
            await session.scalars(
                update(Promotion)
                .where(Promotion.campaign_id == campaign.id)
                .values(campaign_id=None, updated_at=now)
                .returning(Promotion.id)
            )
        ).all()
        uow.emit(events.CAMPAIGN_DELETED, {"id": campaign.id}, seller_id=campaign.seller_id)
        for promotion_id in detached:  # a campaign's promotions are of its owner
            uow.emit(events.PROMOTION_UPDATED, {"id": promotion_id}, seller_id=campaign.seller_id)
        await uow.commit()


async def campaign_promotions(
    uow: UnitOfWork,
    *,
    campaign_id: str,
    add: Sequence[str],
    remove: Sequence[str],
    vendor_seller_id: str | None = None,
) -> PromotionCampaign:
    """Attach (``add``: moved from another campaign if need be) and detach promotions of the
    campaign's owner; an id of another owner, unknown or deleted is a 400 "not found"."""
    async with uow:
        session = uow.session
        campaign = await _campaign(session, campaign_id, vendor_seller_id)
        both = set(add) & set(remove)
        if both:
            raise invalid(f"Promotion {sorted(both)[0]} cannot be both added and removed")
        wanted = list(dict.fromkeys([*add, *remove]))
        found: dict[str, Promotion] = {}
        if wanted:
            rows = (
                await session.scalars(
                    select(Promotion).where(
                        Promotion.id.in_(wanted),
                        Promotion.deleted_at.is_(None),
                        Promotion.seller_id.is_not_distinct_from(campaign.seller_id),
                    )
                )
            ).all()
            found = {row.id: row for row in rows}
        for promotion_id in wanted:
            if promotion_id not in found:
                raise invalid(f"{ENTITY} with id {promotion_id} was not found")
        for promotion_id in remove:
            if found[promotion_id].campaign_id != campaign.id:
                raise invalid(f"Promotion {promotion_id} is not in campaign {campaign.id}")
        budget = _as_values(await _budget_of(session, campaign.id))
        if add and budget is not None and budget.type == "spend":
            methods = (
                await session.scalars(
                    select(PromotionApplicationMethod).where(
                        PromotionApplicationMethod.promotion_id.in_(list(add))
                    )
                )
            ).all()
            by_promotion = {method.promotion_id: method for method in methods}
            for promotion_id in add:
                method = by_promotion[promotion_id]
                _check_currency(method.type, method.currency_code, budget)
        now = uow.now()
        for promotion_id in add:
            found[promotion_id].campaign_id = campaign.id
        for promotion_id in remove:
            found[promotion_id].campaign_id = None
        for promotion_id in wanted:
            found[promotion_id].updated_at = now
            uow.emit(
                events.PROMOTION_UPDATED,
                {"id": promotion_id},
                seller_id=found[promotion_id].seller_id,
            )
        if wanted:
            campaign.updated_at = now
            uow.emit(events.CAMPAIGN_UPDATED, {"id": campaign.id}, seller_id=campaign.seller_id)
        await uow.commit()
    return campaign


# --------------------------------------------------------------------------- promotions


def _method_values(body: Mapping[str, Any]) -> dict[str, Any]:
    return {name: body.get(name) for name in METHOD_COLUMNS}


async def create_promotion(
    uow: UnitOfWork, *, body: Mapping[str, Any], vendor_seller_id: str | None = None
) -> Promotion:
    """A promotion with its application method, rules and (``campaign_id`` or an inline
    ``campaign``) campaign; a vendor's is the member's seller's and funded by it."""
    seller_id: str | None = body.get("seller_id")
    funded_by: str | None = body.get("funded_by")
    if vendor_seller_id is not None:
        seller_id, funded_by = vendor_seller_id, "seller"
    elif funded_by is None:
        funded_by = "seller" if seller_id else "operator"
    values = {
        "code": body["code"],
        "type": body["type"],
        "status": "draft" if body.get("status") is None else body["status"],
        "is_automatic": body.get("is_automatic", False),
        "is_tax_inclusive": body.get("is_tax_inclusive", False),
        "seller_id": seller_id,
        "funded_by": funded_by,
        "limit": body.get("limit"),
    }
    checks.check_promotion_fields(values)
    method_body = body["application_method"]
    method = checks.check_method(values["type"], _method_values(method_body))
    target_type = method["target_type"]
    cart_rules = _check_rules("rules", body.get("rules") or [], "rules", target_type, seller_id)
    target_rules = _check_rules(
        "application_method.target_rules",
        method_body.get("target_rules") or [],
        "target_rules",
        target_type,
        seller_id,
    )
    buy_rules = _check_rules(
        "application_method.buy_rules",
        method_body.get("buy_rules") or [],
        "buy_rules",
        target_type,
        seller_id,
    )
    checks.check_buy_rules(values["type"], len(buy_rules))
    if body.get("campaign_id") is not None and body.get("campaign") is not None:
        raise invalid("Provide campaign or campaign_id, not both")
    inline = body.get("campaign")
    identifier = inline["campaign_identifier"] if inline is not None else None
    with _duplicates(code=values["code"], identifier=identifier):
        async with uow:
            session = uow.session
            if vendor_seller_id is None and seller_id is not None:
                await _check_seller(session, seller_id)
            await _check_references(session, [*cart_rules, *target_rules, *buy_rules], seller_id)
            await _check_code_free(session, values["code"])
            campaign_id = body.get("campaign_id")
            created_campaign: _NewCampaign | None = None
            if campaign_id is not None:
                campaign = await _owned_campaign(session, campaign_id, seller_id)
                budget = _as_values(await _budget_of(session, campaign.id))
            elif body.get("campaign") is not None:
                created_campaign = await _new_campaign(session, body["campaign"], seller_id)
                campaign_id = created_campaign.campaign.id
                budget = created_campaign.budget
            else:
                budget = None
            _check_currency(method["type"], method["currency_code"], budget)
            promotion = Promotion(
                id=new_id("promo"),
                code=values["code"],
                type=values["type"],
                status=values["status"],
                is_automatic=values["is_automatic"],
                is_tax_inclusive=values["is_tax_inclusive"],
                seller_id=seller_id,
                funded_by=funded_by,
                usage_limit=values["limit"],
                used=0,
                campaign_id=campaign_id,
            )
            session.add(promotion)
            await session.flush()
            session.add(PromotionApplicationMethod(promotion_id=promotion.id, **method))
            for rule_set, checked in (
                ("rules", cart_rules),
                ("target_rules", target_rules),
                ("buy_rules", buy_rules),
            ):
                session.add_all(_rule_rows(promotion.id, rule_set, checked))
            await session.flush()
            if created_campaign is not None:
                uow.emit(
                    events.CAMPAIGN_CREATED,
                    {"id": created_campaign.campaign.id},
                    seller_id=created_campaign.campaign.seller_id,
                )
            uow.emit(events.PROMOTION_CREATED, {"id": promotion.id}, seller_id=promotion.seller_id)
            await uow.commit()
    return promotion


async def _owned_campaign(
    session: AsyncSession, campaign_id: str, seller_id: str | None
) -> PromotionCampaign:
    """A live campaign of the promotion's owner; any other is "not found" (400)."""
    campaign = await session.scalar(
        select(PromotionCampaign).where(
            PromotionCampaign.id == campaign_id,
            PromotionCampaign.deleted_at.is_(None),
            PromotionCampaign.seller_id.is_not_distinct_from(seller_id),
        )
    )
    if campaign is None:
        raise invalid(f"{CAMPAIGN} with id {campaign_id} was not found")
    return campaign


async def update_promotion(
    uow: UnitOfWork,
    *,
    promotion_id: str,
    changes: Mapping[str, Any],
    vendor_seller_id: str | None = None,
) -> Promotion:
    """Partial: ``code, status, is_automatic, is_tax_inclusive, limit, campaign_id`` and the
    application method's columns; the result is checked as a whole, as at creation."""
    with _duplicates(code=changes.get("code")):
        async with uow:
            session = uow.session
            promotion = await _promotion(session, promotion_id, vendor_seller_id)
            for name in ("is_automatic", "is_tax_inclusive", "application_method"):
                if name in changes and changes[name] is None:
                    raise invalid(f"Invalid request: {name}: must not be null")
            values = {
                "code": changes.get("code", promotion.code),
                "type": promotion.type,
                "status": changes.get("status", promotion.status),
                "is_automatic": changes.get("is_automatic", promotion.is_automatic),
                "is_tax_inclusive": changes.get("is_tax_inclusive", promotion.is_tax_inclusive),
                "seller_id": promotion.seller_id,
                "funded_by": promotion.funded_by,
                "limit": changes.get("limit", promotion.usage_limit),
            }
            checks.check_promotion_fields(values)
            method = await session.scalar(
                select(PromotionApplicationMethod).where(
                    PromotionApplicationMethod.promotion_id == promotion.id
                )
            )
            assert method is not None
            current = {name: getattr(method, name) for name in METHOD_COLUMNS}
            method_changes = changes.get("application_method") or {}
            merged = checks.check_method(promotion.type, {**current, **method_changes})
            rules = await _rules_of(session, promotion.id)
            if merged["target_type"] != method.target_type:
                _recheck_existing(
                    rules["target_rules"],
                    "target_rules",
                    merged["target_type"],
                    promotion.seller_id,
                )
            if values["code"].lower() != promotion.code.lower():
                await _check_code_free(session, values["code"], promotion.id)
            campaign_id = changes.get("campaign_id", promotion.campaign_id)
            if "campaign_id" in changes and campaign_id is not None:
                await _owned_campaign(session, campaign_id, promotion.seller_id)
            if campaign_id is not None:
                budget = _as_values(await _budget_of(session, campaign_id))
                _check_currency(merged["type"], merged["currency_code"], budget)
            for name in METHOD_COLUMNS:
                setattr(method, name, merged[name])
            promotion.code = values["code"]
            promotion.status = values["status"]
            promotion.is_automatic = values["is_automatic"]
            promotion.is_tax_inclusive = values["is_tax_inclusive"]
            promotion.usage_limit = values["limit"]
            promotion.campaign_id = campaign_id
            promotion.updated_at = uow.now()
            uow.emit(events.PROMOTION_UPDATED, {"id": promotion.id}, seller_id=promotion.seller_id)
            await uow.commit()
    return promotion


async def delete_promotion(
    uow: UnitOfWork, *, promotion_id: str, vendor_seller_id: str | None = None
) -> None:
    """Soft delete: carts and orders keep their adjustments; its code becomes free."""
    async with uow:
        promotion = await _promotion(uow.session, promotion_id, vendor_seller_id)
        promotion.deleted_at = uow.now()
        uow.emit(events.PROMOTION_DELETED, {"id": promotion.id}, seller_id=promotion.seller_id)
        await uow.commit()


@dataclass(frozen=True)
class BatchResult:
    created: list[PromotionRule]
    updated: list[PromotionRule]
    deleted: list[str]


async def batch_rules(
    uow: UnitOfWork,
    *,
    promotion_id: str,
    rule_set: str,
    create: Sequence[Mapping[str, Any]],
    update: Sequence[Mapping[str, Any]],
    delete: Sequence[str],
    vendor_seller_id: str | None = None,
) -> BatchResult:
    """Create, update and delete rules of one set, all or nothing. Ids to update or delete
    must be rules of this promotion and set (400 "not found" otherwise)."""
    async with uow:
        session = uow.session
        promotion = await _promotion(session, promotion_id, vendor_seller_id)
        method = await session.scalar(
            select(PromotionApplicationMethod).where(
                PromotionApplicationMethod.promotion_id == promotion.id
            )
        )
        assert method is not None
        seller_id = promotion.seller_id
        if rule_set == "buy_rules" and promotion.type != "buyget" and create:
            raise invalid("buy_rules is not allowed for standard promotions")
        existing = {rule.id: rule for rule in (await _rules_of(session, promotion.id))[rule_set]}
        for rule_id in [*delete, *(u["id"] for u in update)]:
            if rule_id not in existing:
                raise invalid(f"{RULE} with id {rule_id} was not found")
        deleting = set(delete)
        for item in update:
            if item["id"] in deleting:
                raise invalid(f"{RULE} {item['id']} cannot be both updated and deleted")
        created = _check_rules("create", create, rule_set, method.target_type, seller_id)
        allowed = checks.allowed_attributes(rule_set, method.target_type, seller_id)
        updated: list[tuple[PromotionRule, checks.CheckedRule]] = []
        for i, item in enumerate(update):
            rule = existing[item["id"]]
            merged = {
                "attribute": item.get("attribute") or rule.attribute,
                "operator": item.get("operator") or rule.operator,
                "values": item["values"] if item.get("values") is not None else rule.values,
                "description": item.get("description", rule.description),
            }
            updated.append((rule, checks.check_rule(f"update[{i}]", merged, allowed)))
        await _check_references(session, [*created, *(c for _, c in updated)], seller_id)
        remaining = len(existing) - len(deleting) + len(created)
        if rule_set == "buy_rules":
            checks.check_buy_rules(promotion.type, remaining)
        for rule_id in delete:
            await session.delete(existing[rule_id])
        now = uow.now()
        for rule, checked in updated:
            rule.attribute = checked.attribute
            rule.operator = checked.operator
            rule.values = checked.values
            rule.description = checked.description
            rule.updated_at = now
        rows = _rule_rows(promotion.id, rule_set, created)
        session.add_all(rows)
        promotion.updated_at = now
        await session.flush()
        uow.emit(events.PROMOTION_UPDATED, {"id": promotion.id}, seller_id=promotion.seller_id)
        await uow.commit()
    return BatchResult(rows, [rule for rule, _ in updated], list(delete))
