"""Token verification is memoised per token; expiry must still be enforced on every use."""

from __future__ import annotations

import time

import pytest

from mercato.auth import tokens
from mercato.auth.tokens import TokenClaims, issue_token, read_token
from mercato.errors import MercatoError


def test_a_verified_token_still_expires(monkeypatch):
    token = issue_token(TokenClaims("user", "user_1", "authid_1"), ttl_seconds=60)
    assert read_token(token) == TokenClaims("user", "user_1", "authid_1")
    assert read_token(token) == TokenClaims("user", "user_1", "authid_1")  # from the memo
    now = time.time()
    monkeypatch.setattr(tokens.time, "time", lambda: now + 61)
    with pytest.raises(MercatoError):
        read_token(token)


def test_a_tampered_token_is_refused():
    token = issue_token(TokenClaims("user", "user_1", "authid_1"))
    head, payload, signature = token.split(".")
    tampered = (
        f"{head}.{payload}.{signature[:-2]}{'A' if signature[-2] != 'A' else 'B'}{signature[-1]}"
    )
    with pytest.raises(MercatoError):
        read_token(tampered)
    with pytest.raises(MercatoError):
        read_token("not-a-jwt")
