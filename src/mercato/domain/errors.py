"""Errors raised by the pure domain core.

The domain never imports the web layer, so it has its own exception. It mirrors the attributes of
:class:`mercato.errors.MercatoError` (``type``, ``message``, ``code``) so the HTTP layer can map it
one-to-one: ``MercatoError(err.type, err.message, code=err.code)`` → HTTP 400.
"""

from __future__ import annotations

INVALID_DATA = "invalid_data"
NOT_ALLOWED = "not_allowed"


class DomainError(Exception):
    """A business rule refused the operation; ``message`` is the exact client-facing text.

    ``type`` is the Medusa error type (``invalid_data`` or ``not_allowed``, both HTTP 400);
    ``code`` is the optional machine code of the error body (e.g. ``insufficient_inventory``).
    """

    def __init__(self, message: str, code: str | None = None, *, type: str = INVALID_DATA) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.type = type

    def __repr__(self) -> str:
        return f"DomainError({self.message!r}, code={self.code!r}, type={self.type!r})"
