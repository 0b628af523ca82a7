"""The per-seller cart split and its pure completion preconditions (checkout.md)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mercato.domain.errors import DomainError
from mercato.domain.split import (
    CartLine,
    CartShippingMethod,
    SellerOrderDraft,
    check_cart_completable,
    group_by_seller,
    split_cart,
)


def line(line_id: str, seller: str, qty: int = 1, price: int = 1000, ship: bool = True) -> CartLine:
    return CartLine(line_id, seller, quantity=qty, unit_price=price, requires_shipping=ship)


def method(method_id: str, seller: str, amount: int = 500) -> CartShippingMethod:
    return CartShippingMethod(method_id, seller, amount=amount)


def test_two_sellers_split_into_two_orders_sorted_by_seller() -> None:
    lines = [line("l1", "sel_B", 2), line("l2", "sel_A", 1), line("l3", "sel_B", 5)]
    methods = [method("sm_A", "sel_A"), method("sm_B", "sel_B")]
    drafts = split_cart(lines, methods)
    assert [d.seller_id for d in drafts] == ["sel_A", "sel_B"]
    assert drafts[0] == SellerOrderDraft("sel_A", (lines[1],), (methods[0],))
    assert drafts[1] == SellerOrderDraft("sel_B", (lines[0], lines[2]), (methods[1],))


def test_single_seller_cart_gives_one_order() -> None:
    lines = [line("l1", "sel_A", 3), line("l2", "sel_A", 1)]
    drafts = split_cart(lines, [method("sm_A", "sel_A")])
    assert len(drafts) == 1
    assert drafts[0].lines == tuple(lines)
    assert [m.id for m in drafts[0].shipping_methods] == ["sm_A"]


def test_lines_are_returned_untouched() -> None:
    """The caller's own objects come back as they are (same identity, snapshot untouched)."""

    @dataclass
    class Row:
        id: str
        seller_id: str
        requires_shipping: bool
        title: str

    rows = [Row("l1", "sel_A", False, "Mug"), Row("l2", "sel_B", False, "Tee")]
    drafts = split_cart(rows, [])
    assert drafts[0].lines[0] is rows[0]
    assert drafts[1].lines[0] is rows[1]


def test_seller_without_shipping_items_needs_no_method() -> None:
    lines = [line("l1", "sel_A", ship=False), line("l2", "sel_B")]
    drafts = split_cart(lines, [method("sm_B", "sel_B")])
    assert [(d.seller_id, len(d.shipping_methods)) for d in drafts] == [("sel_A", 0), ("sel_B", 1)]


def test_optional_method_for_non_shipping_seller_is_kept() -> None:
    lines = [line("l1", "sel_A", ship=False)]
    drafts = split_cart(lines, [method("sm_A", "sel_A")])
    assert drafts[0].shipping_methods[0].id == "sm_A"


# ----------------------------------------------------------------------------- preconditions


def test_empty_cart_is_refused() -> None:
    with pytest.raises(DomainError) as err:
        split_cart([], [])
    assert err.value.message == "Cannot complete a cart with no items"
    assert err.value.type == "invalid_data"
    with pytest.raises(DomainError, match="^Cannot complete a cart with no items$"):
        split_cart([], [method("sm_A", "sel_A")])


def test_missing_shipping_method_names_the_seller() -> None:
    lines = [line("l1", "sel_A"), line("l2", "sel_B"), line("l3", "sel_C")]
    with pytest.raises(DomainError) as err:
        split_cart(lines, [method("sm_A", "sel_A")])
    assert str(err.value) == "No shipping method selected for seller sel_B"  # first by seller id


def test_shipping_method_of_seller_without_items_is_refused() -> None:
    lines = [line("l1", "sel_A")]
    methods = [method("sm_A", "sel_A"), method("sm_Z", "sel_Z")]
    with pytest.raises(DomainError) as err:
        split_cart(lines, methods)
    assert err.value.message == (
        "Shipping method sm_Z belongs to seller sel_Z, who has no items in the cart"
    )


def test_missing_method_is_reported_before_orphan_method() -> None:
    lines = [line("l1", "sel_A")]
    with pytest.raises(DomainError, match="^No shipping method selected for seller sel_A$"):
        check_cart_completable(lines, [method("sm_Z", "sel_Z")])


def test_two_methods_for_one_seller_are_refused() -> None:
    lines = [line("l1", "sel_A")]
    with pytest.raises(DomainError, match="^Seller sel_A has more than one shipping method$"):
        split_cart(lines, [method("sm_1", "sel_A"), method("sm_2", "sel_A")])


def test_valid_cart_passes_the_checks() -> None:
    check_cart_completable([line("l1", "sel_A")], [method("sm_A", "sel_A")])


# ----------------------------------------------------------------------------- properties


@st.composite
def valid_carts(draw: st.DrawFn) -> tuple[list[CartLine], list[CartShippingMethod]]:
    sellers = draw(st.lists(st.sampled_from([f"sel_{i:02d}" for i in range(30)]), min_size=1))
    lines = [
        line(f"l{i}", s, qty=draw(st.integers(1, 1000)), ship=draw(st.booleans()))
        for i, s in enumerate(sellers)
    ]
    distinct = sorted(set(sellers))
    needs = {x.seller_id for x in lines if x.requires_shipping}
    methods = [method(f"sm_{s}", s) for s in distinct if s in needs or draw(st.booleans())]
    draw(st.randoms()).shuffle(methods)
    return lines, methods


@settings(max_examples=300, deadline=None)
@given(cart=valid_carts())
def test_every_line_lands_in_exactly_one_order(
    cart: tuple[list[CartLine], list[CartShippingMethod]],
) -> None:
    lines, methods = cart
    drafts = split_cart(lines, methods)

    # one order per distinct seller, sorted, each holding only its own lines
    assert [d.seller_id for d in drafts] == sorted({x.seller_id for x in lines})
    for d in drafts:
        assert d.lines
        assert all(x.seller_id == d.seller_id for x in d.lines)
        assert all(m.seller_id == d.seller_id for m in d.shipping_methods)
        assert len(d.shipping_methods) <= 1
        if any(x.requires_shipping for x in d.lines):
            assert len(d.shipping_methods) == 1

    placed = [x for d in drafts for x in d.lines]
    assert Counter(x.id for x in placed) == Counter(x.id for x in lines)  # exactly once each
    assert sorted(placed, key=lambda x: x.id) == sorted(lines, key=lambda x: x.id)  # unchanged
    assert sum(x.quantity for x in placed) == sum(x.quantity for x in lines)
    # relative order within a seller follows the cart
    for d in drafts:
        assert list(d.lines) == [x for x in lines if x.seller_id == d.seller_id]
    # every method lands in its seller's order
    assert sorted(m.id for d in drafts for m in d.shipping_methods) == sorted(m.id for m in methods)


@settings(max_examples=100, deadline=None)
@given(cart=valid_carts())
def test_split_is_deterministic(cart: tuple[list[CartLine], list[CartShippingMethod]]) -> None:
    lines, methods = cart
    assert split_cart(lines, methods) == split_cart(list(lines), list(methods))
    assert group_by_seller(lines, methods) == split_cart(lines, methods)
