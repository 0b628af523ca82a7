"""``Idempotency-Key`` bookkeeping (api-conventions.md): claim a key, then record or release it.

A key is scoped to actor + method + path + key and lives 24 h. The first request *claims* it: a
row committed at once in its own short transaction, so concurrent requests with the key see it
while the first one still runs (409). The claim carries a lease: should the request's process
die, another request may take the key over once the lease has passed (the routes' own
idempotency — e.g. the capture and refund rows' provider keys — still keeps that retry from
acting twice). When the request ends, its response is recorded (2xx and 4xx, except 409) or the
claim is released (5xx, 409: nothing was done, a retry may run). Expired rows are ignored, and
deleted a batch at a time whenever a key is claimed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from ulid import ULID

from mercato.errors import MercatoError, invalid
from mercato.idempotency.models import IdempotencyRecord
from mercato.unit_of_work import UnitOfWork

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
RETENTION = timedelta(hours=24)
# How long a claim holds before another request may take the key over (its holder presumed dead).
LEASE = timedelta(seconds=60)
CLEANUP_BATCH = 100
IN_USE = (
    "The request conflicted with another request. "
    "You may retry the request with the provided Idempotency-Key."
)


def check_key(key: str) -> None:
    """400 unless ``key`` is 1-255 visible ASCII characters."""
    if not 0 < len(key) <= MAX_KEY_LENGTH or not all("!" <= char <= "~" for char in key):
        raise invalid(f"{HEADER} must be 1 to {MAX_KEY_LENGTH} visible ASCII characters")


def key_reused(key: str) -> MercatoError:
    return invalid(
        f"{HEADER} {key} was already used for a different request", code="idempotency_key_reused"
    )


def key_in_use() -> MercatoError:
    return MercatoError("conflict", IN_USE, code="idempotency_key_in_use")


# ------------------------------------------------------------------------------ fingerprints


def fingerprint(body: bytes) -> str:
    """SHA-256 of the body's canonical form: a JSON body with its keys sorted, no whitespace and
    numbers written one way (``1``, ``1.0`` and ``1e0`` alike); any other body as it is."""
    try:
        parsed = json.loads(body, parse_float=Decimal, parse_int=Decimal) if body else None
        canonical = b"json:" + _canonical(parsed).encode()
    except (ValueError, RecursionError):  # not JSON (or absurdly deep): the bytes themselves
        canonical = b"raw:" + body
    return hashlib.sha256(canonical).hexdigest()


def _canonical(value: Any) -> str:
    if isinstance(value, dict):
        items = sorted(value.items())
        return "{" + ",".join(f"{json.dumps(k)}:{_canonical(v)}" for k, v in items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_canonical(item) for item in value) + "]"
    if isinstance(value, Decimal):
        return _number(value)
    return json.dumps(value)  # strings, booleans, null


def _number(value: Decimal) -> str:
    """An exact canonical spelling: significant digits without trailing zeros, and exponent."""
    sign, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int):  # NaN / Infinity are not JSON; keep them distinct
        return str(value)
    significant = list(digits)
    while len(significant) > 1 and significant[-1] == 0:
        significant.pop()
        exponent += 1
    if significant == [0]:
        return "0"
    return f"{'-' if sign else ''}{''.join(map(str, significant))}e{exponent}"


# ------------------------------------------------------------------------------ claims


@dataclass(frozen=True)
class ClientKey:
    """A request's ``Idempotency-Key`` and the actor it is scoped to (``user:<id>``, …); use
    cases that keep their own idempotency scope their keys with both."""

    actor: str
    key: str


@dataclass(frozen=True)
class Claim:
    """The running request's hold on a key (``token`` tells its claim from a later one)."""

    record_id: str
    token: str


@dataclass(frozen=True)
class StoredResponse:
    status: int
    content_type: str | None
    body: bytes


def record_id(actor: str, method: str, path: str, key: str) -> str:
    return hashlib.sha256(json.dumps([actor, method, path, key]).encode()).hexdigest()


async def claim(
    uow: UnitOfWork,
    *,
    actor: str,
    method: str,
    path: str,
    key: str,
    body_fingerprint: str,
) -> Claim | StoredResponse:
    """Claim ``key`` for this request, or the stored response of its first use.

    400 ``idempotency_key_reused`` when it was used with another body; 409
    ``idempotency_key_in_use`` while its first request still runs."""
    check_key(key)
    record = record_id(actor, method, path, key)
    token = str(ULID())
    now = func.now()
    values = {
        "id": record,
        "actor": actor,
        "method": method,
        "path": path,
        "key": key,
        "fingerprint": body_fingerprint,
        "claim": token,
        "locked_until": now + LEASE,
        "response_status": None,
        "response_content_type": None,
        "response_body": None,
        "created_at": now,
        "expires_at": now + RETENTION,
    }
    insertion = insert(IdempotencyRecord).values(values)
    row = IdempotencyRecord
    # An expired record, or a claim whose holder let its lease pass, is free to take.
    free = or_(row.expires_at <= now, and_(row.claim.is_not(None), row.locked_until <= now))
    statement = insertion.on_conflict_do_update(
        index_elements=[row.id],
        set_={name: insertion.excluded[name] for name in values if name != "id"},
        where=free,
    ).returning(row.id)
    async with uow:
        session = uow.session
        if (await session.execute(statement)).first() is not None:
            await _delete_expired(session)
            await uow.commit()
            return Claim(record, token)
        # The conflicting row stays locked by this transaction until it ends.
        existing = (
            await session.execute(
                select(
                    row.fingerprint,
                    row.claim,
                    row.response_status,
                    row.response_content_type,
                    row.response_body,
                ).where(row.id == record)
            )
        ).one()
    if existing.fingerprint != body_fingerprint:
        raise key_reused(key)
    if existing.claim is not None:
        raise key_in_use()
    return StoredResponse(
        existing.response_status, existing.response_content_type, existing.response_body or b""
    )


async def _delete_expired(session: AsyncSession) -> None:
    """Opportunistic clean-up: a batch of expired records (rows others hold are skipped)."""
    expired = (
        select(IdempotencyRecord.id)
        .where(IdempotencyRecord.expires_at <= func.now())
        .limit(CLEANUP_BATCH)
        .with_for_update(skip_locked=True)
    )
    await session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id.in_(expired)))


async def finish(
    uow: UnitOfWork,
    held: Claim,
    *,
    status: int,
    content_type: str | None,
    body: bytes,
) -> None:
    """Store the claimed request's response for replays (if the claim is still this one's)."""
    async with uow:
        await uow.session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.id == held.record_id, IdempotencyRecord.claim == held.token)
            .values(
                claim=None,
                locked_until=None,
                response_status=status,
                response_content_type=content_type,
                response_body=body,
            )
        )
        await uow.commit()


async def release(uow: UnitOfWork, held: Claim) -> None:
    """Forget the claim: the request did nothing a retry must not repeat."""
    async with uow:
        await uow.session.execute(
            delete(IdempotencyRecord).where(
                IdempotencyRecord.id == held.record_id, IdempotencyRecord.claim == held.token
            )
        )
        await uow.commit()


def is_recorded(status: int) -> bool:
    """2xx and 4xx responses are replayed; 5xx and 409 (nothing was done) are not."""
    return 200 <= status < 300 or (400 <= status < 500 and status != 409)
