"""Seller commands: a seller comes with its stock location; members get seller credentials."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.auth.service import (
    add_identity,
    commit_unique,
    flush_unique,
    hash_new_password,
    normalise_email,
)
from mercato.db.handles import free_handle
from mercato.errors import duplicate, invalid
from mercato.http.text import INVALID_HANDLE, is_handle, kebab
from mercato.query.listing import get_or_404
from mercato.sellers.models import Seller, SellerMember, StockLocation
from mercato.unit_of_work import UnitOfWork


def _check_handle(handle: str) -> str:
    if not is_handle(handle):
        raise invalid(INVALID_HANDLE)
    return handle


async def _ensure_handle_free(
    session: AsyncSession, handle: str, *, except_id: str | None = None
) -> None:
    query = select(Seller.id).where(Seller.handle == handle, Seller.deleted_at.is_(None))
    if except_id:
        query = query.where(Seller.id != except_id)
    if await session.scalar(query):
        raise duplicate(f"Seller with handle {handle} already exists")


async def create_seller(
    uow: UnitOfWork,
    *,
    name: str,
    handle: str | None = None,
    metadata: dict[str, Any] | None = None,
    **fields: Any,
) -> Seller:
    """A seller with its stock location."""
    if not name.strip():
        raise invalid("Invalid request: name: must not be empty")
    async with uow:
        session = uow.session
        if handle is None:  # derived: a taken one gets a suffix
            handle = await free_handle(session, Seller, kebab(name, fallback="seller"))
        else:  # chosen: a taken one is a 422
            await _ensure_handle_free(session, _check_handle(handle))
        seller = Seller(name=name, handle=handle, metadata_=metadata, **fields)
        session.add(seller)
        await flush_unique(session, f"Seller with handle {handle} already exists")
        session.add(StockLocation(name=f"{name} warehouse", seller_id=seller.id))
        await commit_unique(uow, f"Seller with handle {handle} already exists")
    return seller


async def update_seller(uow: UnitOfWork, *, seller_id: str, changes: dict[str, Any]) -> Seller:
    async with uow:
        session = uow.session
        seller = await get_or_404(session, Seller, "Seller", seller_id)
        if changes.get("handle") is not None:
            await _ensure_handle_free(
                session, _check_handle(changes["handle"]), except_id=seller.id
            )
        for name, value in changes.items():
            if name in ("name", "handle", "status") and value is None:
                raise invalid(f"Invalid request: {name}: must not be null")
            setattr(seller, "metadata_" if name == "metadata" else name, value)
        await commit_unique(uow, f"Seller with handle {seller.handle} already exists")
    return seller


async def delete_seller(uow: UnitOfWork, *, seller_id: str) -> None:
    async with uow:
        seller = await get_or_404(uow.session, Seller, "Seller", seller_id)
        seller.deleted_at = datetime.now(UTC)
        await uow.commit()


async def add_member(
    uow: UnitOfWork, *, seller_id: str, email: str, password: str, name: str | None = None
) -> SellerMember:
    """A staff member of the seller, with the login ``/auth/seller/emailpass`` checks."""
    password_hash = await hash_new_password(password)
    async with uow:
        session = uow.session
        seller = await get_or_404(session, Seller, "Seller", seller_id)
        email = normalise_email(email)
        exists = await session.scalar(
            select(SellerMember.id).where(
                SellerMember.email == email, SellerMember.deleted_at.is_(None)
            )
        )
        if exists:
            raise duplicate(f"Member with email {email} already exists")
        member = SellerMember(seller_id=seller.id, email=email, name=name)
        session.add(member)
        await session.flush()
        await add_identity(
            session,
            actor_type="seller",
            email=email,
            password=password,
            password_hash=password_hash,
            actor_id=member.id,
        )
        await commit_unique(uow, f"Member with email {email} already exists")
    return member
