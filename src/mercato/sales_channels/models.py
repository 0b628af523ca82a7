from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Mapped, mapped_column

from mercato.db.base import Base, SoftDelete, Timestamps, id_column, metadata_column


class SalesChannel(Timestamps, SoftDelete, Base):
    __tablename__ = "sales_channel"
    id: Mapped[str] = id_column("sc")
    name: Mapped[str]
    description: Mapped[str | None]
    is_disabled: Mapped[bool] = mapped_column(default=False)
    metadata_: Mapped[dict[str, Any] | None] = metadata_column()
