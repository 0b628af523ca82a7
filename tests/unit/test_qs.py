"""The ``qs`` query-string parser (pure)."""

from __future__ import annotations

import pytest

from mercato.errors import MercatoError
from mercato.query.qs import parse_query


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", {}),
        ("a=1", {"a": "1"}),
        ("a=", {"a": ""}),
        ("a=1&b=2", {"a": "1", "b": "2"}),
        ("a=1&a=2", {"a": ["1", "2"]}),
        ("a=1&a=2&a=3", {"a": ["1", "2", "3"]}),
        ("a[]=1&a[]=2", {"a": ["1", "2"]}),
        ("a[]=1", {"a": ["1"]}),
        ("a%5B%5D=1&a%5B%5D=2", {"a": ["1", "2"]}),
        ("a[0]=x&a[1]=y", {"a": ["x", "y"]}),
        ("a[1]=y&a[0]=x", {"a": ["x", "y"]}),
        ("a[10]=k&a[2]=c", {"a": ["c", "k"]}),
        ("a=1&a[]=2", {"a": ["1", "2"]}),
        (
            "d[$gte]=2026-01-01&d[$lt]=2026-02-01",
            {"d": {"$gte": "2026-01-01", "$lt": "2026-02-01"}},
        ),
        ("id[$in][]=a&id[$in][]=b", {"id": {"$in": ["a", "b"]}}),
        ("id[$in][0]=a&id[$in][1]=b", {"id": {"$in": ["a", "b"]}}),
        ("a[b][c]=1", {"a": {"b": {"c": "1"}}}),
        ("q=50%25+off", {"q": "50% off"}),
        ("q=a%26b%3Dc", {"q": "a&b=c"}),
        ("fields=%2Bvariants.*,-title", {"fields": "+variants.*,-title"}),
        ("t=2026-01-01T00:00:00%2B02:00", {"t": "2026-01-01T00:00:00+02:00"}),
    ],
)
def test_parse(query: str, expected: dict) -> None:
    assert parse_query(query) == expected


def test_mixed_index_and_named_keys_stay_a_mapping() -> None:
    assert parse_query("a[0]=x&a[b]=y") == {"a": {"0": "x", "b": "y"}}


@pytest.mark.parametrize(
    "query",
    [
        "a[=1",
        "a]=1",
        "[a]=1",
        "a[b]c=1",
        "a=1&a[$gt]=2",
        "a[$gt]=2&a=1",
        "a[]=1&a[$gt]=2",
        "a[$gt]=1&a[]=2",
        "a[][]=1",
    ],
)
def test_malformed_or_conflicting_keys_are_400(query: str) -> None:
    with pytest.raises(MercatoError) as raised:
        parse_query(query)
    assert raised.value.status_code == 400
    assert raised.value.type == "invalid_data"
