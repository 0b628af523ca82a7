"""API key tokens: random, identified by a SHA-256 digest (keys are high-entropy, so a fast
digest is safe and lets the lookup use an index)."""

import hashlib
import secrets

PREFIXES = {"publishable": "pk_", "secret": "sk_"}


def new_token(key_type: str) -> str:
    return PREFIXES[key_type] + secrets.token_hex(32)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def redact(token: str) -> str:
    return f"{token[:6]}***{token[-3:]}"
