"""Which part of a search is looked up in the trigram indexes (``listing.search_probe``)."""

from __future__ import annotations

import pytest

from mercato.query.listing import search_probe


@pytest.mark.parametrize(
    ("q", "probe"),
    [
        ("jane.doe@gmail.com", "jane.doe@"),
        ("JANE@", "JANE@"),
        ("abc@x", "abc@"),
        ("ab@gmail.com", "ab@gmail.com"),  # under a trigram before the "@": the whole of q
        ("@gmail.com", "@gmail.com"),
        ("jane", "jane"),
        ("a@b@c", "a@b@c"),
        ("", ""),
    ],
)
def test_probe(q: str, probe: str) -> None:
    assert search_probe(q) == probe
    assert probe in q
