"""Claim routes (order-changes.md §8, §11): the routes claims share with exchanges
(:mod:`mercato.api.change_owners`) plus ``claim-items``, for admins and for vendors (another
seller's order or claim is a 404)."""

from typing import Any

from mercato.api.change_owners import (
    OwnerKind,
    Registered,
    declare_post,
    declare_remover,
    register,
)
from mercato.domain import claims as flows
from mercato.domain.order_changes import Claim
from mercato.domain.order_group import OrderGroup
from mercato.domain.returns import Actor
from mercato.http.routing import APIRouter
from mercato.orders import exchanges_service as service
from mercato.orders.change_models import OrderClaim
from mercato.orders.change_resources import CLAIM, CLAIM_FIELDS, CLAIM_LIST, VENDOR_CLAIM_LIST
from mercato.orders.return_schemas import BeginClaim, ClaimItems, UpdateClaimItem

admin_router = APIRouter(tags=["admin: claims"])
vendor_router = APIRouter(tags=["vendor: claims"])


def _begin(
    group: OrderGroup, order_id: str, actor: Actor, seller_id: str | None, values: dict[str, Any]
) -> Claim:
    return flows.begin_claim(group, order_id, actor, seller_id=seller_id, **values)


def _reason_checked(body: BeginClaim) -> service.Before | None:
    return service.reasons_checked([body.reason_id]) if body.reason_id else None


CLAIMS = OwnerKind(
    kind="claim",
    name="Claim",
    model=OrderClaim,
    resource=CLAIM,
    fields=CLAIM_FIELDS,
    list_spec=CLAIM_LIST,
    vendor_list_spec=VENDOR_CLAIM_LIST,
    list_filters="Filters: id, order_id, type, created_at, updated_at (admin: seller_id).",
    begin_body=BeginClaim,
    begin=_begin,
    begin_before=_reason_checked,
    request=flows.request_claim,
    cancel=flows.cancel_claim,
)


def _claim_items(r: Registered) -> None:
    """``claim-items``: the claimed units (``WRITE_OFF_ITEM``), answered with the claim."""

    def add(claim_id: str, _: str | None, body: ClaimItems) -> Any:
        items = [
            flows.ClaimedItem(i.id, i.quantity, i.reason, i.description, i.internal_note)
            for i in body.items
        ]
        return lambda group, a: flows.add_claim_items(group, claim_id, items, a), None

    def update(claim_id: str, action_id: str | None, body: UpdateClaimItem) -> Any:
        assert action_id is not None
        values = body.model_dump(exclude_unset=True)
        return (
            lambda group, a: flows.update_claim_item(group, claim_id, action_id, a, **values),
            None,
        )

    declare_post(r, "claim-items", "AddClaimItems", ClaimItems, add, keys="owner")
    declare_post(
        r, "claim-items/{action_id}", "UpdateClaimItem", UpdateClaimItem, update, keys="owner"
    )
    declare_remover(r, "claim-items", "RemoveClaimItem", "claim_item")


_claim_items(register(admin_router, "/admin", CLAIMS, vendor=False))
_claim_items(register(vendor_router, "/vendor", CLAIMS, vendor=True))
