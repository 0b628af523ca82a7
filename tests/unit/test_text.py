"""Handles derived from names: kebab case, transliterated for alphabets that spell letter by
letter, Unicode letters kept for the other scripts."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mercato.domain.limits import NAME_LENGTH
from mercato.http.text import is_handle, kebab


@pytest.mark.parametrize(
    ("name", "handle"),
    [
        ("Acme Shoes!", "acme-shoes"),
        ("  Tea Corner ", "tea-corner"),
        ("O'Reilly & Sons", "o-reilly-sons"),
        ("Café Zoë", "cafe-zoe"),
        ("Łódź Straße", "lodz-strasse"),
        ("Ｆｕｌｌ", "full"),
        ("Чайный дом", "chaynyy-dom"),
        ("Ελληνικά", "ellinika"),
        ("東京 茶舗", "東京-茶舗"),
        ("株式会社ミズノ", "株式会社ミズノ"),
        ("متجر الشاي", "متجر-الشاي"),
        ("नमस्ते", "नमस्ते"),  # combining vowel signs stay with their letters
        ("!!!", "item"),
    ],
)
def test_kebab(name: str, handle: str) -> None:
    assert kebab(name) == handle
    assert is_handle(handle)


def test_a_derived_handle_leaves_room_for_a_suffix():
    assert len(kebab("Щ" * 300)) <= NAME_LENGTH - 8
    assert not kebab("a " * 300).endswith("-")


@given(st.text(max_size=80))
def test_every_derived_handle_is_a_valid_handle(name: str) -> None:
    assert is_handle(kebab(name))


@pytest.mark.parametrize("value", ["", "Upper", "a b", "-a", "a-", "a--b", "a_b", "ǅ"])
def test_what_is_not_a_handle(value: str) -> None:
    assert not is_handle(value)
