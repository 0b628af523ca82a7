"""Endpoint secrets: generated or supplied, validated, stored encrypted (AES-GCM).

The key is derived (HKDF-SHA256) from the settings' ``secret_key``: ``MERCATO_SECRET_KEY``, which
every process must share and which is required with ``DATABASE_URL``, or, in the embedded set-up,
the secret this installation keeps in its data directory (the one JWTs fall back to)."""

from __future__ import annotations

import base64
import binascii
import secrets as random
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from mercato.errors import invalid
from mercato.settings import get_settings

PREFIX = "whsec_"
SECRET_MESSAGE = "secret must be whsec_ followed by base64 of 24 to 64 bytes"
_AAD = b"mercato webhook secret"
_VERSION = "v1:"


def generate_secret() -> str:
    """``whsec_`` + base64 of 32 random bytes."""
    return PREFIX + base64.b64encode(random.token_bytes(32)).decode()


def check_secret(secret: str) -> str:
    """A client-supplied secret, or the spec's 400."""
    if not isinstance(secret, str) or not secret.startswith(PREFIX):
        raise invalid(SECRET_MESSAGE)
    try:
        key = base64.b64decode(secret[len(PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise invalid(SECRET_MESSAGE) from None
    if not 24 <= len(key) <= 64:
        raise invalid(SECRET_MESSAGE)
    return secret


def secret_hint(secret: str) -> str:
    """``whsec_…Xy1Q``: enough to tell secrets apart, never enough to use one."""
    return f"{PREFIX}…{secret[-4:]}"


@lru_cache
def _key() -> bytes:
    material = get_settings().secret_key
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"mercato webhook secrets"
    ).derive(material.encode())


def encrypt(secret: str) -> str:
    nonce = random.token_bytes(12)
    sealed = AESGCM(_key()).encrypt(nonce, secret.encode(), _AAD)
    return _VERSION + base64.b64encode(nonce + sealed).decode()


def decrypt(ciphertext: str) -> str:
    if not ciphertext.startswith(_VERSION):
        raise ValueError("unknown webhook secret encryption")
    raw = base64.b64decode(ciphertext[len(_VERSION) :])
    return AESGCM(_key()).decrypt(raw[:12], raw[12:], _AAD).decode()
