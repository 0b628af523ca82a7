"""Order changes between rows and the domain: what :mod:`orders.repository` loads with an
order group (its active changes, returns, credit lines) and writes back after an operation."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.domain import order_changes as chg
from mercato.domain import order_group as dom
from mercato.orders.change_models import (
    OrderChange,
    OrderChangeAction,
    OrderClaim,
    OrderClaimItem,
    OrderCreditLine,
    OrderExchange,
    OrderExchangeItem,
    OrderReturn,
    ReturnItem,
)
from mercato.orders.models import OrderPaymentCollection, OrderShippingMethod
from mercato.payments.models import PaymentCollection, PaymentSession

_CHANGE_FIELDS = (
    "return_id",
    "status",
    "description",
    "internal_note",
    "requested_by",
    "requested_at",
    "confirmed_by",
    "confirmed_at",
    "declined_by",
    "declined_reason",
    "declined_at",
    "canceled_by",
    "canceled_at",
    "updated_at",
)
_RETURN_FIELDS = (
    "status",
    "location_id",
    "no_notification",
    "refund_amount",
    "requested_at",
    "received_at",
    "canceled_at",
    "updated_at",
)


def change_entity(row: OrderChange, actions: list[OrderChangeAction]) -> chg.OrderChange:
    """An order's change, or a draft order's (``draft_order_id``, no order; migration 0014)."""
    assert (row.order_id is None) != (row.draft_order_id is None), row.id
    return chg.OrderChange(
        id=row.id,
        order_id=row.order_id,
        change_type=row.change_type,
        version=row.version,
        status=row.status,
        return_id=row.return_id,
        exchange_id=row.exchange_id,
        claim_id=row.claim_id,
        draft_order_id=row.draft_order_id,
        description=row.description,
        internal_note=row.internal_note,
        created_by=row.created_by,
        requested_by=row.requested_by,
        requested_at=row.requested_at,
        confirmed_by=row.confirmed_by,
        confirmed_at=row.confirmed_at,
        declined_by=row.declined_by,
        declined_reason=row.declined_reason,
        declined_at=row.declined_at,
        canceled_by=row.canceled_by,
        canceled_at=row.canceled_at,
        metadata=row.metadata_,
        created_at=row.created_at,
        updated_at=row.updated_at,
        actions=[_action_entity(a) for a in actions],
    )


def _action_entity(a: OrderChangeAction) -> chg.ChangeAction:
    return chg.ChangeAction(
        id=a.id,
        action=a.action,
        ordering=a.ordering,
        details=dict(a.details),
        reference=a.reference,
        reference_id=a.reference_id,
        return_id=a.return_id,
        exchange_id=a.exchange_id,
        claim_id=a.claim_id,
        amount=a.amount,
        internal_note=a.internal_note,
        applied=a.applied,
        created_at=a.created_at,
        updated_at=a.updated_at,
    )


_DRAFT_EDIT_FIELDS = (
    "status",
    "description",
    "internal_note",
    "requested_by",
    "requested_at",
    "confirmed_by",
    "confirmed_at",
    "canceled_by",
    "canceled_at",
    "updated_at",
)


async def save_draft_edit(
    session: AsyncSession,
    edit: chg.OrderChange,
    row: OrderChange | None,
    action_rows: list[OrderChangeAction],
    *,
    currency_code: str,
) -> None:
    """Write a draft's edit as a rule left it: the change (new when ``row`` is None: it has no
    actions yet, the caller flushes it) and its actions (``action_rows``: those loaded with it;
    the ones gone from the edit are deleted)."""
    values = {name: getattr(edit, name) for name in _DRAFT_EDIT_FIELDS}
    if row is None:
        session.add(
            OrderChange(
                id=edit.id,
                order_id=None,
                draft_order_id=edit.draft_order_id,
                version=edit.version,
                change_type="edit",
                created_by=edit.created_by,
                metadata_=edit.metadata,
                created_at=edit.created_at,
                **values,
            )
        )
    else:
        _assign(row, **values)
    kept = {a.id for a in edit.actions}
    loaded = {r.id: r for r in action_rows}
    gone = [aid for aid in loaded if aid not in kept]
    if gone:
        await session.execute(delete(OrderChangeAction).where(OrderChangeAction.id.in_(gone)))
    for action in edit.actions:
        changed = {
            "ordering": action.ordering,
            "details": action.details,
            "amount": action.amount,
            "internal_note": action.internal_note,
            "applied": action.applied,
            "updated_at": action.updated_at,
        }
        found = loaded.get(action.id)
        if found is not None:
            _assign(found, **changed)
            continue
        session.add(
            OrderChangeAction(
                id=action.id,
                order_change_id=edit.id,
                order_id=None,
                currency_code=currency_code,
                version=edit.version,
                action=action.action,
                reference=action.reference,
                reference_id=action.reference_id,
                created_at=action.created_at,
                **changed,
            )
        )


def return_entity(row: OrderReturn, items: list[ReturnItem]) -> chg.Return:
    return chg.Return(
        id=row.id,
        order_id=row.order_id,
        seller_id=row.seller_id,
        location_id=row.location_id,
        status=row.status,
        exchange_id=row.exchange_id,
        claim_id=row.claim_id,
        display_id=row.display_id,
        order_version=row.order_version,
        no_notification=row.no_notification,
        created_by=row.created_by,
        requested_at=row.requested_at,
        received_at=row.received_at,
        canceled_at=row.canceled_at,
        metadata=row.metadata_,
        refund_amount=row.refund_amount,
        created_at=row.created_at,
        updated_at=row.updated_at,
        items=[
            chg.ReturnItem(
                id=i.id,
                item_id=i.item_id,
                quantity=i.quantity,
                deducted=i.deducted_amount,
                received_quantity=i.received_quantity,
                damaged_quantity=i.damaged_quantity,
                reason_id=i.reason_id,
                note=i.note,
                metadata=i.metadata_,
            )
            for i in items
        ],
    )


def _assign(row: Any, **values: Any) -> None:
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)


async def save_changes(
    session: AsyncSession, order: dom.Order, rows: Any, children: list[Any]
) -> None:
    """Write the order's shipping methods, changes, returns and credit lines as the operation
    left them. Parents are added to the session now, rows that reference them to ``children``
    (flushed after them: the tables have no ORM relationships to order the inserts by)."""
    await _save_methods(session, order, rows)
    for change in order.changes:
        row = rows.changes.get(change.id)
        if row is None:
            row = OrderChange(
                id=change.id,
                order_id=order.id,
                exchange_id=change.exchange_id,
                claim_id=change.claim_id,
                version=change.version,
                change_type=change.change_type,
                created_by=change.created_by,
                metadata_=change.metadata,
                created_at=change.created_at,
                **{name: getattr(change, name) for name in _CHANGE_FIELDS},
            )
            session.add(row)
            rows.changes[change.id] = row
        else:
            _assign(row, **{name: getattr(change, name) for name in _CHANGE_FIELDS})
        await _save_actions(session, order, change, rows, children)
    for ret in order.returns:
        await _save_return(session, order, ret, rows, children)
    for exchange in order.exchanges:
        await _save_exchange(session, order, exchange, rows, children)
    for claim in order.claims:
        await _save_claim(session, order, claim, rows, children)
    await _save_change_collections(session, order, rows, children)
    for credit_line in order.credit_lines:
        if credit_line.id not in rows.credit_lines:
            session.add(
                OrderCreditLine(
                    id=credit_line.id,
                    order_id=order.id,
                    currency_code=order.currency_code,
                    amount=credit_line.amount,
                    reference=credit_line.reference,
                    reference_id=credit_line.reference_id,
                    metadata_=credit_line.metadata,
                    created_at=credit_line.created_at,
                    updated_at=credit_line.created_at,
                )
            )
            rows.credit_lines.add(credit_line.id)


async def _save_methods(session: AsyncSession, order: dom.Order, rows: Any) -> None:
    kept = {m.id for m in order.shipping_methods}
    gone = [
        mid for mid, row in rows.methods.items() if row.order_id == order.id and mid not in kept
    ]
    if gone:
        await session.execute(delete(OrderShippingMethod).where(OrderShippingMethod.id.in_(gone)))
        for mid in gone:
            del rows.methods[mid]
    for method in order.shipping_methods:
        if method.id in rows.methods:
            continue
        row = OrderShippingMethod(
            id=method.id,
            order_id=order.id,
            shipping_option_id=method.shipping_option_id,
            seller_id=method.seller_id,
            currency_code=order.currency_code,
            name=method.name,
            amount=method.amount,
            is_tax_inclusive=method.is_tax_inclusive,
            subtotal=method.subtotal,
            tax_total=method.tax_total,
            total=method.total,
            data=method.data,
            return_id=method.return_id,
            exchange_id=method.exchange_id,
            claim_id=method.claim_id,
        )
        session.add(row)
        rows.methods[method.id] = row


async def _save_actions(
    session: AsyncSession, order: dom.Order, change: chg.OrderChange, rows: Any, children: list[Any]
) -> None:
    kept = {a.id for a in change.actions}
    gone = [
        aid
        for aid, row in rows.actions.items()
        if row.order_change_id == change.id and aid not in kept
    ]
    if gone:
        await session.execute(delete(OrderChangeAction).where(OrderChangeAction.id.in_(gone)))
        for aid in gone:
            del rows.actions[aid]
    for action in change.actions:
        values = {
            "ordering": action.ordering,
            "details": action.details,
            "amount": action.amount,
            "internal_note": action.internal_note,
            "applied": action.applied,
            "updated_at": action.updated_at,
        }
        row = rows.actions.get(action.id)
        if row is None:
            row = OrderChangeAction(
                id=action.id,
                order_change_id=change.id,
                order_id=order.id,
                return_id=action.return_id,
                exchange_id=action.exchange_id,
                claim_id=action.claim_id,
                currency_code=order.currency_code,
                version=change.version,
                action=action.action,
                reference=action.reference,
                reference_id=action.reference_id,
                created_at=action.created_at,
                **values,
            )
            children.append(row)
            rows.actions[action.id] = row
        else:
            _assign(row, **values)


async def _save_return(
    session: AsyncSession, order: dom.Order, ret: chg.Return, rows: Any, children: list[Any]
) -> None:
    row = rows.returns.get(ret.id)
    if ret.deleted:
        if row is not None:
            await session.delete(row)
            del rows.returns[ret.id]
        return
    values = {name: getattr(ret, name) for name in _RETURN_FIELDS}
    if row is None:
        row = OrderReturn(
            id=ret.id,
            order_id=order.id,
            seller_id=ret.seller_id,
            exchange_id=ret.exchange_id,
            claim_id=ret.claim_id,
            currency_code=order.currency_code,
            order_version=ret.order_version,
            created_by=ret.created_by,
            metadata_=ret.metadata,
            created_at=ret.created_at,
            **values,
        )
        session.add(row)
        rows.returns[ret.id] = row
    else:
        _assign(row, metadata_=ret.metadata, **values)
    for item in ret.items:
        item_values = {
            "quantity": item.quantity,
            "received_quantity": item.received_quantity,
            "damaged_quantity": item.damaged_quantity,
            "deducted_amount": item.deducted,
        }
        item_row = rows.return_items.get(item.id)
        if item_row is None:
            item_row = ReturnItem(
                id=item.id,
                return_id=ret.id,
                item_id=item.item_id,
                reason_id=item.reason_id,
                note=item.note,
                metadata_=item.metadata,
                **item_values,
            )
            children.append(item_row)
            rows.return_items[item.id] = item_row
        else:
            _assign(item_row, **item_values)


async def _save_change_collections(
    session: AsyncSession, order: dom.Order, rows: Any, children: list[Any]
) -> None:
    """A new change collection and its link (the order's share = its whole amount); a
    re-amounted one loses its payment sessions (§3.5), its link follows its amount."""
    for collection in order.change_collections:
        row = rows.change_collections.get(collection.id)
        if row is None:
            row = PaymentCollection(
                id=collection.id,
                cart_id=None,
                source="order_change",
                order_change_id=collection.order_change_id,
                currency_code=collection.currency_code,
                amount=collection.amount,
                status=collection.status,
                created_at=collection.created_at,
                updated_at=collection.updated_at,
            )
            session.add(row)
            rows.change_collections[collection.id] = row
            children.append(
                OrderPaymentCollection(
                    order_id=order.id,
                    payment_collection_id=collection.id,
                    amount=collection.amount,
                )
            )
            continue
        if collection.reamounted:
            await session.execute(
                delete(PaymentSession).where(PaymentSession.payment_collection_id == collection.id)
            )
            await session.execute(
                update(OrderPaymentCollection)
                .where(
                    OrderPaymentCollection.order_id == order.id,
                    OrderPaymentCollection.payment_collection_id == collection.id,
                )
                .values(amount=collection.amount)
            )
            collection.reamounted = False
        _assign(
            row,
            amount=collection.amount,
            status=collection.status,
            authorized_amount=collection.authorized_amount,
            captured_amount=collection.captured_amount,
            refunded_amount=collection.refunded_amount,
            updated_at=collection.updated_at or row.updated_at,
        )


def exchange_entity(row: OrderExchange, items: list[OrderExchangeItem]) -> chg.Exchange:
    return chg.Exchange(
        id=row.id,
        order_id=row.order_id,
        seller_id=row.seller_id,
        return_id=row.return_id,
        display_id=row.display_id,
        order_version=row.order_version,
        difference_due=row.difference_due,
        allow_backorder=row.allow_backorder,
        no_notification=row.no_notification,
        created_by=row.created_by,
        canceled_at=row.canceled_at,
        metadata=row.metadata_,
        additional_items=[
            chg.ExchangeItem(i.id, i.item_id, i.quantity, i.metadata_) for i in items
        ],
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def claim_entity(row: OrderClaim, items: list[OrderClaimItem]) -> chg.Claim:
    return chg.Claim(
        id=row.id,
        order_id=row.order_id,
        seller_id=row.seller_id,
        type=row.type,
        return_id=row.return_id,
        reason_id=row.reason_id,
        display_id=row.display_id,
        order_version=row.order_version,
        refund_amount=row.refund_amount,
        no_notification=row.no_notification,
        created_by=row.created_by,
        canceled_at=row.canceled_at,
        metadata=row.metadata_,
        items=[
            chg.ClaimItem(
                i.id,
                i.item_id,
                i.quantity,
                reason=i.reason,
                note=i.note,
                metadata=i.metadata_,
                deducted=i.deducted_amount,
                is_additional_item=i.is_additional_item,
            )
            for i in items
        ],
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


_EXCHANGE_FIELDS = (
    "return_id",
    "difference_due",
    "allow_backorder",
    "no_notification",
    "canceled_at",
    "updated_at",
)
_CLAIM_FIELDS = ("return_id", "refund_amount", "no_notification", "canceled_at", "updated_at")


async def _save_exchange(
    session: AsyncSession, order: dom.Order, exchange: chg.Exchange, rows: Any, children: list[Any]
) -> None:
    row = rows.exchanges.get(exchange.id)
    if exchange.deleted:
        if row is not None:
            await session.delete(row)
            del rows.exchanges[exchange.id]
        return
    values = {name: getattr(exchange, name) for name in _EXCHANGE_FIELDS}
    if row is None:
        row = OrderExchange(
            id=exchange.id,
            order_id=order.id,
            seller_id=exchange.seller_id,
            currency_code=order.currency_code,
            order_version=exchange.order_version,
            created_by=exchange.created_by,
            metadata_=exchange.metadata,
            created_at=exchange.created_at,
            **values,
        )
        session.add(row)
        rows.exchanges[exchange.id] = row
    else:
        _assign(row, **values)
    for item in exchange.additional_items:
        if item.id not in rows.exchange_items:
            children.append(
                OrderExchangeItem(
                    id=item.id,
                    exchange_id=exchange.id,
                    item_id=item.item_id,
                    quantity=item.quantity,
                    metadata_=item.metadata,
                )
            )
            rows.exchange_items.add(item.id)


async def _save_claim(
    session: AsyncSession, order: dom.Order, claim: chg.Claim, rows: Any, children: list[Any]
) -> None:
    row = rows.claims.get(claim.id)
    if claim.deleted:
        if row is not None:
            await session.delete(row)
            del rows.claims[claim.id]
        return
    values = {name: getattr(claim, name) for name in _CLAIM_FIELDS}
    if row is None:
        row = OrderClaim(
            id=claim.id,
            type=claim.type,
            reason_id=claim.reason_id,
            order_id=order.id,
            seller_id=claim.seller_id,
            currency_code=order.currency_code,
            order_version=claim.order_version,
            created_by=claim.created_by,
            metadata_=claim.metadata,
            created_at=claim.created_at,
            **values,
        )
        session.add(row)
        rows.claims[claim.id] = row
    else:
        _assign(row, **values)
    for item in claim.items:
        if item.id not in rows.claim_items:
            children.append(
                OrderClaimItem(
                    id=item.id,
                    claim_id=claim.id,
                    item_id=item.item_id,
                    quantity=item.quantity,
                    reason=item.reason,
                    note=item.note,
                    deducted_amount=item.deducted,
                    is_additional_item=item.is_additional_item,
                    metadata_=item.metadata,
                )
            )
            rows.claim_items.add(item.id)
