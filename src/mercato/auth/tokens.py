"""Signed JWTs for users, customers and seller members."""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache

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
    """The claims of a valid, unexpired token, else 401. A token signed with
    ``MERCATO_JWT_SECRET_PREVIOUS`` is valid too, so rotating the secret logs nobody out."""
    settings = get_settings()
    verified = _verify(token, settings.jwt_secret)
    if verified is None and settings.jwt_secret_previous:
        verified = _verify(token, settings.jwt_secret_previous)
    if verified is None or verified[1] <= time.time():
        raise unauthorized()
    return verified[0]


@lru_cache(maxsize=4096)
def _verify(token: str, secret: str) -> tuple[TokenClaims, float] | None:
    """Signature and claims check, memoised per token: a client sends the same token on every
    request, and HMAC verification plus JSON decoding cost more than the rest of authentication.
    Expiry is compared by the caller on every use, so a cached token still expires on time."""
    try:
        payload = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={
                "require": ["exp", "actor_type", "actor_id", "auth_identity_id"],
                "verify_exp": False,
            },
        )
    except jwt.PyJWTError:
        return None
    expires_at = payload["exp"]
    fields = (payload["actor_type"], payload["actor_id"], payload["auth_identity_id"])
    if not isinstance(expires_at, int | float) or not all(isinstance(f, str) for f in fields):
        return None
    return TokenClaims(*fields), float(expires_at)
