"""Request bodies. ``url``, ``events`` and ``secret`` are checked by the service, so every
refusal carries the spec's message (a length or a type the schema refused would not)."""

from __future__ import annotations

from typing import Any

from mercato.http.schemas import Body, LongText, Metadata


class CreateWebhook(Body):
    url: Any = None
    events: Any = None
    description: LongText | None = None
    secret: Any = None
    is_active: bool | None = None
    metadata: Metadata | None = None


class UpdateWebhook(Body):
    url: Any = None
    events: Any = None
    description: LongText | None = None
    is_active: bool | None = None
    metadata: Metadata | None = None


class Replay(Body):
    since: Any = None
    until: Any = None
