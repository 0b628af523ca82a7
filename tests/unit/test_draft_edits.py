"""The draft edit rules alone (``domain.draft_edits``): random edits of a two-seller draft.

Whatever the steps (lines added, updated, zeroed, methods chosen, replaced, dropped, actions
taken back), the preview leaves the draft untouched, is exactly what confirming gives, keeps one
method per seller, and its money adds up: Σ action amounts = preview total − draft total and
Σ sellers' totals = the preview's total, to the minor unit."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from mercato.domain import draft_edits as rules
from mercato.domain.draft_edits import Draft, DraftItem, DraftMethod, LineEdit, NewItem, NewMethod
from mercato.domain.errors import DomainError
from mercato.domain.order_changes import OrderChange
from mercato.domain.returns import Actor

SELLERS = ("sel_a", "sel_b", "sel_c")


def _draft() -> Draft:
    return Draft(
        id="dord_1",
        currency_code="usd",
        tax_rate=Decimal("8.875"),
        tax_inclusive=False,
        items=[
            DraftItem("dordli_1", "sel_a", "v_shirt", 1, 3000, False, {"title": "Shirt"}),
            DraftItem("dordli_2", "sel_b", "v_mug", 2, 1999, False, {"title": "Mug"}),
        ],
        methods=[
            DraftMethod("dordsm_1", "sel_a", "so_a", "A", 500, False),
            DraftMethod("dordsm_2", "sel_b", "so_b", "B", 433, False),
        ],
    )


def _actor() -> Actor:
    counter = itertools.count()
    return Actor("user_1", datetime(2025, 1, 1, tzinfo=UTC), lambda p: f"{p}_{next(counter)}")


step = st.one_of(
    st.tuples(st.just("add"), st.sampled_from(SELLERS), st.integers(1, 5), st.integers(0, 99_999)),
    st.tuples(
        st.just("update"),
        st.sampled_from(("dordli_1", "dordli_2")),
        st.integers(0, 5),
        st.one_of(st.none(), st.integers(0, 99_999)),
    ),
    st.tuples(st.just("ship"), st.sampled_from(SELLERS), st.integers(0, 5000), st.booleans()),
    st.tuples(st.just("drop"), st.sampled_from(("dordsm_1", "dordsm_2")), st.none(), st.none()),
    st.tuples(st.just("undo"), st.integers(0, 20), st.none(), st.none()),
)


def _run(draft: Draft, edit: OrderChange, actor: Actor, move: tuple) -> None:
    kind, a, b, c = move
    if kind == "add":
        new = NewItem(a, None, b, c, c, {"title": "Custom"})
        rules.add_items(draft, edit, [new], actor)
    elif kind == "update":
        rules.update_item(draft, edit, a, LineEdit(quantity=b, unit_price=c), actor)
    elif kind == "ship":
        replaces = next((m.id for m in draft.methods if m.seller_id == a), None) if c else None
        rules.add_shipping(draft, edit, NewMethod(f"so_{a}", a, a, b), actor, replaces=replaces)
    elif kind == "drop":
        rules.remove_method(draft, edit, a, actor)
    elif edit.actions:
        action = edit.actions[a % len(edit.actions)]
        rules.remove_action(edit, action.id, (action.action,), actor)


@settings(max_examples=300, deadline=None)
@given(st.lists(step, max_size=12))
def test_previews_add_up_and_are_what_confirming_gives(moves):
    draft, actor = _draft(), _actor()
    untouched = _draft()
    rules.price(untouched)
    edit = rules.begin(draft.id, 2, actor)
    for move in moves:
        try:
            _run(draft, edit, actor, move)
        except DomainError:
            continue
        preview = rules.preview(draft, edit)
        assert draft == _draft()  # the rules never touch the draft itself
        assert sum(a.amount for a in edit.actions) == preview.totals.total - untouched.totals.total
        assert sum(s.total for s in preview.sellers()) == preview.totals.total
        assert sum(s.tax_total for s in preview.sellers()) == preview.totals.tax_total
        sellers = [m.seller_id for m in preview.methods]
        assert len(sellers) == len(set(sellers))
        assert all(i.quantity > 0 for i in preview.items)
    preview = rules.preview(draft, edit)
    confirmed = rules.confirm(draft, edit, actor)
    assert confirmed == preview
    assert edit.status == "confirmed" and all(a.applied for a in edit.actions)
    assert draft == _draft()


def test_a_method_needs_its_sellers_lines_and_one_per_seller():
    draft, actor = _draft(), _actor()
    edit = rules.begin(draft.id, 2, actor)
    try:
        rules.add_shipping(draft, edit, NewMethod("so_c", "sel_c", "C", 100), actor)
    except DomainError as refused:
        assert refused.message == (
            "Shipping option so_c belongs to seller sel_c, who has no items in the draft order"
        )
    else:
        raise AssertionError("a seller without lines got a method")
    rules.add_shipping(draft, edit, NewMethod("so_a2", "sel_a", "A2", 700), actor)
    rules.add_shipping(draft, edit, NewMethod("so_a3", "sel_a", "A3", 900), actor)
    assert [a.details["shipping_option_id"] for a in edit.actions] == ["so_a3"]
    preview = rules.preview(draft, edit)
    assert [(m.seller_id, m.shipping_option_id) for m in preview.methods] == [
        ("sel_a", "so_a3"),
        ("sel_b", "so_b"),
    ]
    assert edit.actions[0].amount == 400 + 36  # 9.00 − 5.00, plus 8.875 % of it, rounded
