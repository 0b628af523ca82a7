"""``/admin/promotions`` and ``/vendor/promotions`` (promotions.md, Admin API and
``/vendor``): CRUD, and each rule set's list and batch.

Both audiences share one handler per route; a vendor's pass the member's seller, so the
seller owns and funds what it creates and another seller's promotion is a 404."""

from typing import Any

from fastapi import APIRouter as FastAPIRouter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.api.deps import Admin, Query, Session, UoW, Vendor
from mercato.api.idempotency import IdempotencyKey
from mercato.api.openapi import (
    delete_operation,
    envelope,
    list_operation,
    operation,
    render_operation,
)
from mercato.errors import invalid
from mercato.http.responses import deleted
from mercato.http.routing import APIRouter
from mercato.promotions import service
from mercato.promotions.models import Promotion, PromotionRule
from mercato.promotions.resources import (
    PROMOTION,
    PROMOTION_FIELDS,
    PROMOTION_LIST,
    RULE,
    RULE_FIELDS,
    RULE_ORDER,
    VENDOR_PROMOTION_LIST,
    VENDOR_PROMOTION_SCOPE,
)
from mercato.promotions.schemas import (
    CreatePromotion,
    RuleBatch,
    UpdatePromotion,
    VendorCreatePromotion,
)
from mercato.query.fields import RenderContext, render
from mercato.query.fields import select as select_fields
from mercato.query.listing import find_or_404, run_list, run_retrieve
from mercato.query.openapi import item_schema

admin_router = APIRouter(prefix="/admin/promotions", tags=["admin: promotions"])
vendor_router = APIRouter(prefix="/vendor/promotions", tags=["vendor: promotions"])
ENTITY = service.ENTITY
# path segment → rule set
RULE_PATHS = {"rules": "rules", "target-rules": "target_rules", "buy-rules": "buy_rules"}
_RULE_NAMES = {"rules": "Rules", "target-rules": "TargetRules", "buy-rules": "BuyRules"}


async def render_promotion(session: AsyncSession, promotion: Any, params: dict) -> dict:
    return {
        "promotion": await run_retrieve(
            session, resource=PROMOTION, rules=PROMOTION_FIELDS, row=promotion, params=params
        )
    }


async def render_rules(session: AsyncSession, rows: list[Any]) -> list[dict[str, Any]]:
    tree = select_fields(RULE, RULE_FIELDS, None)
    return await render(RenderContext(session), RULE, rows, tree)


def _no_params(params: dict) -> None:
    if params:
        names = ", ".join(repr(k) for k in params)
        raise invalid(f"Invalid request: Unrecognized fields: {names}")


_RULES_BODY = envelope({"rules": {"type": "array", "items": item_schema(RULE, RULE_FIELDS)}})
_BATCH_BODY = envelope(
    {
        "created": {"type": "array", "items": item_schema(RULE, RULE_FIELDS)},
        "updated": {"type": "array", "items": item_schema(RULE, RULE_FIELDS)},
        "deleted": envelope(
            {
                "ids": {"type": "array", "items": {"type": "string"}},
                "object": {"type": "string"},
                "deleted": {"const": True},
            }
        ),
    }
)


