"""Draft order edit commands (order-changes.md §12), each one unit of work.

Every command starts with ``SELECT … FOR UPDATE`` on the draft (404 unknown, 400 converted),
loads its lines, methods and active edit, runs one rule of :mod:`mercato.domain.draft_edits`,
writes the edit and commits. Lines to add are checked as draft creation checks them
(:func:`service.new_items`: published, in the draft's sales channel, seller active, a price
unless ``unit_price``; custom lines: title, price and an active seller), shipping options as
there too (:func:`service.new_shipping_methods`); units a step adds of a managed variant must be
in stock (nothing is reserved: a draft holds no stock before conversion) and the draft must stay
within a cart's bound.

Confirming applies the actions to the draft's value, then writes its lines and methods with the
same validators (a line added by the edit is checked again) and :func:`service.reprice`: the
stored draft is exactly the preview. A draft edit moves no money and no stock and raises no
event (§14 names none).

:func:`begin_edit`: the partial unique index ``ux_order_change_draft_active`` is the last line
behind the lock: a begin that loses a race to a change written without the lock gets the §15
400 naming the winner."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.carts.service import SELLABLE, insufficient
from mercato.domain import draft_edits as rules
from mercato.domain import order_changes as chg
from mercato.domain.draft_edits import Draft, DraftItem, DraftMethod, LineEdit
from mercato.domain.money import exact_major, field_minor
from mercato.domain.order_changes import ACTIVE_CHANGE_STATUSES
from mercato.domain.returns import Actor
from mercato.draft_orders import service
from mercato.draft_orders.models import DraftOrder, DraftOrderItem, DraftOrderShippingMethod
from mercato.orders.change_models import OrderChange, OrderChangeAction
from mercato.orders.change_rows import change_entity, save_draft_edit
from mercato.regions.models import Region
from mercato.unit_of_work import UnitOfWork

SNAPSHOT = (
    "product_id",
    "title",
    "subtitle",
    "thumbnail",
    "product_title",
    "product_handle",
    "variant_title",
    "variant_sku",
    "requires_shipping",
)


@dataclass(frozen=True)
class Outcome:
    """What a route renders: the draft, its preview (None once nothing is pending) and the
    change it worked on."""

    draft_id: str
    preview: Draft | None
    change_id: str


@dataclass
class _Context:
    """One command's draft, locked: its rows, its value, its active edit (if any)."""

    session: AsyncSession
    draft: DraftOrder
    region: Region
    items: list[DraftOrderItem]
    methods: list[DraftOrderShippingMethod]
    value: Draft
    change: OrderChange | None
    action_rows: list[OrderChangeAction]
    edit: chg.OrderChange | None
    actor: Actor

    @property
    def active(self) -> chg.OrderChange:
        return rules.active(self.edit)


Rule = Callable[[_Context], Awaitable[None]]


# --------------------------------------------------------------------------- loading


def _value(
    draft: DraftOrder,
    region: Region,
    items: Sequence[DraftOrderItem],
    methods: Sequence[DraftOrderShippingMethod],
) -> Draft:
    return Draft(
        id=draft.id,
        currency_code=draft.currency_code,
        tax_rate=region.tax_rate,
        tax_inclusive=region.tax_inclusive,
        items=[
            DraftItem(
                id=i.id,
                seller_id=i.seller_id,
                variant_id=i.variant_id,
                quantity=i.quantity,
                unit_price=i.unit_price,
                is_tax_inclusive=i.is_tax_inclusive,
                snapshot={**{name: getattr(i, name) for name in SNAPSHOT}, "metadata": i.metadata_},
                created_at=i.created_at,
                updated_at=i.updated_at,
            )
            for i in items
        ],
        methods=[
            DraftMethod(
                id=m.id,
                seller_id=m.seller_id,
                shipping_option_id=m.shipping_option_id,
                name=m.name,
                amount=m.amount,
                is_tax_inclusive=m.is_tax_inclusive,
                data=m.data,
                created_at=m.created_at,
                updated_at=m.updated_at,
            )
            for m in methods
        ],
    )


