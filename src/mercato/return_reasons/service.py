"""Return reason commands, each one unit of work, and the check returns apply to an item's
``reason_id`` (order-changes.md §2.2, §6.2)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from mercato.errors import invalid
from mercato.query.listing import get_or_404
from mercato.return_reasons.models import ReturnReason
from mercato.unit_of_work import UnitOfWork

ENTITY = "Return reason"


async def create_return_reason(
    uow: UnitOfWork,
    *,
    value: str,
    label: str,
    description: str | None,
    parent_return_reason_id: str | None,
    metadata: dict[str, Any] | None,
) -> ReturnReason:
    """A parent must be a live reason (400 naming it otherwise)."""
    async with uow:
        session = uow.session
        if parent_return_reason_id is not None:
            parent = await session.get(ReturnReason, parent_return_reason_id)
            if parent is None or parent.deleted_at is not None:
                raise invalid(f"{ENTITY} with id {parent_return_reason_id} was not found")
        reason = ReturnReason(
            value=value,
            label=label,
            description=description,
            parent_return_reason_id=parent_return_reason_id,
            metadata_=metadata,
        )
        session.add(reason)
        await uow.commit()
    return reason


async def update_return_reason(
    uow: UnitOfWork, *, reason_id: str, changes: dict[str, Any]
) -> ReturnReason:
    async with uow:
        reason = await get_or_404(uow.session, ReturnReason, ENTITY, reason_id)
        for name, value in changes.items():
            if name in ("value", "label") and value is None:
                raise invalid(f"Invalid request: {name}: must not be null")
            setattr(reason, "metadata_" if name == "metadata" else name, value)
        await uow.commit()
    return reason


async def delete_return_reason(uow: UnitOfWork, *, reason_id: str) -> None:
    """Soft delete, as Medusa: return items keep pointing at it and its children stay, still
    applicable; a parent whose last live child is deleted becomes applicable itself."""
    async with uow:
        reason = await get_or_404(uow.session, ReturnReason, ENTITY, reason_id)
        reason.deleted_at = datetime.now(UTC)
        await uow.commit()


async def check_reasons(
    session: AsyncSession, reason_ids: Iterable[str | None], *, order_id: str
) -> None:
    """Refuse reasons an item of a return on ``order_id`` cannot carry (Medusa's texts, 400
    ``invalid_data``): unknown or deleted ones (``Return reason with id <ids> does not
    exists.``), then those with live children (``Cannot apply return reason with id <ids> to
    order with id <oid>. Return reason has nested reasons.``). ``None`` entries (items without
    a reason) are skipped; one statement."""
    wanted = list(dict.fromkeys(i for i in reason_ids if i is not None))
    if not wanted:
        return
    child = aliased(ReturnReason)
    has_children = (
        select(child.id)
        .where(child.parent_return_reason_id == ReturnReason.id, child.deleted_at.is_(None))
        .exists()
    )
    rows = (
        await session.execute(
            select(ReturnReason.id, has_children).where(
                ReturnReason.id.in_(wanted), ReturnReason.deleted_at.is_(None)
            )
        )
    ).all()
    found = {reason_id: nested for reason_id, nested in rows}
    missing = [i for i in wanted if i not in found]
    if missing:
        raise invalid(f"{ENTITY} with id {', '.join(missing)} does not exists.")
    nested = [i for i in wanted if found[i]]
    if nested:
        raise invalid(
            f"Cannot apply return reason with id {', '.join(nested)} to order with id "
            f"{order_id}. Return reason has nested reasons."
        )
