"""Standard Webhooks 1.0 signatures: ``v1,`` + base64(HMAC-SHA256(secret, ``id.ts.body``)).

The maintained ``standardwebhooks`` package computes each one, so a receiver using any of that
specification's libraries verifies what we send."""

from __future__ import annotations

from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook


def sign(secrets: list[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header: one ``v1,…`` per secret, space-separated (two during a
    rotation, the current one first)."""
    at = datetime.fromtimestamp(timestamp, UTC)
    return " ".join(Webhook(secret).sign(msg_id, at, body) for secret in secrets)


def verify(secret: str, body: bytes, headers: dict[str, str]) -> None:
    """Raise ``standardwebhooks.webhooks.WebhookVerificationError`` unless one of the header's
    signatures is ``secret``'s and its timestamp within 5 minutes (what a receiver does)."""
    Webhook(secret).verify(body, headers, json_parse=False)
