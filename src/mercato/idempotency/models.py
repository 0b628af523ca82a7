"""One row per ``Idempotency-Key`` used by an actor on a route: the claim, then the response."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, LargeBinary
from sqlalchemy.orm import Mapped, mapped_column

from mercato.db.base import Base


class IdempotencyRecord(Base):
    """While ``claim`` is set the first request still runs (until ``locked_until``: a crashed
    request's claim can then be taken over); once finished it holds the response to replay.

    ``id`` is the SHA-256 of the scope (actor, method, path, key), so the primary key stays
    small whatever the path; ``expires_at`` (24 h) bounds its life."""

    __tablename__ = "idempotency_key"
    id: Mapped[str] = mapped_column(primary_key=True)
    actor: Mapped[str]
    method: Mapped[str]
    path: Mapped[str]
    key: Mapped[str]
    fingerprint: Mapped[str]  # SHA-256 of the canonical request body
    claim: Mapped[str | None]
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    response_status: Mapped[int | None]
    response_content_type: Mapped[str | None]
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