def _declare(router: FastAPIRouter, *, vendor: bool) -> None:
    """The promotion routes of one audience."""
    op = "Vendor" if vendor else "Admin"
    Actor: Any = Vendor if vendor else Admin
    CreateBody: Any = VendorCreatePromotion if vendor else CreatePromotion
    rendered = render_operation(PROMOTION, PROMOTION_FIELDS)
    with_duplicates = render_operation(PROMOTION, PROMOTION_FIELDS, errors=(422,))

    def scope(actor: Any) -> str | None:
        return actor.seller_id if vendor else None

    async def find(session: AsyncSession, promotion_id: str, actor: Any) -> Any:
        if vendor:
            return await find_or_404(
                session,
                Promotion,
                ENTITY,
                promotion_id,
                scope=VENDOR_PROMOTION_SCOPE,
                bind={"seller_id": actor.seller_id},
            )
        return await find_or_404(session, Promotion, ENTITY, promotion_id)

    @router.get(
        "",
        operation_id=f"{op}ListPromotions",
        summary="List Promotions",
        description="Filters: id, code, q (code substring), type, status, is_automatic, "
        "campaign_id, seller_id (admin), funded_by, created_at, updated_at.",
        openapi_extra=list_operation(VENDOR_PROMOTION_LIST if vendor else PROMOTION_LIST),
    )
    async def list_promotions(session: Session, actor: Actor, params: Query) -> dict:
        if vendor:
            return await run_list(
                session, VENDOR_PROMOTION_LIST, params, bind={"seller_id": actor.seller_id}
            )
        return await run_list(session, PROMOTION_LIST, params)

    @router.post(
        "",
        operation_id=f"{op}CreatePromotion",
        summary="Create Promotion",
        openapi_extra=with_duplicates,
    )
    async def create_promotion(
        body: CreateBody,
        session: Session,
        uow: UoW,
        actor: Actor,
        params: Query,
        idempotency_key: IdempotencyKey,
    ) -> dict:
        """A promotion with its application method, rules and campaign; a vendor's belongs to
        and is funded by the member's seller."""
        promotion = await service.create_promotion(
            uow, body=body.model_dump(exclude_unset=True), vendor_seller_id=scope(actor)
        )
        return await render_promotion(session, promotion, params)

    @router.get(
        "/{promotion_id}",
        operation_id=f"{op}GetPromotion",
        summary="Get Promotion",
        openapi_extra=rendered,
    )
    async def get_promotion(
        promotion_id: str, session: Session, actor: Actor, params: Query
    ) -> dict:
        return await render_promotion(session, await find(session, promotion_id, actor), params)

    @router.post(
        "/{promotion_id}",
        operation_id=f"{op}UpdatePromotion",
        summary="Update Promotion",
        openapi_extra=with_duplicates,
    )
    async def update_promotion(
        promotion_id: str,
        body: UpdatePromotion,
        session: Session,
        uow: UoW,
        actor: Actor,
        params: Query,
        idempotency_key: IdempotencyKey,
    ) -> dict:
        """``code, status, is_automatic, is_tax_inclusive, limit, campaign_id,
        application_method`` (partial); rules change through the batch routes."""
        promotion = await service.update_promotion(
            uow,
            promotion_id=promotion_id,
            changes=body.model_dump(exclude_unset=True),
            vendor_seller_id=scope(actor),
        )
        return await render_promotion(session, promotion, params)

    @router.delete(
        "/{promotion_id}",
        operation_id=f"{op}DeletePromotion",
        summary="Delete Promotion",
        openapi_extra=delete_operation(),
    )
    async def delete_promotion(
        promotion_id: str, uow: UoW, actor: Actor, idempotency_key: IdempotencyKey
    ) -> dict:
        await service.delete_promotion(
            uow, promotion_id=promotion_id, vendor_seller_id=scope(actor)
        )
        return deleted(promotion_id, "promotion")

    for segment, rule_set in RULE_PATHS.items():
        _declare_rule_set(router, op, segment, rule_set, Actor, find, scope)


def _declare_rule_set(
    router: FastAPIRouter,
    op: str,
    segment: str,
    rule_set: str,
    Actor: Any,
    find: Any,
    scope: Any,
) -> None:
    name = _RULE_NAMES[segment]

    @router.get(
        f"/{{promotion_id}}/{segment}",
        operation_id=f"{op}ListPromotion{name}",
        summary=f"List a Promotion's {segment.replace('-', ' ')}",
        openapi_extra=operation(body=_RULES_BODY),
    )
    async def list_rules(promotion_id: str, session: Session, actor: Actor, params: Query) -> dict:
        _no_params(params)
        await find(session, promotion_id, actor)
        rows = (
            await session.scalars(
                select(PromotionRule)
                .where(
                    PromotionRule.promotion_id == promotion_id, PromotionRule.rule_set == rule_set
                )
                .order_by(*RULE_ORDER)
            )
        ).all()
        return {"rules": await render_rules(session, list(rows))}

    @router.post(
        f"/{{promotion_id}}/{segment}/batch",
        operation_id=f"{op}BatchPromotion{name}",
        summary=f"Create, update and delete a Promotion's {segment.replace('-', ' ')}",
        openapi_extra=operation(body=_BATCH_BODY),
    )
    async def batch_rules(
        promotion_id: str,
        body: RuleBatch,
        session: Session,
        uow: UoW,
        actor: Actor,
        params: Query,
        idempotency_key: IdempotencyKey,
    ) -> dict:
        """``{create?, update?, delete?}``, all or nothing."""
        _no_params(params)
        result = await service.batch_rules(
            uow,
            promotion_id=promotion_id,
            rule_set=rule_set,
            create=[r.model_dump() for r in body.create or []],
            update=[r.model_dump(exclude_unset=True) for r in body.update or []],
            delete=body.delete or [],
            vendor_seller_id=scope(actor),
        )
        return {
            "created": await render_rules(session, result.created),
            "updated": await render_rules(session, result.updated),
            "deleted": {"ids": result.deleted, "object": "promotion-rule", "deleted": True},
        }


_declare(admin_router, vendor=False)
_declare(vendor_router, vendor=True)
