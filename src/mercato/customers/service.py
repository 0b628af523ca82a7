"""Customer use cases: registration (step two of Medusa's flow), updates, guests."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.auth.models import AuthIdentity
from mercato.auth.service import commit_unique, normalise_email
from mercato.auth.tokens import TokenClaims
from mercato.customers.models import Customer
from mercato.errors import invalid, unauthorized


async def register_customer(
    session: AsyncSession, *, claims: TokenClaims, email: str, **profile: Any
) -> Customer:
    """Create the customer for a registration token's identity (once)."""
    if claims.actor_type != "customer":
        raise unauthorized()
    if claims.actor_id:
        raise invalid("Request already authenticated as a customer.")
    identity = await session.get(AuthIdentity, claims.auth_identity_id, with_for_update=True)
    if identity is None:
        raise unauthorized()
    if identity.actor_id:
        raise invalid("Request already authenticated as a customer.")
    email = normalise_email(email)
    if email != identity.email:
        raise invalid("Invalid request: email: must match the registered identity's email")
    existing = await session.scalar(
        select(Customer).where(
            Customer.email == email, Customer.has_account, Customer.deleted_at.is_(None)
        )
    )
    if existing is not None:
        raise invalid(f"A customer with the email {email} already has an account")
    metadata = profile.pop("metadata", None)
    customer = Customer(email=email, has_account=True, metadata_=metadata, **profile)
    session.add(customer)
    await session.flush()
    identity.actor_id = customer.id
    await commit_unique(session, f"A customer with the email {email} already has an account")
    return customer


async def update_customer(
    session: AsyncSession, *, customer: Customer, changes: dict[str, Any]
) -> Customer:
    for name, value in changes.items():
        setattr(customer, "metadata_" if name == "metadata" else name, value)
    await session.commit()
    return customer
