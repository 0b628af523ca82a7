"""Signed JWTs for users, customers and seller members."""

from __future__ import annotations

import time
from dataclasses import dataclass

import jwt

from mercato.errors import unauthorized
from mercato.settings import get_settings

ALGORITHM = "HS256"


@dataclass(frozen=True)
class TokenClaims:
    actor_type: str  # user | customer | seller
    actor_id: str  # empty for a customer registration token
    auth_identity_id: str


def issue_token(claims: TokenClaims, *, ttl_seconds: int | None = None) -> str:
    settings = get_settings()
    now = int(time.time())
    payload = {
        "actor_type": claims.actor_type,
        "actor_id": claims.actor_id,
        "auth_identity_id": claims.auth_identity_id,
        "iat": now,
        "exp": now + (ttl_seconds if ttl_seconds is not None else settings.token_ttl_seconds),
    }
    return jwt.encode(payload, settings.jwt_secret, algorithm=ALGORITHM)


def read_token(token: str) -> TokenClaims:
    try:
        payload = jwt.decode(
            token,
            get_settings().jwt_secret,
            algorithms=[ALGORITHM],
            options={"require": ["exp", "actor_type", "actor_id", "auth_identity_id"]},
        )
    except jwt.PyJWTError:
        raise unauthorized() from None
    return TokenClaims(payload["actor_type"], payload["actor_id"], payload["auth_identity_id"])
