"""Claims on one seller's order, as order changes (order-changes.md §5, §8).

A claim names fulfilled units that arrived missing or faulty (``claim_items``, each a
``WRITE_OFF_ITEM``) and settles them: a **refund** claim deducts their value (a refund falls due),
a **replace** claim keeps it and ships replacements (outbound lines, ``unit_price`` 0 unless
given) reserved at the seller's stock location. The customer may send claimed units back (the
claim's return: inbound units, worth nothing, restocked on receipt). Everything is applied at
``request``; a cancel is another change reversing it (negative write-offs included).

The inbound, outbound and shipping parts, the discard and the cancel are the exchange rules of
:mod:`mercato.domain.exchanges` with ``kind="claim"``; this module holds what only claims have.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mercato.domain import events as ev
from mercato.domain import exchanges as owned
from mercato.domain import returns as ret_flows
from mercato.domain.errors import DomainError
from mercato.domain.order_changes import (
    CLAIM_REASONS,
    CLAIM_TYPES,
    Claim,
    OrderChange,
    actions_of,
)
from mercato.domain.order_group import Order, OrderGroup
from mercato.domain.returns import Actor

DEFAULT_REASON = "other"


@dataclass(frozen=True, slots=True)
class ClaimedItem:
    """Units of an order line the customer claims, and why (``reason``: §2.3's values)."""

    line_id: str
    quantity: int
    reason: str | None = None
    description: str | None = None
    internal_note: str | None = None


def find_claim(group: OrderGroup, claim_id: str) -> tuple[Order, Claim]:
    order, claim = owned.find_owner(group, "claim", claim_id)
    assert isinstance(claim, Claim)
    return order, claim


def _open(group: OrderGroup, claim_id: str) -> tuple[Order, Claim, OrderChange]:
    order, claim, change = owned.open_owner(group, "claim", claim_id)
    assert isinstance(claim, Claim)
    return order, claim, change


def _check_reason(reason: str | None) -> None:
    if reason is not None and reason not in CLAIM_REASONS:
        raise DomainError(f"reason must be one of {', '.join(CLAIM_REASONS)}")


# --------------------------------------------------------------------------- begin


def begin_claim(
    group: OrderGroup,
    order_id: str,
    actor: Actor,
    *,
    type: str,
    reason_id: str | None = None,
    **values: Any,
) -> Claim:
    """A claim and its pending ``claim`` change (``values``: ``seller_id``, ``description``,
    ``internal_note``, ``metadata``)."""
    if type not in CLAIM_TYPES:
        raise DomainError(f"type must be one of {', '.join(CLAIM_TYPES)}")
    claim = owned.begin(group, "claim", order_id, actor, type=type, reason_id=reason_id, **values)
    assert isinstance(claim, Claim)
    return claim


# --------------------------------------------------------------------------- claim items


def check_claimable(
    order: Order,
    change: OrderChange,
    line_id: str,
    quantity: int,
    *,
    excluding: str | None = None,
) -> None:
    """``q ≤ fulfilled − units already in returns and claims`` (the change's other claimed
    units of the line included)."""
    ret_flows.check_free_units(
        order,
        change,
        line_id,
        quantity,
        kind="WRITE_OFF_ITEM",
        message=f"Cannot claim more items than what was fulfilled for item {line_id}.",
        excluding=excluding,
    )


def add_claim_items(
    group: OrderGroup, claim_id: str, items: Sequence[ClaimedItem], actor: Actor
) -> Claim:
    """``WRITE_OFF_ITEM`` actions: the claimed units (a refund claim deducts their value)."""
    order, claim, change = _open(group, claim_id)
    ret_flows.check_lines(order, [item.line_id for item in items])
    for item in items:
        ret_flows.check_quantity(item.line_id, item.quantity)
        _check_reason(item.reason)
    wanted: dict[str, int] = defaultdict(int)
    for item in items:
        wanted[item.line_id] += item.quantity
    for line_id, quantity in wanted.items():
        check_claimable(order, change, line_id, quantity)
    for item in items:
        ret_flows.add_action(
            change,
            "WRITE_OFF_ITEM",
            actor,
            reference="claim",
            reference_id=claim.id,
            claim_id=claim.id,
            internal_note=item.internal_note,
            details={
                "reference_id": item.line_id,
                "quantity": item.quantity,
                "reason": item.reason or DEFAULT_REASON,
                "note": item.description,
                "refund": claim.type == "refund",
                "claim_item_id": actor.ids("claitem"),
            },
        )
    owned.previewed(group, order, actor)
    return claim


def update_claim_item(
    group: OrderGroup,
    claim_id: str,
    action_id: str,
    actor: Actor,
    *,
    quantity: int | None = None,
    reason: str | None = None,
    internal_note: str | None = None,
) -> Claim:
    order, claim, change = _open(group, claim_id)
    action = change.action(action_id, "WRITE_OFF_ITEM")
    line_id = action.details["reference_id"]
    # Every check before any change: a refusal leaves the action as it was.
    if quantity is not None:
        ret_flows.check_quantity(line_id, quantity)
        check_claimable(order, change, line_id, quantity, excluding=action.id)
    _check_reason(reason)
    if quantity is not None:
        action.details = {**action.details, "quantity": quantity}
    if reason is not None:
        action.details = {**action.details, "reason": reason}
    if internal_note is not None:
        action.internal_note = internal_note
    action.updated_at = actor.now
    change.updated_at = actor.now
    owned.previewed(group, order, actor)
    return claim


# --------------------------------------------------------------------------- request


def _check_inbound_claimed(change: OrderChange) -> None:
    """Per line, the units sent back are at most the units this claim claims (§8)."""
    claimed: dict[str, int] = defaultdict(int)
    for action in actions_of(change, "WRITE_OFF_ITEM"):
        claimed[action.details["reference_id"]] += int(action.details["quantity"])
    inbound: dict[str, int] = defaultdict(int)
    for action in actions_of(change, "RETURN_ITEM"):
        inbound[action.details["reference_id"]] += int(action.details["quantity"])
    for line_id, quantity in inbound.items():
        if quantity > claimed[line_id]:
            raise DomainError(f"Cannot return more items than were claimed for item {line_id}.")


def request_claim(
    group: OrderGroup, claim_id: str, actor: Actor, *, no_notification: bool | None = None
) -> Claim:
    """Confirm the claim: claimed units written off (a refund claim deducts them), outbound
    lines added and reserved, the return (if any) ``requested``, §3.5 re-sync."""
    order, claim, change = _open(group, claim_id)
    kinds = {a.action for a in change.actions}
    if "WRITE_OFF_ITEM" not in kinds:
        raise DomainError("Order claim request should have at least 1 item")
    if claim.type == "replace" and "ITEM_ADD" not in kinds:
        raise DomainError("A replace claim must have at least 1 outbound item")
    _check_inbound_claimed(change)
    if no_notification is not None:
        claim.no_notification = no_notification
    change.requested_at = actor.now
    change.requested_by = actor.id
    ret_flows.confirm(group, order, change, actor)
    owned.mark_requested(order, change, actor)
    claim.refund_amount = max(0, -sum(a.amount for a in change.actions))
    claim.updated_at = actor.now
    ret_flows.raise_event(group, ev.CLAIM_CREATED, order, claim_id=claim.id)
    return claim


# --------------------------------------------------------------------------- discard, cancel


def discard_claim(group: OrderGroup, claim_id: str, actor: Actor) -> Claim:
    """``DELETE /admin/claims/:id/request``: the pending change canceled (kept), the claim and
    its return deleted."""
    claim = owned.discard(group, "claim", claim_id, actor)
    assert isinstance(claim, Claim)
    return claim


def cancel_claim(
    group: OrderGroup, claim_id: str, actor: Actor, *, no_notification: bool | None = None
) -> Claim:
    """Outbound lines released and removed, the return canceled, methods removed and the
    write-offs taken back: the order as before the request (§8)."""
    claim = owned.cancel(
        group,
        "claim",
        claim_id,
        actor,
        noun="a claim",
        event=ev.CLAIM_CANCELED,
        no_notification=no_notification,
    )
    assert isinstance(claim, Claim)
    return claim
