from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Numeric, String
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from mercato.db.base import Base, SoftDelete, Timestamps, id_column, metadata_column


class Region(Timestamps, SoftDelete, Base):
    __tablename__ = "region"
    id: Mapped[str] = id_column("reg")
    name: Mapped[str]
    currency_code: Mapped[str] = mapped_column(String(3))
    countries: Mapped[list[str]] = mapped_column(ARRAY(String(2)), default=list)
    tax_rate: Mapped[Decimal] = mapped_column(Numeric(9, 4), default=Decimal(0))
    tax_inclusive: Mapped[bool] = mapped_column(default=False)
    payment_providers: Mapped[list[str]] = mapped_column(ARRAY(String), default=list)
    metadata_: Mapped[dict[str, Any] | None] = metadata_column()
