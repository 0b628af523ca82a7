"""The error model every layer raises; the HTTP layer turns it into ``{type, message, code?}``."""

from __future__ import annotations

STATUS_BY_TYPE = {
    "invalid_data": 400,
    "not_allowed": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "payload_too_large": 413,
    "duplicate_error": 422,
    "payment_authorization_error": 422,
    "payment_requires_more_error": 422,
}


class MercatoError(Exception):
    def __init__(self, type: str, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.type = type
        self.message = message
        self.code = code

    @property
    def status_code(self) -> int:
        return STATUS_BY_TYPE.get(self.type, 500)

    def body(self) -> dict[str, str]:
        body = {"type": self.type, "message": self.message}
        if self.code:
            body["code"] = self.code
        return body


def invalid(message: str, *, code: str | None = None) -> MercatoError:
    return MercatoError("invalid_data", message, code=code)


def not_allowed(message: str, *, code: str | None = None) -> MercatoError:
    return MercatoError("not_allowed", message, code=code)


def not_found(entity: str, entity_id: str) -> MercatoError:
    return MercatoError("not_found", f"{entity} with id {entity_id} was not found")


def unauthorized(message: str = "Unauthorized") -> MercatoError:
    return MercatoError("unauthorized", message)


def duplicate(message: str) -> MercatoError:
    return MercatoError("duplicate_error", message)
