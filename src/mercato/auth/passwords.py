"""Argon2id password hashing (pwdlib), off the event loop.

A hash or a verification costs tens of milliseconds of CPU by design; run on the event loop it
would stall every other request of the worker. Both run in anyio's worker threads, at most
:data:`HASHING_SLOTS` at a time: a burst of logins queues here instead of taking every token of
the thread pool that FastAPI and Starlette share for their own blocking work.
"""

from __future__ import annotations

import os

import anyio
from anyio.lowlevel import RunVar
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

_hasher = PasswordHash((Argon2Hasher(),))
# Verified against when an email is unknown, so a login takes as long either way.
_DUMMY_HASH = _hasher.hash("mercato-timing-equaliser")
HASHING_SLOTS = max(1, min(4, os.cpu_count() or 1))
_slots: RunVar[anyio.CapacityLimiter] = RunVar("mercato_password_hashing_slots")


def hashing_limiter() -> anyio.CapacityLimiter:
    """The running event loop's limiter of concurrent hashes (one per loop, as anyio's own)."""
    try:
        return _slots.get()
    except LookupError:
        limiter = anyio.CapacityLimiter(HASHING_SLOTS)
        _slots.set(limiter)
        return limiter


async def hash_password(password: str) -> str:
    return await anyio.to_thread.run_sync(_hash, password, limiter=hashing_limiter())


async def verify_password(password: str, password_hash: str | None) -> bool:
    """Whether ``password`` matches; without a hash (unknown email) it is checked against a
    dummy hash all the same, so the answer takes as long and tells nothing."""
    return await anyio.to_thread.run_sync(
        _verify, password, password_hash, limiter=hashing_limiter()
    )


def _hash(password: str) -> str:
    return _hasher.hash(password)


def _verify(password: str, password_hash: str | None) -> bool:
    if password_hash is None:
        _hasher.verify(password, _DUMMY_HASH)
        return False
    return _hasher.verify(password, password_hash)
