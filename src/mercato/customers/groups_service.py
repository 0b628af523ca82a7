"""Customer group commands, each one unit of work: the named sets of customers that promotion
rules target with ``customer.groups.id`` (promotions.md, "Customer groups").

No events: ``customer_group.*`` is not in the event catalogue (events-and-scale-out.md), and a
name outside it cannot be emitted."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import String, any_, bindparam, delete, func, literal, select
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.auth.service import commit_unique
from mercato.customers.models import Customer, CustomerGroup, CustomerGroupCustomer
from mercato.errors import duplicate, invalid, not_found
from mercato.unit_of_work import UnitOfWork

ENTITY = "Customer group"


def _taken(name: str) -> str:
    return f"{ENTITY} with name {name} already exists"


def _ids(name: str, ids: list[str]) -> Any:
    """``ids`` as one array parameter: a body of thousands of ids stays one bind value."""
    return bindparam(name, ids, type_=ARRAY(String()))


async def _locked_group(session: AsyncSession, group_id: str) -> CustomerGroup:
    """The live group, its row locked: a membership change and a delete of the same group
    take turns, so no member is added to a group a concurrent delete has just emptied."""
    group = await session.scalar(
        select(CustomerGroup)
        .where(CustomerGroup.id == group_id, CustomerGroup.deleted_at.is_(None))
        .with_for_update()
    )
    if group is None:
        raise not_found(ENTITY, group_id)
    return group


async def _ensure_name_free(
    session: AsyncSession, name: str, *, except_id: str | None = None
) -> None:
    query = select(CustomerGroup.id).where(
        CustomerGroup.name == name, CustomerGroup.deleted_at.is_(None)
    )
    if except_id is not None:
        query = query.where(CustomerGroup.id != except_id)
    if await session.scalar(query.limit(1)):
        raise duplicate(_taken(name))


async def create_customer_group(
    uow: UnitOfWork, *, name: str, metadata: dict[str, Any] | None
) -> CustomerGroup:
    """Names are unique among live groups (422; a deleted group's name is free again)."""
    async with uow:
        await _ensure_name_free(uow.session, name)
        group = CustomerGroup(name=name, metadata_=metadata)
        uow.session.add(group)
        await commit_unique(uow, _taken(name))
    return group


async def update_customer_group(
    uow: UnitOfWork, *, group_id: str, changes: dict[str, Any]
) -> CustomerGroup:
    async with uow:
        session = uow.session
        group = await _locked_group(session, group_id)
        if "name" in changes:
            name = changes["name"]
            if name is None:
                raise invalid("Invalid request: name: must not be null")
            if name != group.name:
                await _ensure_name_free(session, name, except_id=group.id)
            group.name = name
        if "metadata" in changes:
            group.metadata_ = changes["metadata"]
        await commit_unique(uow, _taken(group.name))
    return group


async def delete_customer_group(uow: UnitOfWork, *, group_id: str) -> None:
    """Soft delete; its memberships go (a deleted group has no members to show or match)."""
    async with uow:
        session = uow.session
        group = await _locked_group(session, group_id)
        group.deleted_at = datetime.now(UTC)
        await session.execute(
            delete(CustomerGroupCustomer).where(CustomerGroupCustomer.customer_group_id == group.id)
        )
        await uow.commit()


async def _require_customers(session: AsyncSession, ids: list[str]) -> None:
    """Every id names a live customer, or 400 naming those that do not (one statement)."""
    if not ids:
        return
    found = set(
        await session.scalars(
            select(Customer.id).where(
                Customer.id == any_(_ids("customer_ids", ids)), Customer.deleted_at.is_(None)
            )
        )
    )
    missing = [i for i in ids if i not in found]
    if missing:
        raise invalid(f"Customer with id {', '.join(missing)} was not found")


async def manage_customers(
    uow: UnitOfWork, *, group_id: str, add: list[str], remove: list[str]
) -> CustomerGroup:
    """Add and remove members, all or nothing: any unknown (or deleted) customer id refuses the
    whole request. Adding a member again or removing a non-member changes nothing. An id in
    both lists is refused (400): which of the two the client meant is anyone's guess."""
    add = list(dict.fromkeys(add))
    remove = list(dict.fromkeys(remove))
    removing = set(remove)
    both = [i for i in add if i in removing]
    if both:
        raise invalid(f"Customer with id {', '.join(both)} cannot be both added and removed")
    async with uow:
        session = uow.session
        group = await _locked_group(session, group_id)
        await _require_customers(session, [*add, *remove])
        if remove:
            await session.execute(
                delete(CustomerGroupCustomer).where(
                    CustomerGroupCustomer.customer_group_id == group.id,
                    CustomerGroupCustomer.customer_id == any_(_ids("remove_ids", remove)),
                )
            )
        if add:
            members = select(literal(group.id, String()), func.unnest(_ids("add_ids", add)))
            await session.execute(
                insert(CustomerGroupCustomer)
                .from_select(["customer_group_id", "customer_id"], members)
                .on_conflict_do_nothing()
            )
        await uow.commit()
    return group
