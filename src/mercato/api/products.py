"""``/admin/products`` (with variants) and the store's published catalogue."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.api.deps import Query, Session, Store, UoW
from mercato.api.openapi import delete_operation, envelope, list_operation, render_operation
from mercato.http.responses import deleted
from mercato.http.routing import APIRouter
from mercato.products import service
from mercato.products.models import Product, ProductVariant
from mercato.products.resources import (
    PRODUCT,
    PRODUCT_FIELDS,
    PRODUCT_LIST,
    STORE_PRODUCT_FIELDS,
    STORE_PRODUCT_LIST,
    STORE_SCOPE,
    VARIANT,
    VARIANT_FIELDS,
    store_scope_values,
)
from mercato.products.schemas import CreateProduct, CreateVariant, UpdateProduct, UpdateVariant
from mercato.query.fields import FieldRules
from mercato.query.listing import find_or_404, get_or_404, run_list, run_retrieve

admin_router = APIRouter(prefix="/admin/products", tags=["admin: products"])
store_router = APIRouter(prefix="/store/products", tags=["store: products"])


async def _render(
    session: AsyncSession, product: Product, params: dict, rules: FieldRules = PRODUCT_FIELDS
) -> dict:
    return {
        "product": await run_retrieve(
            session, resource=PRODUCT, rules=rules, row=product, params=params
        )
    }


async def _variant_or_404(
    session: AsyncSession, product_id: str, variant_id: str
) -> ProductVariant:
    await get_or_404(session, Product, "Product", product_id)
    return await get_or_404(
        session, ProductVariant, "Variant", variant_id, ProductVariant.product_id == product_id
    )


@admin_router.get("", operation_id="AdminListProducts", openapi_extra=list_operation(PRODUCT_LIST))
async def list_products(session: Session, params: Query) -> dict:
    return await run_list(session, PRODUCT_LIST, params)


@admin_router.post(
    "",
    operation_id="AdminCreateProduct",
    openapi_extra=render_operation(PRODUCT, PRODUCT_FIELDS, errors=(422,)),
)
async def create_product(body: CreateProduct, session: Session, uow: UoW, params: Query) -> dict:
    """Create a product of one seller, with variants, prices and stock."""
    data = body.model_dump()
    return await _render(session, await service.create_product(uow, **data), params)


@admin_router.get(
    "/{product_id}",
    operation_id="AdminGetProduct",
    openapi_extra=render_operation(PRODUCT, PRODUCT_FIELDS),
)
async def get_product(product_id: str, session: Session, params: Query) -> dict:
    return await _render(
        session, await find_or_404(session, Product, "Product", product_id), params
    )


@admin_router.post(
    "/{product_id}",
    operation_id="AdminUpdateProduct",
    openapi_extra=render_operation(PRODUCT, PRODUCT_FIELDS, errors=(422,)),
)
async def update_product(
    product_id: str, body: UpdateProduct, session: Session, uow: UoW, params: Query
) -> dict:
    changes = body.model_dump(exclude_unset=True)
    product = await service.update_product(uow, product_id=product_id, changes=changes)
    return await _render(session, product, params)


@admin_router.delete(
    "/{product_id}", operation_id="AdminDeleteProduct", openapi_extra=delete_operation()
)
async def delete_product(product_id: str, uow: UoW) -> dict:
    await service.delete_product(uow, product_id=product_id)
    return deleted(product_id, "product")


@admin_router.post(
    "/{product_id}/variants",
    operation_id="AdminCreateProductVariant",
    openapi_extra=render_operation(PRODUCT, PRODUCT_FIELDS, errors=(422,)),
)
async def create_variant(
    product_id: str, body: CreateVariant, session: Session, uow: UoW, params: Query
) -> dict:
    product = await service.add_variant(uow, product_id=product_id, data=body.model_dump())
    return await _render(session, product, params)


@admin_router.get(
    "/{product_id}/variants/{variant_id}",
    operation_id="AdminGetProductVariant",
    openapi_extra=render_operation(VARIANT, VARIANT_FIELDS),
)
async def get_variant(product_id: str, variant_id: str, session: Session, params: Query) -> dict:
    variant = await _variant_or_404(session, product_id, variant_id)
    return {
        "variant": await run_retrieve(
            session, resource=VARIANT, rules=VARIANT_FIELDS, row=variant, params=params
        )
    }


@admin_router.post(
    "/{product_id}/variants/{variant_id}",
    operation_id="AdminUpdateProductVariant",
    openapi_extra=render_operation(PRODUCT, PRODUCT_FIELDS, errors=(422,)),
)
async def update_variant(
    product_id: str,
    variant_id: str,
    body: UpdateVariant,
    session: Session,
    uow: UoW,
    params: Query,
) -> dict:
    """Update a variant's price, stock or flags; returns the product."""
    product = await service.update_variant(
        uow,
        product_id=product_id,
        variant_id=variant_id,
        changes=body.model_dump(exclude_unset=True),
    )
    return await _render(session, product, params)


@admin_router.delete(
    "/{product_id}/variants/{variant_id}",
    operation_id="AdminDeleteProductVariant",
    openapi_extra=delete_operation(parent=envelope({"id": {"type": "string"}})),
)
async def delete_variant(product_id: str, variant_id: str, uow: UoW) -> dict:
    await service.delete_variant(uow, product_id=product_id, variant_id=variant_id)
    return deleted(variant_id, "variant", parent={"id": product_id})


@store_router.get(
    "", operation_id="StoreListProducts", openapi_extra=list_operation(STORE_PRODUCT_LIST)
)
async def store_list_products(session: Session, ctx: Store, params: Query) -> dict:
    return await run_list(session, STORE_PRODUCT_LIST, params, bind=store_scope_values(ctx))


@store_router.get(
    "/{product_id}",
    operation_id="StoreGetProduct",
    openapi_extra=render_operation(PRODUCT, STORE_PRODUCT_FIELDS),
)
async def store_get_product(product_id: str, session: Session, ctx: Store, params: Query) -> dict:
    product = await find_or_404(
        session, Product, "Product", product_id, scope=STORE_SCOPE, bind=store_scope_values(ctx)
    )
    return await _render(session, product, params, STORE_PRODUCT_FIELDS)
