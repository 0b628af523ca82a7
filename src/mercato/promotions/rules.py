"""What a promotion definition may say (promotions.md, Data and Errors), checked without the
database: enumerations, the application method's combinations, rule attributes and operators
(the vocabulary is ``domain.promotions``').

Each check raises ``invalid`` with the spec's message, naming the offending field. The rules'
referenced ids are checked against the database by the service (``promotions.service``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from mercato.domain.money import exponent, is_currency
from mercato.domain.promotions import (
    CART_RULE_ATTRIBUTES,
    ITEM_RULE_ATTRIBUTES,
    NUMERIC_ATTRIBUTES,
    SELLER_RULE_ATTRIBUTES,
    SHIPPING_RULE_ATTRIBUTES,
    canonical_attribute,
)
from mercato.errors import invalid
from mercato.promotions.models import (
    ALLOCATIONS,
    FUNDERS,
    METHOD_TYPES,
    PROMOTION_STATUSES,
    PROMOTION_TYPES,
    TARGET_TYPES,
)

CODE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
CODE_MESSAGE = "code must be 1 to 64 letters, digits, '-' or '_'"

# Values lower-cased when stored (the cart compares them lower-case).
LOWERCASE_ATTRIBUTES = frozenset({"currency_code", "shipping_address.country_code"})

UNSUPPORTED_BUDGET_TYPES = ("use_by_attribute", "spend_by_attribute")
BUDGET_TYPES = ("spend", "usage")
BUYGET_FIELDS = ("apply_to_quantity", "buy_rules_min_quantity")


def one_of(field: str, value: Any, choices: Sequence[str]) -> str:
    if value not in choices:
        raise invalid(f"{field} must be one of {', '.join(choices)}")
    return str(value)


def check_code(code: Any) -> str:
    if not isinstance(code, str) or not CODE.match(code):
        raise invalid(CODE_MESSAGE)
    return code


def check_promotion_fields(values: Mapping[str, Any]) -> None:
    """``type``, ``status``, ``funded_by``, ``limit`` and their combinations."""
    check_code(values["code"])
    one_of("type", values["type"], PROMOTION_TYPES)
    one_of("status", values["status"], PROMOTION_STATUSES)
    one_of("funded_by", values["funded_by"], FUNDERS)
    if values["funded_by"] == "seller" and values["seller_id"] is None:
        raise invalid("funded_by seller requires seller_id")
    limit = values["limit"]
    if limit is not None and limit < 1:
        raise invalid("limit must be an integer >= 1")
    if values["is_automatic"] and limit is not None:
        raise invalid("Automatic promotions cannot have a usage limit")


def _decimals(value: Decimal) -> int:
    exp = value.normalize().as_tuple().exponent
    return max(0, -exp) if isinstance(exp, int) else 0


def check_method(promotion_type: str, method: dict[str, Any]) -> dict[str, Any]:
    """The application method's values, checked and completed (``allocation`` of ``order``).
    ``method`` holds every column (None when not given) and the rule lists' lengths."""
    prefix = "application_method"
    kind = one_of(f"{prefix}.type", method["type"], METHOD_TYPES)
    target = one_of(f"{prefix}.target_type", method["target_type"], TARGET_TYPES)
    allocation = method["allocation"]
    if allocation == "once":
        raise invalid(f"{prefix}.allocation once is not supported")
    if allocation is None:
        if target != "order":
            raise invalid(f"{prefix}.allocation is required when target_type is {target}")
        allocation = "across"
    one_of(f"{prefix}.allocation", allocation, ALLOCATIONS)
    if target == "order" and allocation != "across":
        raise invalid(f"{prefix}.allocation must be across when target_type is order")
    currency = method["currency_code"]
    if currency is not None:
        currency = currency.lower() if isinstance(currency, str) else currency
        if not isinstance(currency, str) or not is_currency(currency):
            raise invalid(f"{prefix}.currency_code {method['currency_code']} is not a currency")
    value = method["value"]
    if value is None:
        raise invalid(f"Invalid request: {prefix}.value: Field required")
    if kind == "percentage":
        if not 0 < value <= 100 or _decimals(value) > 2:
            raise invalid(f"{prefix}.value must be a percentage greater than 0 and at most 100")
    else:
        if currency is None:
            raise invalid(f"{prefix}.currency_code is required for fixed promotions")
        digits = exponent(currency)
        if value <= 0 or _decimals(value) > digits or value > Decimal(10**12):
            raise invalid(
                f"{prefix}.value must be a positive amount in {currency} with at most "
                f"{digits} decimals"
            )
    max_quantity = method["max_quantity"]
    if max_quantity is not None and max_quantity < 1:
        raise invalid(f"{prefix}.max_quantity must be an integer >= 1")
    if allocation == "across" and max_quantity is not None:
        raise invalid(f"{prefix}.max_quantity is not allowed when allocation is across")
    if target == "items" and allocation == "each" and max_quantity is None:
        raise invalid(f"{prefix}.max_quantity is required when allocation is each")
    for name in BUYGET_FIELDS:
        quantity = method[name]
        if quantity is not None and quantity < 1:
            raise invalid(f"{prefix}.{name} must be an integer >= 1")
    if promotion_type == "buyget":
        for name in BUYGET_FIELDS:
            if method[name] is None:
                raise invalid(f"{name} is required for buyget promotions")
    else:
        for name in BUYGET_FIELDS:
            if method[name] is not None:
                raise invalid(f"{name} is not allowed for standard promotions")
    return {**method, "allocation": allocation, "currency_code": currency}


