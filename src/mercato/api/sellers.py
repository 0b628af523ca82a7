"""``/admin/sellers`` (with members) and ``/vendor/sellers/me``."""

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.api.deps import Query, Session, UoW, Vendor
from mercato.api.openapi import delete_operation, list_operation, render_operation
from mercato.http.responses import deleted
from mercato.http.routing import APIRouter
from mercato.query.fields import FieldRules
from mercato.query.listing import find_or_404, get_or_404, run_list, run_retrieve
from mercato.sellers import service
from mercato.sellers.models import Seller
from mercato.sellers.resources import (
    MEMBER,
    MEMBER_FIELDS,
    SELLER,
    SELLER_DETAIL_FIELDS,
    SELLER_LIST,
    VENDOR_SELLER_FIELDS,
)
from mercato.sellers.schemas import CreateMember, CreateSeller, UpdateSeller

admin_router = APIRouter(prefix="/admin/sellers", tags=["admin: sellers"])
vendor_router = APIRouter(prefix="/vendor/sellers", tags=["vendor: sellers"])


async def _render(
    session: AsyncSession, seller: Seller, params: dict, rules: FieldRules = SELLER_DETAIL_FIELDS
) -> dict:
    return {
        "seller": await run_retrieve(
            session, resource=SELLER, rules=rules, row=seller, params=params
        )
    }


@admin_router.get("", operation_id="AdminListSellers", openapi_extra=list_operation(SELLER_LIST))
async def list_sellers(session: Session, params: Query) -> dict:
    return await run_list(session, SELLER_LIST, params)


@admin_router.post(
    "",
    operation_id="AdminCreateSeller",
    openapi_extra=render_operation(SELLER, SELLER_DETAIL_FIELDS, errors=(422,)),
)
async def create_seller(body: CreateSeller, session: Session, uow: UoW, params: Query) -> dict:
    """Create a seller and its stock location."""
    return await _render(session, await service.create_seller(uow, **body.model_dump()), params)


@admin_router.get(
    "/{seller_id}",
    operation_id="AdminGetSeller",
    openapi_extra=render_operation(SELLER, SELLER_DETAIL_FIELDS),
)
async def get_seller(seller_id: str, session: Session, params: Query) -> dict:
    return await _render(session, await find_or_404(session, Seller, "Seller", seller_id), params)


@admin_router.post(
    "/{seller_id}",
    operation_id="AdminUpdateSeller",
    openapi_extra=render_operation(SELLER, SELLER_DETAIL_FIELDS, errors=(422,)),
)
async def update_seller(
    seller_id: str, body: UpdateSeller, session: Session, uow: UoW, params: Query
) -> dict:
    seller = await service.update_seller(
        uow, seller_id=seller_id, changes=body.model_dump(exclude_unset=True)
    )
    return await _render(session, seller, params)


@admin_router.delete(
    "/{seller_id}", operation_id="AdminDeleteSeller", openapi_extra=delete_operation()
)
async def delete_seller(seller_id: str, uow: UoW) -> dict:
    await service.delete_seller(uow, seller_id=seller_id)
    return deleted(seller_id, "seller")


@admin_router.post(
    "/{seller_id}/members",
    operation_id="AdminCreateSellerMember",
    openapi_extra=render_operation(MEMBER, MEMBER_FIELDS, errors=(422,)),
)
async def create_member(
    seller_id: str, body: CreateMember, session: Session, uow: UoW, params: Query
) -> dict:
    """Add a staff member who logs in at ``/auth/seller/emailpass``."""
    member = await service.add_member(uow, seller_id=seller_id, **body.model_dump())
    return {
        "member": await run_retrieve(
            session, resource=MEMBER, rules=MEMBER_FIELDS, row=member, params=params
        )
    }


@vendor_router.get(
    "/me",
    operation_id="VendorGetSellerMe",
    openapi_extra=render_operation(SELLER, VENDOR_SELLER_FIELDS),
)
async def vendor_me(vendor: Vendor, session: Session, params: Query) -> dict:
    """The member's own seller."""
    seller = await get_or_404(session, Seller, "Seller", vendor.seller_id)
    return await _render(session, seller, params, VENDOR_SELLER_FIELDS)
