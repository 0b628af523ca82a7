"""Admin user use cases."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.api_keys.service import revoke_secret_keys_of
from mercato.auth.models import AuthIdentity
from mercato.auth.service import add_identity, commit_unique, normalise_email
from mercato.errors import duplicate
from mercato.users.models import User


async def create_user(
    session: AsyncSession,
    *,
    email: str,
    password: str,
    first_name: str | None = None,
    last_name: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> User:
    email = normalise_email(email)
    taken = await session.scalar(
        select(User.id).where(User.email == email, User.deleted_at.is_(None))
    )
    if taken:
        raise duplicate(f"User with email {email} already exists")
    user = User(email=email, first_name=first_name, last_name=last_name, metadata_=metadata)
    session.add(user)
    await session.flush()
    await add_identity(session, actor_type="user", email=email, password=password, actor_id=user.id)
    await commit_unique(session, f"User with email {email} already exists")
    return user


async def update_user(session: AsyncSession, *, user: User, changes: dict[str, Any]) -> User:
    for name, value in changes.items():
        setattr(user, "metadata_" if name == "metadata" else name, value)
    await session.commit()
    return user


async def delete_user(session: AsyncSession, *, user: User, deleted_by: str | None) -> None:
    """Soft-delete the user, drop its login and revoke its secret keys, in one transaction."""
    user.deleted_at = datetime.now(UTC)
    await session.execute(delete(AuthIdentity).where(AuthIdentity.actor_id == user.id))
    await revoke_secret_keys_of(session, user_id=user.id, revoked_by=deleted_by)
    await session.commit()