def check_buy_rules(promotion_type: str, count: int) -> None:
    if promotion_type == "buyget" and count == 0:
        raise invalid("buy_rules is required for buyget promotions")
    if promotion_type != "buyget" and count:
        raise invalid("buy_rules is not allowed for standard promotions")


def allowed_attributes(
    rule_set: str, target_type: str, seller_id: str | None
) -> dict[str, tuple[str, ...]]:
    """The attributes a rule of ``rule_set`` may name; seller attributes only on
    marketplace-wide promotions (a seller-scoped one sees its seller's lines only)."""
    if rule_set == "rules":
        return CART_RULE_ATTRIBUTES
    table = (
        SHIPPING_RULE_ATTRIBUTES
        if rule_set == "target_rules" and target_type == "shipping_methods"
        else ITEM_RULE_ATTRIBUTES
    )
    if seller_id is not None:
        return {k: v for k, v in table.items() if k not in SELLER_RULE_ATTRIBUTES}
    return table


@dataclass(frozen=True)
class CheckedRule:
    attribute: str
    operator: str
    values: list[str]
    description: str | None


def check_rule(
    field: str, rule: Mapping[str, Any], allowed: Mapping[str, tuple[str, ...]]
) -> CheckedRule:
    """One rule ``{attribute, operator, values, description?}``: a known attribute (aliases
    accepted), an operator it takes, at least one value, numbers where numbers are compared."""
    attribute = canonical_attribute(rule["attribute"])
    if attribute not in allowed:
        raise invalid(f"{field}.attribute must be one of {', '.join(allowed)}")
    operators = allowed[attribute]
    operator = rule["operator"]
    if operator not in operators:
        raise invalid(
            f"{field}.operator must be one of {', '.join(operators)} for attribute {attribute}"
        )
    raw = rule["values"]
    values = [raw] if isinstance(raw, str) else list(raw)
    if not values or any(not v for v in values):
        raise invalid(f"{field}.values must contain at least one non-empty value")
    if operator == "eq" and len(values) != 1:
        raise invalid(f"{field}.values must contain exactly one value for operator eq")
    if attribute in NUMERIC_ATTRIBUTES:
        if len(values) != 1:
            raise invalid(f"{field}.values must contain exactly one number")
        try:
            number = Decimal(values[0])
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite():
            raise invalid(f"{field}.values must be a number, not {values[0]!r}")
    if attribute in LOWERCASE_ATTRIBUTES:
        values = [v.lower() for v in values]
        if attribute == "currency_code":
            for v in values:
                if not is_currency(v):
                    raise invalid(f"{field}.values: {v} is not a currency code")
    return CheckedRule(attribute, operator, list(dict.fromkeys(values)), rule.get("description"))
