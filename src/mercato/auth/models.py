from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from mercato.db.base import Base, id_column


class AuthIdentity(Base):
    """Email + password credentials of one actor type; ``actor_id`` is empty until registered."""

    __tablename__ = "auth_identity"
    __table_args__ = (UniqueConstraint("actor_type", "email", name="uq_auth_identity_actor_email"),)
    id: Mapped[str] = id_column("authid")
    actor_type: Mapped[str]  # user | customer | seller
    email: Mapped[str]
    password_hash: Mapped[str]
    actor_id: Mapped[str | None] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
