"""``Idempotency-Key`` values and the canonical request bodies they are compared by."""

import pytest

from mercato.errors import MercatoError
from mercato.idempotency.service import check_key, fingerprint, is_recorded


@pytest.mark.parametrize("key", ["a", "~" * 255, "order-1:capture!", "AZaz09-_.~"])
def test_visible_ascii_keys_of_1_to_255_characters_are_accepted(key):
    check_key(key)


@pytest.mark.parametrize("key", ["", "x" * 256, "a b", "tab\t", "café", "new\nline", "\x7f"])
def test_other_keys_are_refused_naming_the_header(key):
    with pytest.raises(MercatoError) as refused:
        check_key(key)
    assert refused.value.status_code == 400
    assert refused.value.message.startswith("Idempotency-Key ")


@pytest.mark.parametrize(
    "one, other",
    [
        (b'{"amount": 1, "note": "x"}', b'{"note":"x","amount":1}'),
        (b'{"amount": 1}', b'{"amount": 1.0}'),
        (b'{"amount": 1.5}', b'{"amount": 1.50}'),
        (b'{"amount": 100}', b'{"amount": 1e2}'),
        (b'{"a": [1, {"b": 0}]}', b' {"a":[1.0,{"b":-0.0}]} '),
        (b"", b"null"),  # no body and a JSON null are the same absent body
    ],
)
def test_the_same_body_however_spelled_has_one_fingerprint(one, other):
    assert fingerprint(one) == fingerprint(other)


@pytest.mark.parametrize(
    "one, other",
    [
        (b'{"amount": 1}', b'{"amount": 2}'),
        (b'{"amount": 1}', b'{"amount": "1"}'),
        (b'{"amount": 1.00000000000000000000000000001}', b'{"amount": 1}'),
        (b'{"a": [1, 2]}', b'{"a": [2, 1]}'),
        (b"", b"{}"),
        (b"not json", b"not  json"),
    ],
)
def test_different_bodies_have_different_fingerprints(one, other):
    assert fingerprint(one) != fingerprint(other)


def test_2xx_and_4xx_are_recorded_but_not_409_or_5xx():
    assert [s for s in (200, 201, 204, 302, 400, 404, 409, 422, 500, 503) if is_recorded(s)] == [
        200,
        201,
        204,
        400,
        404,
        422,
    ]
