"""Store payment collection request bodies: strict, unknown keys rejected."""

from typing import Any

from mercato.http.schemas import Body


class CreatePaymentCollection(Body):
    cart_id: str


class CreatePaymentSession(Body):
    provider_id: str
    data: dict[str, Any] | None = None
