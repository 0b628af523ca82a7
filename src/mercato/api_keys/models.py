from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from mercato.db.base import Base, SoftDelete, Timestamps, id_column


class ApiKey(Timestamps, SoftDelete, Base):
    """Publishable (``pk_``) or secret (``sk_``) key; only a SHA-256 digest identifies it.

    Publishable tokens are public by nature and kept in ``token``; a secret token is shown once at
    creation and never stored, so a database leak reveals no usable secret key.
    """

    __tablename__ = "api_key"
    id: Mapped[str] = id_column("apk")
    title: Mapped[str]
    type: Mapped[str]  # publishable | secret
    token_digest: Mapped[str] = mapped_column(unique=True)
    token: Mapped[str | None]
    redacted: Mapped[str]
    created_by: Mapped[str | None]
    revoked_by: Mapped[str | None]
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ApiKeySalesChannel(Base):
    __tablename__ = "api_key_sales_channel"
    api_key_id: Mapped[str] = mapped_column(ForeignKey("api_key.id"), primary_key=True)
    sales_channel_id: Mapped[str] = mapped_column(
        ForeignKey("sales_channel.id"), primary_key=True, index=True
    )
