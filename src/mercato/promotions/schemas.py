"""Promotion and campaign request bodies (promotions.md, Admin API and ``/vendor``): strict,
unknown keys rejected. Enumerations and combinations are checked by ``promotions.rules`` with
the spec's messages; vendor bodies have no ``seller_id`` or ``funded_by`` (unrecognized field)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, StringConstraints, WithJsonSchema

from mercato.domain.limits import ID_LENGTH, NAME_LENGTH
from mercato.http.schemas import Body, Id, LongText, Name

MAX_RULES = 100  # rules of one set, values of one rule
MAX_IDS = 1000  # ids in one batch or add/remove


def _number(value: Any) -> Decimal:
    """A JSON number as the exact Decimal of its shortest repr (``10.99`` stays 10.99)."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError("must be a number")
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    if not number.is_finite():
        raise ValueError("must be a finite number")
    return number


Number = Annotated[Decimal, BeforeValidator(_number), WithJsonSchema({"type": "number"})]


INSTANT_LENGTH = 64


def _instant(value: Any) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and len(value) <= INSTANT_LENGTH:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError("must be an ISO-8601 date") from None
    else:
        raise ValueError("must be an ISO-8601 date")
    if parsed.tzinfo is None:
        raise ValueError("must be an ISO-8601 date with a time zone")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range") from None


Instant = Annotated[
    datetime,
    BeforeValidator(_instant),
    WithJsonSchema({"type": "string", "format": "date-time", "maxLength": INSTANT_LENGTH}),
]
Word = Annotated[str, StringConstraints(max_length=NAME_LENGTH)]
"""An enumerated value or a code, checked by ``promotions.rules`` with the spec's message."""
Currency = Annotated[str, StringConstraints(max_length=3)]
Quantity = Annotated[int, Field(le=1_000_000)]
RuleValue = Annotated[str, StringConstraints(max_length=NAME_LENGTH)]
RuleValues = RuleValue | Annotated[list[RuleValue], Field(max_length=MAX_RULES)]
IdText = Annotated[str, StringConstraints(max_length=ID_LENGTH)]
Ids = Annotated[list[IdText], Field(max_length=MAX_IDS)]
Limit = Annotated[int, Field(le=10**12)]


class Rule(Body):
    attribute: Word
    operator: Word
    values: RuleValues
    description: LongText | None = None


class UpdateRule(Body):
    id: Id
    attribute: Word | None = None
    operator: Word | None = None
    values: RuleValues | None = None
    description: LongText | None = None


Rules = Annotated[list[Rule], Field(max_length=MAX_RULES)]


class RuleBatch(Body):
    create: Rules | None = None
    update: Annotated[list[UpdateRule], Field(max_length=MAX_RULES)] | None = None
    delete: Ids | None = None


class Budget(Body):
    type: Word
    limit: Number
    currency_code: Currency | None = None


class UpdateBudget(Body):
    type: Word | None = None
    limit: Number | None = None
    currency_code: Currency | None = None


class CreateCampaign(Body):
    name: Name
    campaign_identifier: Name
    description: LongText | None = None
    starts_at: Instant | None = None
    ends_at: Instant | None = None
    budget: Budget | None = None


class UpdateCampaign(Body):
    name: Name | None = None
    campaign_identifier: Name | None = None
    description: LongText | None = None
    starts_at: Instant | None = None
    ends_at: Instant | None = None
    budget: UpdateBudget | None = None


class CampaignPromotions(Body):
    add: Ids | None = None
    remove: Ids | None = None


class ApplicationMethod(Body):
    type: Word
    target_type: Word
    allocation: Word | None = None
    value: Number
    currency_code: Currency | None = None
    max_quantity: Quantity | None = None
    apply_to_quantity: Quantity | None = None
    buy_rules_min_quantity: Quantity | None = None
    target_rules: Rules | None = None
    buy_rules: Rules | None = None


class UpdateApplicationMethod(Body):
    """Rules change only through the batch routes: ``target_rules``/``buy_rules`` are unknown."""

    type: Word | None = None
    target_type: Word | None = None
    allocation: Word | None = None
    value: Number | None = None
    currency_code: Currency | None = None
    max_quantity: Quantity | None = None
    apply_to_quantity: Quantity | None = None
    buy_rules_min_quantity: Quantity | None = None


class VendorCreatePromotion(Body):
    code: Word
    type: Word
    status: Word | None = None
    is_automatic: bool = False
    is_tax_inclusive: bool = False
    limit: Limit | None = None
    campaign_id: Id | None = None
    campaign: CreateCampaign | None = None
    application_method: ApplicationMethod
    rules: Rules | None = None


class CreatePromotion(VendorCreatePromotion):
    seller_id: Id | None = None
    funded_by: Word | None = None


class UpdatePromotion(Body):
    """``code, status, is_automatic, is_tax_inclusive, limit, campaign_id, application_method``
    (the same for vendors); ``seller_id``, ``funded_by`` and ``type`` are fixed at creation."""

    code: Word | None = None
    status: Word | None = None
    is_automatic: bool | None = None
    is_tax_inclusive: bool | None = None
    limit: Limit | None = None
    campaign_id: Id | None = None
    application_method: UpdateApplicationMethod | None = None
