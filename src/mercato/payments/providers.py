"""Payment providers behind one small interface, each call carrying an idempotency key.

Providers are external systems: their calls are journaled in ``payment_provider_call`` through a
separate connection (committed at once), never inside the business transaction. Replaying a call
with a known idempotency key returns the journaled result instead of acting twice, as real
processors do.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mercato.db.base import new_id
from mercato.domain.payments import PP_SYSTEM_DEFAULT, PP_TEST
from mercato.errors import invalid
from mercato.payments.models import ProviderCall
from mercato.query.driver import FixedInsert, FixedQuery
from mercato.settings import get_settings

AuthorizationStatus = Literal["authorized", "captured", "declined", "requires_more"]


@dataclass(frozen=True)
class ProviderResult:
    status: str
    data: dict[str, Any] = field(default_factory=dict)


class PaymentProviderPort(Protocol):
    """What workflows need of a payment provider. Every call carries an idempotency key: the
    same key repeated (a retry, a recovery after a crash) answers as the first call did and
    moves no money twice. Calls are made outside any database transaction."""

    id: str

    async def authorize(
        self, *, amount: int, currency_code: str, data: dict[str, Any] | None, idempotency_key: str
    ) -> ProviderResult: ...

    async def capture(self, *, amount: int, idempotency_key: str) -> ProviderResult: ...

    async def refund(self, *, amount: int, idempotency_key: str) -> ProviderResult: ...

    async def cancel(self, *, amount: int | None, idempotency_key: str) -> ProviderResult: ...


ProviderFactory = Callable[[str], PaymentProviderPort]
"""``providers(provider_id)`` → the provider (production: :func:`get_provider` bound to the
app's sessionmaker; tests: an in-memory fake)."""


# The journal is written on every provider call (checkout's authorization among them): driver
# statements, compiled once.
_PREVIOUS_CALL = FixedQuery(
    select(ProviderCall.result, ProviderCall.data).where(
        ProviderCall.provider_id == bindparam("provider_id"),
        ProviderCall.operation == bindparam("operation"),
        ProviderCall.idempotency_key == bindparam("key"),
    )
)
_JOURNAL = FixedInsert(ProviderCall)


class PaymentProvider:
    """Base provider: journals every call; subclasses decide outcomes in ``_decide``."""

    id: str = ""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    async def authorize(
        self, *, amount: int, currency_code: str, data: dict[str, Any] | None, idempotency_key: str
    ) -> ProviderResult:
        return await self._call("authorize", amount, data or {}, idempotency_key)

    async def capture(self, *, amount: int, idempotency_key: str) -> ProviderResult:
        return await self._call("capture", amount, {}, idempotency_key)

    async def refund(self, *, amount: int, idempotency_key: str) -> ProviderResult:
        return await self._call("refund", amount, {}, idempotency_key)

    async def cancel(self, *, amount: int | None, idempotency_key: str) -> ProviderResult:
        return await self._call("cancel", amount, {}, idempotency_key)

    def _decide(self, operation: str, data: dict[str, Any]) -> str:
        return {"authorize": "authorized", "capture": "captured", "refund": "refunded"}.get(
            operation, "canceled"
        )

    async def _call(
        self, operation: str, amount: int | None, data: dict[str, Any], idempotency_key: str
    ) -> ProviderResult:
        async with self._sessionmaker() as journal, journal.begin():
            previous = await _PREVIOUS_CALL.rows(
                journal, provider_id=self.id, operation=operation, key=idempotency_key
            )
            if previous:
                return ProviderResult(previous[0].result, previous[0].data or {})
            result = self._decide(operation, data)
            await _JOURNAL.run(
                journal,
                [
                    {
                        "id": new_id("ppcall"),
                        "provider_id": self.id,
                        "operation": operation,
                        "idempotency_key": idempotency_key,
                        "amount": amount,
                        "result": result,
                        "data": data or None,
                        "created_at": datetime.now(UTC),
                    }
                ],
            )
        return ProviderResult(result, data)


class SystemProvider(PaymentProvider):
    """``pp_system_default``: authorizes at once; capture and refund are bookkeeping."""

    id = PP_SYSTEM_DEFAULT


class TestProvider(PaymentProvider):
    """``pp_test``: the session's ``data.outcome`` decides the authorization."""

    id = PP_TEST
    OUTCOMES = {
        "authorize": "authorized",
        "decline": "declined",
        "requires_more": "requires_more",
        "capture": "captured",
    }

    def _decide(self, operation: str, data: dict[str, Any]) -> str:
        if operation == "authorize":
            return self.OUTCOMES[data.get("outcome", "authorize")]
        return super()._decide(operation, data)

    async def _call(
        self, operation: str, amount: int | None, data: dict[str, Any], idempotency_key: str
    ) -> ProviderResult:
        # MERCATO_TEST_PROVIDER_DELAY_MS: a real processor answers every call, a replayed key
        # included, after a network round trip; waiting here shows what the caller holds meanwhile.
        delay_ms = get_settings().test_provider_delay_ms
        if delay_ms:
            await asyncio.sleep(delay_ms / 1000)
        return await super()._call(operation, amount, data, idempotency_key)


PROVIDERS: dict[str, Callable[[async_sessionmaker[AsyncSession]], PaymentProvider]] = {
    SystemProvider.id: SystemProvider,
    TestProvider.id: TestProvider,
}


def available_provider_ids() -> list[str]:
    ids = [SystemProvider.id]
    if get_settings().enable_test_provider:
        ids.append(TestProvider.id)
    return ids


def check_session_data(provider_id: str, data: dict[str, Any] | None) -> None:
    """Reject a session the provider could not act on (400 before anything is stored)."""
    if provider_id not in available_provider_ids():
        raise invalid(f"Payment provider {provider_id} is not available")
    if provider_id == TestProvider.id:
        outcome = (data or {}).get("outcome", "authorize")
        if outcome not in TestProvider.OUTCOMES:
            raise invalid(
                "Invalid request: data.outcome: must be one of "
                + ", ".join(sorted(TestProvider.OUTCOMES))
            )


def get_provider(
    provider_id: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> PaymentProvider:
    if provider_id not in available_provider_ids():
        raise invalid(f"Payment provider {provider_id} is not available")
    return PROVIDERS[provider_id](sessionmaker)
