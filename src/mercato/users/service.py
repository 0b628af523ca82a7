"""Admin user commands, each one unit of work."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select

from mercato.api_keys.service import revoke_secret_keys_of
from mercato.auth.models import AuthIdentity
from mercato.auth.service import add_identity, commit_unique, hash_new_password, normalise_email
from mercato.errors import duplicate
from mercato.query.listing import get_or_404
from mercato.unit_of_work import UnitOfWork
from mercato.users.models import User


async def create_user(
    uow: UnitOfWork,
    *,
    email: str,
    password: str,
    first_name: str | None = None,
    last_name: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> User:
    email = normalise_email(email)
    password_hash = await hash_new_password(password)
    async with uow:
        session = uow.session
        taken = await session.scalar(
            select(User.id).where(User.email == email, User.deleted_at.is_(None))
        )
        if taken:
            raise duplicate(f"User with email {email} already exists")
        user = User(email=email, first_name=first_name, last_name=last_name, metadata_=metadata)
        session.add(user)
        await session.flush()
        await add_identity(
            session,
            actor_type="user",
            email=email,
            password=password,
            password_hash=password_hash,
            actor_id=user.id,
        )
        await commit_unique(uow, f"User with email {email} already exists")
    return user


async def update_user(uow: UnitOfWork, *, user_id: str, changes: dict[str, Any]) -> User:
    async with uow:
        user = await get_or_404(uow.session, User, "User", user_id)
        for name, value in changes.items():
            setattr(user, "metadata_" if name == "metadata" else name, value)
        await uow.commit()
    return user


async def delete_user(uow: UnitOfWork, *, user_id: str, deleted_by: str | None) -> None:
    """Soft-delete the user, drop its login and revoke its secret keys, in one transaction."""
    async with uow:
        user = await get_or_404(uow.session, User, "User", user_id)
        user.deleted_at = datetime.now(UTC)
        await uow.session.execute(delete(AuthIdentity).where(AuthIdentity.actor_id == user.id))
        await revoke_secret_keys_of(uow.session, user_id=user.id, revoked_by=deleted_by)
        await uow.commit()
