"""Imports every feature's tables so ``Base.metadata`` is complete (Alembic, tests)."""

from mercato.api_keys.models import ApiKey, ApiKeySalesChannel
from mercato.auth.models import AuthIdentity
from mercato.carts.models import (
    Cart,
    CartLineItem,
    CartLineItemAdjustment,
    CartPromotion,
    CartShippingMethod,
    CartShippingMethodAdjustment,
)
from mercato.customers.models import Customer, CustomerGroup, CustomerGroupCustomer
from mercato.db.base import Base
from mercato.draft_orders.models import DraftOrder, DraftOrderItem, DraftOrderShippingMethod
from mercato.events.models import (
    EventConsumption,
    EventDeadLetter,
    EventDelivery,
    MercatoProcess,
    OutboxEvent,
)
from mercato.idempotency.models import IdempotencyRecord
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
from mercato.orders.models import (
    Fulfillment,
    FulfillmentItem,
    FulfillmentLabel,
    Order,
    OrderGroup,
    OrderGroupOrder,
    OrderLineItem,
    OrderLineItemAdjustment,
    OrderPaymentCollection,
    OrderPromotion,
    OrderShippingMethod,
    OrderShippingMethodAdjustment,
    OrderTransaction,
    ReservationItem,
    SellerCustomer,
)
from mercato.payments.models import (
    Capture,
    Payment,
    PaymentCollection,
    PaymentSession,
    ProviderCall,
    Refund,
)
from mercato.products.models import (
    InventoryLevel,
    Price,
    Product,
    ProductSalesChannel,
    ProductVariant,
)
from mercato.promotions.models import (
    Promotion,
    PromotionApplicationMethod,
    PromotionCampaign,
    PromotionCampaignBudget,
    PromotionRule,
    PromotionUsage,
)
from mercato.regions.models import Region
from mercato.return_reasons.models import ReturnReason
from mercato.sales_channels.models import SalesChannel
from mercato.sellers.models import Seller, SellerMember, StockLocation
from mercato.shipping_options.models import ShippingOption
from mercato.stores.models import Store, StoreCurrency
from mercato.users.models import User
from mercato.webhooks.models import Webhook, WebhookAttempt, WebhookDelivery
from mercato.workflows.models import WorkflowRun

__all__ = [
    "EventConsumption",
    "EventDeadLetter",
    "EventDelivery",
    "MercatoProcess",
    "Webhook",
    "WebhookAttempt",
    "WebhookDelivery",
    "CartLineItemAdjustment",
    "CartPromotion",
    "CartShippingMethodAdjustment",
    "CustomerGroup",
    "CustomerGroupCustomer",
    "OrderLineItemAdjustment",
    "OrderPromotion",
    "OrderShippingMethodAdjustment",
    "Promotion",
    "PromotionApplicationMethod",
    "PromotionCampaign",
    "PromotionCampaignBudget",
    "PromotionRule",
    "PromotionUsage",
    "Fulfillment",
    "FulfillmentItem",
    "FulfillmentLabel",
    "IdempotencyRecord",
    "Cart",
    "CartLineItem",
    "CartShippingMethod",
    "DraftOrder",
    "DraftOrderItem",
    "DraftOrderShippingMethod",
    "OutboxEvent",
    "OrderChange",
    "OrderChangeAction",
    "OrderClaim",
    "OrderClaimItem",
    "OrderCreditLine",
    "OrderExchange",
    "OrderExchangeItem",
    "OrderReturn",
    "ReturnItem",
    "OrderGroup",
    "OrderGroupOrder",
    "Order",
    "OrderLineItem",
    "OrderPaymentCollection",
    "OrderShippingMethod",
    "ReservationItem",
    "SellerCustomer",
    "OrderTransaction",
    "Capture",
    "Refund",
    "Payment",
    "PaymentCollection",
    "PaymentSession",
    "ProviderCall",
    "ApiKey",
    "ApiKeySalesChannel",
    "AuthIdentity",
    "Base",
    "WorkflowRun",
    "Customer",
    "InventoryLevel",
    "Price",
    "Product",
    "ProductSalesChannel",
    "ProductVariant",
    "Region",
    "ReturnReason",
    "SalesChannel",
    "Seller",
    "SellerMember",
    "ShippingOption",
    "StockLocation",
    "Store",
    "StoreCurrency",
    "User",
]
