"""``mercato seed --demo``: a small marketplace to try the API with (idempotent)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select

from mercato.api_keys.models import ApiKey
from mercato.api_keys.service import create_api_key, manage_sales_channels
from mercato.auth.service import add_identity
from mercato.customers.models import Customer
from mercato.payments.providers import available_provider_ids
from mercato.products.service import create_product
from mercato.regions.models import Region
from mercato.regions.service import create_region
from mercato.return_reasons.service import create_return_reason
from mercato.sales_channels.service import create_sales_channel
from mercato.sellers.models import Seller
from mercato.sellers.service import add_member, create_seller
from mercato.shipping_options.service import create_shipping_option
from mercato.stores.service import set_demo_defaults
from mercato.unit_of_work import UnitOfWork
from mercato.users.service import create_user

ADMIN_EMAIL = "admin@mercato.test"
CUSTOMER_EMAIL = "shopper@mercato.test"
PASSWORD = "supersecret"
KEY_TITLE = "Demo storefront"

# (value, label, children): reasons a returned item can carry; ``quality`` is a heading only.
RETURN_REASONS = [
    ("wrong_size", "Wrong size", []),
    ("damaged", "Arrived damaged", []),
    (
        "quality",
        "Quality issue",
        [("defective", "Defective"), ("not_as_described", "Not as described")],
    ),
]

SELLERS = [
    ("Nordic Knits", [("Wool Beanie", "BEANIE", "24.90"), ("Alpaca Scarf", "SCARF", "59.00")]),
    ("Copper Kitchen", [("Chef Knife", "KNIFE", "89.99"), ("Cast Iron Pan", "PAN", "45.50")]),
    ("Paper Trail", [("Dot Grid Notebook", "NOTEBOOK", "12.00"), ("Brass Pen", "PEN", "34.75")]),
]


@dataclass
class DemoMarketplace:
    created: bool
    publishable_key: str
    region_id: str
    payment_providers: list[str]
    seller_handles: list[str]


async def seed_demo(uow: UnitOfWork) -> DemoMarketplace:
    """Create the demo marketplace once; on later runs, report the existing one. Each step is
    its own command (its own unit of work, from ``uow.fresh()``), as the API would run it."""
    async with uow:
        existing_key = await uow.session.scalar(
            select(ApiKey).where(ApiKey.title == KEY_TITLE, ApiKey.revoked_at.is_(None))
        )
        if existing_key is not None:
            session = uow.session
            region = await session.scalar(select(Region).where(Region.name == "United States"))
            handles = list(await session.scalars(select(Seller.handle).order_by(Seller.created_at)))
            return DemoMarketplace(
                False,
                existing_key.token or "",
                region.id if region else "",
                list(region.payment_providers) if region else [],
                handles,
            )

    await create_user(
        uow.fresh(), email=ADMIN_EMAIL, password=PASSWORD, first_name="Ada", last_name="Admin"
    )
    region = await create_region(
        uow.fresh(),
        name="United States",
        currency_code="usd",
        countries=["us"],
        tax_rate=Decimal(10),
        tax_inclusive=False,
        payment_providers=available_provider_ids(),  # pp_test only when it is enabled
        metadata=None,
    )
    channel = await create_sales_channel(
        uow.fresh(),
        name="Default Sales Channel",
        description=None,
        is_disabled=False,
        metadata=None,
    )
    key, token = await create_api_key(
        uow.fresh(), title=KEY_TITLE, type="publishable", created_by=None
    )
    await manage_sales_channels(uow.fresh(), key_id=key.id, add=[channel.id], remove=[])
    await set_demo_defaults(uow.fresh(), region_id=region.id, sales_channel_id=channel.id)

    handles = []
    for name, products in SELLERS:
        seller = await create_seller(
            uow.fresh(), name=name, email=f"hello@{name.lower().replace(' ', '')}.test"
        )
        handles.append(seller.handle)
        await add_member(
            uow.fresh(),
            seller_id=seller.id,
            email=f"owner@{seller.handle}.test",
            password=PASSWORD,
            name=f"{name} owner",
        )
        await create_shipping_option(
            uow.fresh(),
            name=f"{name} standard shipping",
            seller_id=seller.id,
            region_id=region.id,
            currency_code=None,
            amount=Decimal("4.99"),
            data=None,
            metadata=None,
        )
        await create_shipping_option(
            uow.fresh(),
            name=f"{name} return shipping",
            seller_id=seller.id,
            region_id=region.id,
            currency_code=None,
            amount=Decimal("3.00"),
            is_return=True,
            data=None,
            metadata=None,
        )
        for title, sku, price in products:
            await create_product(
                uow.fresh(),
                title=title,
                seller_id=seller.id,
                handle=None,
                description=f"{title} from {name}",
                thumbnail=None,
                status="published",
                metadata=None,
                sales_channels=[{"id": channel.id}],
                variants=[
                    {
                        "title": "Default",
                        "sku": f"{seller.handle.upper()}-{sku}",
                        "prices": [{"amount": Decimal(price), "currency_code": "usd"}],
                        "manage_inventory": True,
                        "allow_backorder": False,
                        "inventory_quantity": 100,
                        "requires_shipping": True,
                        "metadata": None,
                    }
                ],
            )

    for value, label, children in RETURN_REASONS:
        reason = await create_return_reason(
            uow.fresh(),
            value=value,
            label=label,
            description=None,
            parent_return_reason_id=None,
            metadata=None,
        )
        for child_value, child_label in children:
            await create_return_reason(
                uow.fresh(),
                value=child_value,
                label=child_label,
                description=None,
                parent_return_reason_id=reason.id,
                metadata=None,
            )

    async with (last := uow.fresh()):
        customer = Customer(
            email=CUSTOMER_EMAIL, first_name="Sam", last_name="Shopper", has_account=True
        )
        last.session.add(customer)
        await last.session.flush()
        await add_identity(
            last.session,
            actor_type="customer",
            email=CUSTOMER_EMAIL,
            password=PASSWORD,
            actor_id=customer.id,
        )
        await last.commit()
    return DemoMarketplace(True, token, region.id, list(region.payment_providers), handles)


def print_demo(demo: DemoMarketplace) -> None:
    state = (
        "Created the demo marketplace" if demo.created else "The demo marketplace is already seeded"
    )
    print(
        f"""{state}.

  Admin user       {ADMIN_EMAIL} / {PASSWORD}      (POST /auth/user/emailpass)
  Customer         {CUSTOMER_EMAIL} / {PASSWORD}    (POST /auth/customer/emailpass)
  Seller members   owner@<seller-handle>.test / {PASSWORD}  (POST /auth/seller/emailpass)
                   sellers: {", ".join(demo.seller_handles)}
  Region           {demo.region_id} (USD, 10 % tax; payment: {", ".join(demo.payment_providers)})
  Publishable key  {demo.publishable_key}
                   send it as the x-publishable-api-key header on every /store request

Try it (once the server runs on http://127.0.0.1:9000):
  curl -s -H 'x-publishable-api-key: {demo.publishable_key}' http://127.0.0.1:9000/store/products
  TOKEN=$(curl -s -X POST http://127.0.0.1:9000/auth/user/emailpass -H 'content-type: application/json' \\
          -d '{{"email":"{ADMIN_EMAIL}","password":"{PASSWORD}"}}' | python3 -c 'import sys,json;print(json.load(sys.stdin)["token"])')
  curl -s -H "Authorization: Bearer $TOKEN" http://127.0.0.1:9000/admin/sellers
  OpenAPI docs: http://127.0.0.1:9000/docs
  A whole three-seller checkout: .venv/bin/mercato demo checkout
  More in README.md, "A short tour".
"""
    )
