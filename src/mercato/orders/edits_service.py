"""Order-edit commands (order-changes.md §9, §11): load the order's group locked, read what the
rule needs (variants, the region's tax, a shipping option), apply one rule of
:mod:`mercato.domain.edits`, save, commit (events through the outbox). A cancel whose edit has
an authorized collection voids it at the provider first: that is a money workflow
(:func:`mercato.orders.payment_workflows.cancel_edit`); while it runs, the order's edit commands
answer 409.

Each command returns what its route renders: the order and its preview with the active change
applied (the order itself once nothing is pending), and the change it worked on."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.domain import returns as flows
from mercato.domain.exchanges import Tax, VariantQuote
from mercato.domain.order_changes import OrderChange, active_change
from mercato.domain.order_group import Order, OrderGroup
from mercato.errors import MercatoError
from mercato.orders.exchanges_service import Before, tax_of, variant_quotes
from mercato.orders.payment_workflows import EDIT_CANCEL, refuse_while_canceling
from mercato.orders.repository import OrderGroupRepository
from mercato.unit_of_work import UnitOfWork

Rule = Callable[[OrderGroup, flows.Actor], OrderChange]


@dataclass(frozen=True)
class Outcome:
    """The order, its preview (the order itself once nothing is pending) and the change."""

    order_id: str
    preview: Order | None
    change_id: str


async def run(
    uow: UnitOfWork,
    rule: Rule,
    *,
    order_id: str,
    actor_id: str | None,
    seller_id: str | None,
    before: Before | None = None,
) -> Outcome:
    """One command on the order's edit (404 outside ``seller_id``'s orders)."""
    async with uow:
        groups = OrderGroupRepository(uow.session)
        group = await groups.for_order(order_id, seller_id=seller_id)
        refuse_while_canceling(groups, group.id, order_id, names=(EDIT_CANCEL,))
        actor = flows.Actor(actor_id, uow.now(), uow.ids)
        if before is not None:
            await before(uow.session, group, group.order(order_id))
        change = rule(group, actor)
        await groups.save(group)
        uow.track(group)
        await uow.commit()
        order = group.order(order_id)
        active = active_change(order)
        preview = flows.preview_order(group, order, actor) if active is not None else order
        return Outcome(order_id, preview, change.id)


# --------------------------------------------------------------------------- what rules read


def line_variant_loaded(
    quotes: dict[str, VariantQuote],
    taxes: list[Tax],
    *,
    line_id: str | None = None,
    action_id: str | None = None,
) -> Before:
    """The region's tax, and the variant of order line ``line_id`` (or of the active change's
    item action ``action_id``) as the rule needs it. A line whose variant was deleted since has
    no stock rules any more; a new line's variant must still exist (404)."""

    async def load(session: AsyncSession, group: OrderGroup, order: Order) -> None:
        taxes.append(await tax_of(session, order))
        variant_id, line = _variant_of(order, line_id, action_id)
        if variant_id is None:
            return
        try:
            quotes.update(await variant_quotes(session, [variant_id], order))
        except MercatoError as error:
            if not line or error.type != "not_found":
                raise

    return load


def _variant_of(
    order: Order, line_id: str | None, action_id: str | None
) -> tuple[str | None, bool]:
    """(the variant, whether it is an existing line's)."""
    if action_id is not None:
        change = active_change(order)
        action = next((a for a in (change.actions if change else []) if a.id == action_id), None)
        if action is None:
            return None, False
        return action.details.get("variant_id"), action.action == "ITEM_UPDATE"
    line = next((x for x in order.lines if x.id == line_id), None)
    return (line.variant_id if line else None), True
