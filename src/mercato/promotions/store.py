"""What a shopper sees of a promotion on a cart: no rules, budgets, limits or funding."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from mercato.promotions.models import Promotion, PromotionApplicationMethod


def json_number(value: Decimal) -> int | float:
    """A percentage or a fixed amount (a few decimals) as the JSON number it prints as."""
    return int(value) if value == value.to_integral_value() else float(value)


def store_promotion(promotion: Promotion, method: PromotionApplicationMethod) -> dict[str, Any]:
    return {
        "id": promotion.id,
        "code": promotion.code,
        "is_automatic": promotion.is_automatic,
        "seller_id": promotion.seller_id,
        "application_method": {
            "type": method.type,
            "target_type": method.target_type,
            "allocation": method.allocation,
            "value": json_number(method.value),
            "currency_code": method.currency_code,
        },
    }
