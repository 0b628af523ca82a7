"""Imports every feature's tables so ``Base.metadata`` is complete (Alembic, tests)."""

from mercato.api_keys.models import ApiKey, ApiKeySalesChannel
from mercato.auth.models import AuthIdentity
from mercato.customers.models import Customer
from mercato.db.base import Base
from mercato.products.models import (
    InventoryLevel,
    Price,
    Product,
    ProductSalesChannel,
    ProductVariant,
)
from mercato.regions.models import Region
from mercato.sales_channels.models import SalesChannel
from mercato.sellers.models import Seller, SellerMember, StockLocation
from mercato.shipping_options.models import ShippingOption
from mercato.users.models import User

__all__ = [
    "ApiKey",
    "ApiKeySalesChannel",
    "AuthIdentity",
    "Base",
    "Customer",
    "InventoryLevel",
    "Price",
    "Product",
    "ProductSalesChannel",
    "ProductVariant",
    "Region",
    "SalesChannel",
    "Seller",
    "SellerMember",
    "ShippingOption",
    "StockLocation",
    "User",
]
