"""Credentials: email + password identities per actor type, login and customer registration."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.auth.models import AuthIdentity
from mercato.auth.passwords import hash_password, verify_password
from mercato.auth.tokens import TokenClaims, issue_token
from mercato.errors import duplicate, invalid, unauthorized
from mercato.unit_of_work import UnitOfWork

INVALID_LOGIN = "Invalid email or password"
MIN_PASSWORD_LENGTH = 8


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if "@" not in email or email.startswith("@") or email.endswith("@"):
        raise invalid(f"Invalid request: email: {email!r} is not a valid email address")
    return email


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise invalid("Invalid request: password: must be at least 8 characters")
    return password


async def hash_new_password(password: str) -> str | None:
    """The hash of an acceptable password, computed before a command opens its unit of work so
    the slow hashing holds no connection; None for a password :func:`check_password` refuses
    (the command then raises that error in its usual place, after its other checks)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return None
    return await hash_password(password)


async def add_identity(
    session: AsyncSession,
    *,
    actor_type: str,
    email: str,
    password: str,
    actor_id: str | None,
    password_hash: str | None = None,
) -> AuthIdentity:
    """Stage a new identity; a second identity for the same actor type and email is refused.

    ``password_hash`` is :func:`hash_new_password`'s, taken before the transaction; without it
    the password is hashed here."""
    check_password(password)
    if password_hash is None:
        password_hash = await hash_password(password)
    exists = await session.scalar(
        select(AuthIdentity.id).where(
            AuthIdentity.actor_type == actor_type, AuthIdentity.email == email
        )
    )
    if exists:
        raise duplicate(f"Identity with email {email} already exists")
    identity = AuthIdentity(
        actor_type=actor_type,
        email=email,
        password_hash=password_hash,
        actor_id=actor_id,
    )
    session.add(identity)
    return identity


async def flush_unique(session: AsyncSession, message: str) -> None:
    """Flush; a unique violation raced past the checks (two requests choosing one handle at
    once) is the same 422 as the check's (the unit of work rolls back as the error leaves it)."""
    try:
        await session.flush()
    except IntegrityError:
        raise duplicate(message) from None


async def commit_unique(uow: UnitOfWork, message: str) -> None:
    """Commit the unit of work; a unique violation raced past the checks becomes the same 422."""
    try:
        await uow.commit()
    except IntegrityError:
        raise duplicate(message) from None


async def login(session: AsyncSession, *, actor_type: str, email: str, password: str) -> str:
    identity = (
        await session.execute(
            select(AuthIdentity.id, AuthIdentity.actor_id, AuthIdentity.password_hash).where(
                AuthIdentity.actor_type == actor_type, AuthIdentity.email == email.strip().lower()
            )
        )
    ).first()
    # Give the connection back before the (slow, threaded) verification: a burst of logins must
    # not hold the pool's connections while they wait for a hashing slot.
    await session.rollback()
    if not await verify_password(password, identity.password_hash if identity else None):
        raise unauthorized(INVALID_LOGIN)
    assert identity is not None
    if actor_type != "customer" and not identity.actor_id:
        raise unauthorized(INVALID_LOGIN)
    return issue_token(TokenClaims(actor_type, identity.actor_id or "", identity.id))


async def register_customer_identity(uow: UnitOfWork, *, email: str, password: str) -> str:
    """Step one of Medusa's flow: an identity without a customer, and a registration token."""
    email = normalise_email(email)
    password_hash = await hash_new_password(password)
    async with uow:
        identity = await add_identity(
            uow.session,
            actor_type="customer",
            email=email,
            password=password,
            password_hash=password_hash,
            actor_id=None,
        )
        await commit_unique(uow, f"Identity with email {email} already exists")
    return issue_token(TokenClaims("customer", "", identity.id))
