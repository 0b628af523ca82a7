"""Customer commands: registration (step two of Medusa's flow), updates, guests."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from mercato.auth.models import AuthIdentity
from mercato.auth.service import commit_unique, normalise_email
from mercato.auth.tokens import TokenClaims
from mercato.customers.models import Customer
from mercato.errors import invalid, unauthorized
from mercato.query.listing import get_or_404
from mercato.unit_of_work import UnitOfWork


async def register_customer(
    uow: UnitOfWork, *, claims: TokenClaims, email: str, **profile: Any
) -> Customer:
    """Create the customer for a registration token's identity (once)."""
    if claims.actor_type != "customer":
        raise unauthorized()
    if claims.actor_id:
        raise invalid("Request already authenticated as a customer.")
    async with uow:
        customer = await _register(uow, claims=claims, email=email, **profile)
        message = f"A customer with the email {customer.email} already has an account"
        await commit_unique(uow, message)
    return customer


async def _register(
    uow: UnitOfWork, *, claims: TokenClaims, email: str, **profile: Any
) -> Customer:
    session = uow.session
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
    return customer


async def update_customer(
    uow: UnitOfWork, *, customer_id: str, changes: dict[str, Any]
) -> Customer:
    async with uow:
        customer = await get_or_404(uow.session, Customer, "Customer", customer_id)
        for name, value in changes.items():
            setattr(customer, "metadata_" if name == "metadata" else name, value)
        await uow.commit()
    return customer