async def _active_change(
    session: AsyncSession, draft_id: str
) -> tuple[OrderChange | None, list[OrderChangeAction]]:
    change = await session.scalar(
        select(OrderChange).where(
            OrderChange.draft_order_id == draft_id,
            OrderChange.status.in_(ACTIVE_CHANGE_STATUSES),
        )
    )
    if change is None:
        return None, []
    actions = list(
        await session.scalars(
            select(OrderChangeAction)
            .where(OrderChangeAction.order_change_id == change.id)
            .order_by(OrderChangeAction.ordering, OrderChangeAction.id)
        )
    )
    return change, actions


async def _open(uow: UnitOfWork, draft_id: str, actor_id: str | None) -> _Context:
    session = uow.session
    draft = await service.lock_mutable(session, draft_id)
    region = await session.get(Region, draft.region_id)
    assert region is not None, "draft_order.region_id is a foreign key"
    items = await service.items_of(session, draft.id)
    methods = await service.methods_of(session, draft.id)
    change, action_rows = await _active_change(session, draft.id)
    return _Context(
        session=session,
        draft=draft,
        region=region,
        items=items,
        methods=methods,
        value=_value(draft, region, items, methods),
        change=change,
        action_rows=action_rows,
        edit=change_entity(change, action_rows) if change is not None else None,
        actor=Actor(actor_id, uow.now(), uow.ids),
    )


async def _save(ctx: _Context, edit: chg.OrderChange) -> None:
    await save_draft_edit(
        ctx.session, edit, ctx.change, ctx.action_rows, currency_code=ctx.draft.currency_code
    )


# --------------------------------------------------------------------------- checks


async def _check_stock(session: AsyncSession, draft: DraftOrder, units: dict[str, int]) -> None:
    """Each managed, non-backorder variant of ``units`` has that many units available (a
    variant deleted since is left to the conversion, which refuses it)."""
    if not units:
        return
    rows = {
        row.id: row
        for row in await SELLABLE.rows(
            session,
            variant_ids=list(units),
            channel_id=draft.sales_channel_id,
            currency_code=draft.currency_code,
        )
    }
    for variant_id, wanted in units.items():
        row = rows.get(variant_id)
        if row is None or not row.manage_inventory or row.allow_backorder:
            continue
        if wanted > row.available:
            raise insufficient(variant_id, wanted, row.available)


async def _check_step(ctx: _Context, before: Draft, after: Draft) -> None:
    """What a step adds: units in stock, the draft within a cart's bound."""
    if after.amount > before.amount:
        service.check_bound(ctx.draft, after.amount)
    await _check_stock(ctx.session, ctx.draft, rules.increased_units(before, after))


def _major(amount: int | None, currency_code: str) -> Decimal | None:
    return None if amount is None else Decimal(exact_major(amount, currency_code))


# --------------------------------------------------------------------------- running a rule


async def _run(uow: UnitOfWork, draft_id: str, actor_id: str | None, rule: Rule) -> Outcome:
    """One command on the draft's active edit (400 without one): the rule, the checks of what
    it added, the edit written; the preview answered."""
    async with uow:
        ctx = await _open(uow, draft_id, actor_id)
        edit = ctx.active
        before = rules.preview(ctx.value, edit)
        await rule(ctx)
        after = rules.preview(ctx.value, edit)
        await _check_step(ctx, before, after)
        await _save(ctx, edit)
        await uow.commit()
    return Outcome(draft_id, after, edit.id)


