"""Splitting a multi-seller cart — or a draft order (order-changes.md §12) — into one order
draft per seller (checkout.md, "Split").

Pure: it groups the caller's own line and shipping-method objects (anything with the attributes of
:class:`SplitLine` / :class:`SplitShippingMethod`) and returns them untouched, so quantities, prices
and snapshots are preserved by construction. The checks here are the completion preconditions that
need nothing but the cart's lines and methods (rules 1, 3 and 4 of checkout.md); the rest (email,
payment, seller status, stock) needs data the HTTP/database layer holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from mercato.domain.errors import DomainError


class SplitLine(Protocol):
    """What the split reads from a cart line."""

    @property
    def id(self) -> str: ...

    @property
    def seller_id(self) -> str: ...

    @property
    def requires_shipping(self) -> bool: ...


class SplitShippingMethod(Protocol):
    """What the split reads from a cart shipping method."""

    @property
    def id(self) -> str: ...

    @property
    def seller_id(self) -> str: ...


L = TypeVar("L", bound=SplitLine)
S = TypeVar("S", bound=SplitShippingMethod)


@dataclass(frozen=True, slots=True)
class CartLine:
    """A minimal cart line (tests, callers without their own type); satisfies :class:`SplitLine`
    and :class:`mercato.domain.totals.PricedItem`."""

    id: str
    seller_id: str
    quantity: int
    unit_price: int
    requires_shipping: bool = True
    is_tax_inclusive: bool = False


@dataclass(frozen=True, slots=True)
class CartShippingMethod:
    """A minimal cart shipping method; satisfies :class:`SplitShippingMethod` and
    :class:`mercato.domain.totals.PricedShipping`."""

    id: str
    seller_id: str
    amount: int = 0
    is_tax_inclusive: bool = False


@dataclass(frozen=True, slots=True)
class SellerOrderDraft(Generic[L, S]):
    """Everything one seller's order is made of: that seller's lines and shipping method(s).

    ``lines`` and ``shipping_methods`` keep the relative order in which the cart listed them.
    """

    seller_id: str
    lines: tuple[L, ...]
    shipping_methods: tuple[S, ...]


@dataclass(frozen=True, slots=True)
class Source:
    """What is being split, as the precondition messages name it: a cart (checkout.md) or a
    draft order (order-changes.md §12: its messages say "draft order" instead of "cart")."""

    noun: str
    no_items: str


CART = Source("cart", "Cannot complete a cart with no items")
DRAFT_ORDER = Source("draft order", "Cannot convert a draft order with no items")


def check_cart_completable(
    lines: Sequence[SplitLine],
    shipping_methods: Sequence[SplitShippingMethod],
    source: Source = CART,
) -> None:
    """Raise :class:`DomainError` (``invalid_data``) for the first broken pure precondition.

    Checked in the spec's order; within a rule, sellers / methods are examined in ascending
    ``seller_id`` (then method ``id``) so the reported id is deterministic.

    1. no items → ``Cannot complete a cart with no items``
    3. a seller with items requiring shipping but no method →
       ``No shipping method selected for seller <seller_id>``; a seller with two or more methods
       (the cart API replaces, so only corrupt data gets here) →
       ``Seller <seller_id> has more than one shipping method``
    4. a method whose seller has no items →
       ``Shipping method <id> belongs to seller <seller_id>, who has no items in the cart``

    A draft order's messages (``source=DRAFT_ORDER``) name it instead of the cart.
    """
    if not lines:
        raise DomainError(source.no_items)
    sellers_with_items = {line.seller_id for line in lines}
    sellers_needing_shipping = {line.seller_id for line in lines if line.requires_shipping}
    methods_by_seller: dict[str, int] = {}
    for method in shipping_methods:
        methods_by_seller[method.seller_id] = methods_by_seller.get(method.seller_id, 0) + 1

    for seller_id in sorted(sellers_with_items):
        count = methods_by_seller.get(seller_id, 0)
        if count == 0 and seller_id in sellers_needing_shipping:
            raise DomainError(f"No shipping method selected for seller {seller_id}")
        if count > 1:
            raise DomainError(f"Seller {seller_id} has more than one shipping method")

    for method in sorted(shipping_methods, key=lambda m: (m.seller_id, m.id)):
        if method.seller_id not in sellers_with_items:
            raise DomainError(
                f"Shipping method {method.id} belongs to seller {method.seller_id}, "
                f"who has no items in the {source.noun}"
            )


def group_by_seller(
    lines: Iterable[L], shipping_methods: Iterable[S]
) -> list[SellerOrderDraft[L, S]]:
    """Group lines and methods per seller, sellers ascending by ``seller_id``; no validation.

    A seller appears when it has at least one line; methods of sellers without lines are dropped
    (:func:`check_cart_completable` refuses those carts before this point).
    """
    lines_by_seller: dict[str, list[L]] = {}
    for line in lines:
        lines_by_seller.setdefault(line.seller_id, []).append(line)
    methods_by_seller: dict[str, list[S]] = {}
    for method in shipping_methods:
        methods_by_seller.setdefault(method.seller_id, []).append(method)
    return [
        SellerOrderDraft(
            seller_id=seller_id,
            lines=tuple(lines_by_seller[seller_id]),
            shipping_methods=tuple(methods_by_seller.get(seller_id, ())),
        )
        for seller_id in sorted(lines_by_seller)
    ]


def split_cart(
    lines: Sequence[L], shipping_methods: Sequence[S], source: Source = CART
) -> list[SellerOrderDraft[L, S]]:
    """Validate the pure preconditions, then return one draft per distinct seller.

    Every line lands in exactly one draft (the one of its ``seller_id``); each draft holds that
    seller's shipping method, if its items need one. Pass lines in a stable order (e.g. by
    creation time, then id) to get stable line order inside each order. A draft order is split
    the same way (``source=DRAFT_ORDER``).
    """
    check_cart_completable(lines, shipping_methods, source)
    return group_by_seller(lines, shipping_methods)
