"""Declarative base, id generation and the column helpers every table shares."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, MetaData, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from ulid import ULID

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSONB(none_as_null=True)}


def new_id(prefix: str) -> str:
    """``<prefix>_<ULID>``: sortable by creation time, unguessable enough for URLs."""
    return f"{prefix}_{ULID()}"


def id_column(prefix: str) -> Mapped[str]:
    return mapped_column(primary_key=True, default=lambda: new_id(prefix))


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Timestamps:
    # ``updated_at`` is set client-side on update: a SQL ``now()`` there would leave the attribute
    # expired after the flush, and rendering it would then need a lazy load (impossible in async).
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), default=func.now(), onupdate=_utcnow
    )


class SoftDelete:
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


def metadata_column() -> Mapped[dict[str, Any] | None]:
    return mapped_column("metadata", JSONB(none_as_null=True), default=None)


def one_of(column: str, vocabulary: Iterable[str]) -> CheckConstraint:
    """``CHECK (column IN (...))``: the database holds a status column to its vocabulary, the
    Python one (defined once, e.g. ``domain.statuses``). Named ``ck_<table>_<column>``; a
    migration that creates it spells the values out (``tests/api/test_migrations.py`` checks the
    database admits exactly the vocabulary)."""
    values = tuple(vocabulary)
    listed = ", ".join(f"'{value}'" for value in values)
    return CheckConstraint(
        f"{column} IN ({listed})", name=column, info={"column": column, "vocabulary": values}
    )