async def begin_edit(
    uow: UnitOfWork,
    *,
    draft_id: str,
    actor_id: str | None,
    description: str | None = None,
    internal_note: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> Outcome:
    """A pending ``edit`` of the draft; one active per draft (400 naming it). Its ``version``
    is the draft's (1, plus one per confirmed edit) + 1, as an order's change."""
    async with uow:
        ctx = await _open(uow, draft_id, actor_id)
        session = ctx.session
        if ctx.edit is not None:
            raise rules.active_edit_error(draft_id, ctx.edit.id)
        confirmed = await session.scalar(
            select(func.count()).where(
                OrderChange.draft_order_id == draft_id, OrderChange.status == "confirmed"
            )
        )
        edit = rules.begin(
            draft_id,
            2 + (confirmed or 0),
            ctx.actor,
            description=description,
            internal_note=internal_note,
            metadata=metadata,
        )
        try:
            async with session.begin_nested():
                await _save(ctx, edit)
                await session.flush()
        except IntegrityError:
            winner, _ = await _active_change(session, draft_id)
            if winner is None:
                raise
            raise rules.active_edit_error(draft_id, winner.id) from None
        await uow.commit()
    return Outcome(draft_id, rules.preview(ctx.value, edit), edit.id)


# --------------------------------------------------------------------------- items


async def add_items(
    uow: UnitOfWork, *, draft_id: str, actor_id: str | None, items: Sequence[dict[str, Any]]
) -> Outcome:
    """``ITEM_ADD`` per item (``variant_id``, ``title``, ``seller_id``, ``quantity``,
    ``unit_price`` in major units, ``internal_note``, ``metadata``), checked as draft
    creation checks its items."""

    async def rule(ctx: _Context) -> None:
        lines = await service.new_items(
            ctx.session, ctx.draft, ctx.region, items, now=ctx.actor.now
        )
        new = []
        for item, line in zip(items, lines, strict=True):
            custom = item["unit_price"]
            new.append(
                rules.NewItem(
                    seller_id=line.seller_id,
                    variant_id=line.variant_id,
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                    custom_unit_price=None if custom is None else line.unit_price,
                    snapshot={
                        **{name: getattr(line, name) for name in SNAPSHOT},
                        "metadata": line.metadata_,
                    },
                    internal_note=item.get("internal_note"),
                )
            )
        rules.add_items(ctx.value, ctx.active, new, ctx.actor)

    return await _run(uow, draft_id, actor_id, rule)


def _line_edit(ctx: _Context, values: dict[str, Any]) -> LineEdit:
    price = values.get("unit_price")
    return LineEdit(
        quantity=values.get("quantity"),
        unit_price=(
            None if price is None else field_minor("unit_price", price, ctx.draft.currency_code)
        ),
        internal_note=values.get("internal_note"),
    )


async def update_item(
    uow: UnitOfWork, *, draft_id: str, actor_id: str | None, item_id: str, values: dict[str, Any]
) -> Outcome:
    """``ITEM_UPDATE`` of a line: ``quantity`` (0 removes it), ``unit_price``."""

    async def rule(ctx: _Context) -> None:
        rules.update_item(ctx.value, ctx.active, item_id, _line_edit(ctx, values), ctx.actor)

    return await _run(uow, draft_id, actor_id, rule)


async def update_item_action(
    uow: UnitOfWork, *, draft_id: str, actor_id: str | None, action_id: str, values: dict[str, Any]
) -> Outcome:
    async def rule(ctx: _Context) -> None:
        rules.update_action(ctx.value, ctx.active, action_id, _line_edit(ctx, values), ctx.actor)

    return await _run(uow, draft_id, actor_id, rule)


async def remove_action(
    uow: UnitOfWork, *, draft_id: str, actor_id: str | None, action_id: str, kinds: Sequence[str]
) -> Outcome:
    async def rule(ctx: _Context) -> None:
        rules.remove_action(ctx.active, action_id, kinds, ctx.actor)

    return await _run(uow, draft_id, actor_id, rule)


# --------------------------------------------------------------------------- shipping


async def add_shipping(
    uow: UnitOfWork,
    *,
    draft_id: str,
    actor_id: str | None,
    shipping_option_id: str,
    custom_amount: Decimal | None = None,
    replaces: str | None = None,
    description: str | None = None,
    internal_note: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> Outcome:
    """``SHIPPING_ADD`` of the option (checked as at draft creation) for its seller, replacing
    that seller's method (``replaces``: the method the route names)."""

    async def rule(ctx: _Context) -> None:
        currency = ctx.draft.currency_code
        custom = (
            None if custom_amount is None else field_minor("custom_amount", custom_amount, currency)
        )
        (method,) = await service.new_shipping_methods(
            ctx.session,
            ctx.draft,
            ctx.region,
            [{"shipping_option_id": shipping_option_id, "name": None, "amount": None}],
            None,
        )
        rules.add_shipping(
            ctx.value,
            ctx.active,
            rules.NewMethod(
                shipping_option_id=method.shipping_option_id,
                seller_id=method.seller_id,
                name=method.name,
                amount=method.amount if custom is None else custom,
                custom_amount=custom,
                description=description,
                internal_note=internal_note,
                metadata=metadata,
            ),
            ctx.actor,
            replaces=replaces,
        )

    return await _run(uow, draft_id, actor_id, rule)


async def remove_method(
    uow: UnitOfWork, *, draft_id: str, actor_id: str | None, method_id: str
) -> Outcome:
    async def rule(ctx: _Context) -> None:
        rules.remove_method(ctx.value, ctx.active, method_id, ctx.actor)

    return await _run(uow, draft_id, actor_id, rule)


async def update_shipping(
    uow: UnitOfWork,
    *,
    draft_id: str,
    actor_id: str | None,
    action_id: str,
    custom_amount: Decimal | None = None,
    internal_note: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> Outcome:
    async def rule(ctx: _Context) -> None:
        custom = (
            None
            if custom_amount is None
            else field_minor("custom_amount", custom_amount, ctx.draft.currency_code)
        )
        rules.update_shipping(
            ctx.active,
            action_id,
            ctx.actor,
            custom_amount=custom,
            internal_note=internal_note,
            metadata=metadata,
        )

    return await _run(uow, draft_id, actor_id, rule)


# --------------------------------------------------------------------------- lifecycle


async def request_edit(uow: UnitOfWork, *, draft_id: str, actor_id: str | None) -> Outcome:
    async def rule(ctx: _Context) -> None:
        rules.request(ctx.active, ctx.actor)

    return await _run(uow, draft_id, actor_id, rule)


async def confirm_edit(uow: UnitOfWork, *, draft_id: str, actor_id: str | None) -> Outcome:
    """Apply the edit (from ``pending`` or ``requested``): the draft's lines and methods
    rewritten as the preview shows them, checked again, repriced."""
    async with uow:
        ctx = await _open(uow, draft_id, actor_id)
        edit = ctx.active
        result = rules.confirm(ctx.value, edit, ctx.actor)
        await _check_step(ctx, rules.preview(ctx.value, None), result)
        await _write(ctx, result)
        await _save(ctx, edit)
        ctx.draft.updated_at = ctx.actor.now
        await uow.commit()
    return Outcome(draft_id, None, edit.id)


async def _write(ctx: _Context, result: Draft) -> None:
    """The draft's rows as ``result``: lines updated or deleted, lines added (checked again as
    at creation; their id and price are the preview's), methods replaced or dropped, every
    total repriced."""
    session, draft, now = ctx.session, ctx.draft, ctx.actor.now
    kept = {i.id: i for i in result.items}
    items = []
    for row in ctx.items:
        item = kept.get(row.id)
        if item is None:
            await session.delete(row)
            continue
        if (row.quantity, row.unit_price) != (item.quantity, item.unit_price):
            row.quantity, row.unit_price, row.updated_at = item.quantity, item.unit_price, now
        items.append(row)
    added = [i for i in result.items if i.added_by is not None]
    lines = await service.new_items(
        session,
        draft,
        ctx.region,
        [
            {
                "variant_id": i.variant_id,
                "title": i.snapshot["title"],
                "seller_id": None if i.variant_id is not None else i.seller_id,
                "quantity": i.quantity,
                "unit_price": _major(i.unit_price if i.custom_price else None, draft.currency_code),
                "metadata": i.snapshot.get("metadata"),
            }
            for i in added
        ],
        now=now,
    )
    for item, line in zip(added, lines, strict=True):
        line.id, line.unit_price = item.id, item.unit_price
    kept_methods = {m.id for m in result.methods}
    methods = []
    for method_row in ctx.methods:
        if method_row.id in kept_methods:
            methods.append(method_row)
        else:
            await session.delete(method_row)
    await session.flush()  # the replaced methods go before their sellers' new ones
    new_methods = [m for m in result.methods if m.added_by is not None]
    rows = await service.new_shipping_methods(
        session,
        draft,
        ctx.region,
        [
            {"shipping_option_id": m.shipping_option_id, "name": None, "amount": None}
            for m in new_methods
        ],
        result.sellers_with_items,
    )
    for method, method_row in zip(new_methods, rows, strict=True):
        method_row.id, method_row.name, method_row.amount = method.id, method.name, method.amount
    session.add_all([*lines, *rows])
    service.reprice(draft, ctx.region.tax_rate, [*items, *lines], [*methods, *rows])


async def cancel_edit(uow: UnitOfWork, *, draft_id: str, actor_id: str | None) -> str:
    """The active edit ``canceled`` (kept; nothing was applied); its id."""
    async with uow:
        ctx = await _open(uow, draft_id, actor_id)
        edit = ctx.active
        rules.cancel(edit, ctx.actor)
        await _save(ctx, edit)
        await uow.commit()
    return edit.id
