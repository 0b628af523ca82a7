from __future__ import annotations

from typing import Any

from sqlalchemy import Index, text
from sqlalchemy.orm import Mapped

from mercato.db.base import Base, SoftDelete, Timestamps, id_column, metadata_column


class User(Timestamps, SoftDelete, Base):
    """An operator of the marketplace (the ``/admin`` audience)."""

    __tablename__ = "user"
    __table_args__ = (
        Index("uq_user_email", "email", unique=True, postgresql_where=text("deleted_at IS NULL")),
    )
    id: Mapped[str] = id_column("user")
    email: Mapped[str]
    first_name: Mapped[str | None]
    last_name: Mapped[str | None]
    metadata_: Mapped[dict[str, Any] | None] = metadata_column()
