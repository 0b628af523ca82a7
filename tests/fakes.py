"""In-memory stand-ins for the ports the workflows call (no database, no network)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from mercato.payments.providers import ProviderResult

OK = {"authorize": "authorized", "capture": "captured", "refund": "refunded", "cancel": "canceled"}


@dataclass
class FakeProvider:
    """A payment provider that journals its calls in memory.

    ``outcomes[operation]`` overrides the answer (e.g. ``{"authorize": "declined"}``);
    ``fail[operation]`` raises instead (a network error: the caller does not know what
    happened); ``delay`` seconds are awaited before answering, and ``entered`` is set when a
    call has started (a test can act while the provider is "working"). A repeated idempotency
    key answers as the first call did."""

    id: str = "pp_test"
    outcomes: dict[str, str] = field(default_factory=dict)
    fail: dict[str, Exception] = field(default_factory=dict)
    delay: float = 0.0
    calls: list[tuple[str, int | None, str]] = field(default_factory=list)
    journal: dict[tuple[str, str], ProviderResult] = field(default_factory=dict)
    entered: asyncio.Event = field(default_factory=asyncio.Event)

    async def _call(self, operation: str, amount: int | None, key: str) -> ProviderResult:
        self.entered.set()
        if self.delay:
            await asyncio.sleep(self.delay)
        if operation in self.fail:
            raise self.fail[operation]
        previous = self.journal.get((operation, key))
        if previous is not None:
            return previous
        self.calls.append((operation, amount, key))
        result = ProviderResult(self.outcomes.get(operation, OK[operation]), {})
        self.journal[(operation, key)] = result
        return result

    def made(self, operation: str) -> list[tuple[str, int | None, str]]:
        """The distinct calls of ``operation`` that reached the provider."""
        return [call for call in self.calls if call[0] == operation]

    async def authorize(
        self, *, amount: int, currency_code: str, data: dict[str, Any] | None, idempotency_key: str
    ) -> ProviderResult:
        return await self._call("authorize", amount, idempotency_key)

    async def capture(self, *, amount: int, idempotency_key: str) -> ProviderResult:
        return await self._call("capture", amount, idempotency_key)

    async def refund(self, *, amount: int, idempotency_key: str) -> ProviderResult:
        return await self._call("refund", amount, idempotency_key)

    async def cancel(self, *, amount: int | None, idempotency_key: str) -> ProviderResult:
        return await self._call("cancel", amount, idempotency_key)
