"""``python -m benchmarks seed``: a marketplace-scale dataset, loaded with COPY (never the HTTP API).

Rows are generated in Python with a seeded RNG and streamed with asyncpg's binary COPY
(``copy_records_to_table``), a chunk of groups at a time. Each group is built by the application's
own order-group aggregate (``domain.order_group``): placed from its orders, then captured,
fulfilled, shipped, delivered, completed or canceled through the aggregate's operations, so its
money, statuses, captures and derived group fields are exactly what the app would store.

Shape (defaults): 200 sellers (stock location, shipping option, member), 5,000 products (one
variant, a USD price, an inventory level), 50,000 customers (a fifth are guests without an
account), one region (USD, 10 % tax), one sales channel with a publishable key, an admin user,
and N order groups spread over two years: 1–5 seller orders each (mean ≈ 3), 1–4 lines per order,
a completed cart, a payment collection (session, payment, per-order links carrying each order's
total), with a mix of states — pending/authorized, captured (captures + order transactions, some
orders shipped), completed and delivered (fulfilments), canceled (voided). A few customers have
20 groups each (the store case of the benchmark).

Some shipped or delivered orders have returns (``RETURN_SHARE``), made by the returns rules of
``domain.returns`` on the same aggregate (begin, request items, a return shipping method for
most, request; most of them received): the returns, their items, the order changes and their
actions, the return shipping methods and the orders' summaries, versions and statuses are those
the admin routes would store. Returns draw from a random stream of their own, so the rest of the
dataset is the same as without them.
"""

from __future__ import annotations

import base64
import contextlib
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

import asyncpg

from mercato.api_keys.tokens import digest, new_token, redact
from mercato.domain import order_changes as chg
from mercato.domain import order_group as dom
from mercato.domain import returns as ret_rules
from mercato.domain.payments import PP_SYSTEM_DEFAULT
from mercato.domain.totals import LineTotals, document_totals, line_totals, shipping_totals

ADMIN_EMAIL = "admin@bench.mercato.test"
PASSWORD = "benchpassword"
KEY_TITLE = "Bench storefront"
CURRENCY = "usd"
TAX_RATE = Decimal(10)
PROVIDER = PP_SYSTEM_DEFAULT
STOCK = 1_000_000
# Statuses the rows start from (the aggregate moves them on).
ORDER_PENDING = "pending"
COLLECTION_NOT_PAID = "not_paid"
SESSION_AUTHORIZED = "authorized"
HEAVY_GROUPS = 20  # groups of each "heavy" customer (the store list case)
# Shipped or delivered orders with a return; of those, the share with a second return, with a
# return shipping method, and received (the others are in transit: requested).
RETURN_SHARE = 0.15
SECOND_RETURN_SHARE = 0.25
RETURN_SHIPPING_SHARE = 0.7
RETURN_RECEIVED_SHARE = 0.6

FIRST_NAMES = (
    "Ada Alan Grace Linus Barbara Ken Margaret Dennis Frances Edsger Radia John Hedy Tim Sophie "
    "Guido Anita Donald Katherine Niklaus"
).split()
LAST_NAMES = (
    "Lovelace Turing Hopper Torvalds Liskov Thompson Hamilton Ritchie Allen Dijkstra Perlman "
    "McCarthy Lamarr Berners Wilson Rossum Borg Knuth Johnson Wirth"
).split()

# --------------------------------------------------------------------------- ids


_CROCKFORD = bytes.maketrans(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", b"0123456789ABCDEFGHJKMNPQRSTVWXYZ"
)


class Ids:
    """``<prefix>_<ULID>`` ids (as :func:`mercato.db.base.new_id`) whose time part is the row's
    ``created_at``; deterministic for a seeded RNG, and cheap enough for millions of rows
    (no clock read or ``ULID`` object per id)."""

    def __init__(self, rng: random.Random) -> None:
        self._bits = rng.getrandbits

    def __call__(self, prefix: str, at: datetime) -> str:
        value = (int(at.timestamp() * 1000) << 80) | self._bits(80)
        return f"{prefix}_{base64.b32encode(value.to_bytes(20, 'big')).translate(_CROCKFORD)[6:].decode()}"


# --------------------------------------------------------------------------- money and statuses


@lru_cache(maxsize=65536)
def _line(unit_price: int, quantity: int) -> LineTotals:
    return line_totals(unit_price, quantity, TAX_RATE, False)


@lru_cache(maxsize=4096)
def _shipping(amount: int) -> LineTotals:
    return shipping_totals(amount, TAX_RATE, False)


# --------------------------------------------------------------------------- columns

COLUMNS: dict[str, list[str]] = {
    "region": (
        "id name currency_code countries tax_rate tax_inclusive payment_providers created_at "
        "updated_at"
    ).split(),
    "sales_channel": "id name description is_disabled created_at updated_at".split(),
    "api_key": "id title type token_digest token redacted created_at updated_at".split(),
    "api_key_sales_channel": "api_key_id sales_channel_id".split(),
    "user": "id email first_name last_name created_at updated_at".split(),
    "auth_identity": "id actor_type email password_hash actor_id created_at".split(),
    "seller": "id name handle email description status created_at updated_at".split(),
    "seller_member": "id seller_id email name role created_at updated_at".split(),
    "stock_location": "id name seller_id created_at updated_at".split(),
    "shipping_option": (
        "id name seller_id region_id currency_code amount is_return created_at updated_at".split()
    ),
    "product": (
        "id title handle description thumbnail status seller_id created_at updated_at".split()
    ),
    "product_sales_channel": "product_id sales_channel_id".split(),
    "product_variant": (
        "id product_id title sku manage_inventory allow_backorder requires_shipping rank "
        "created_at updated_at"
    ).split(),
    "price": "id variant_id currency_code amount".split(),
    "inventory_level": (
        "id variant_id location_id stocked_quantity reserved_quantity created_at updated_at".split()
    ),
    "customer": ("id email first_name last_name phone has_account created_at updated_at".split()),
    "cart": (
        "id region_id currency_code sales_channel_id customer_id email shipping_address "
        "completed_at created_at updated_at"
    ).split(),
    "order": (
        "id display_id status payment_status fulfillment_status seller_id customer_id email "
        "region_id sales_channel_id currency_code cart_id shipping_address no_notification "
        "canceled_at item_total item_subtotal item_tax_total shipping_total shipping_subtotal "
        "shipping_tax_total subtotal tax_total discount_total discount_subtotal "
        "discount_tax_total original_item_total original_shipping_total total created_at "
        "updated_at lifecycle_status summary version"
    ).split(),
    "order_credit_line": (
        "id order_id currency_code amount reference reference_id created_at updated_at".split()
    ),
    "order_line_item": (
        "id order_id variant_id product_id title thumbnail product_title product_handle "
        "variant_title variant_sku currency_code quantity unit_price requires_shipping "
        "is_tax_inclusive subtotal tax_total total fulfilled_quantity shipped_quantity "
        "delivered_quantity created_at updated_at return_requested_quantity "
        "return_received_quantity return_dismissed_quantity written_off_quantity "
        "deducted_quantity deducted_amount"
    ).split(),
    "order_shipping_method": (
        "id order_id shipping_option_id seller_id currency_code name amount is_tax_inclusive "
        "subtotal tax_total total created_at updated_at return_id"
    ).split(),
    # ``display_id`` is left to the identity: COPY takes it in load order (creation order).
    "order_return": (
        "id order_id seller_id order_version status location_id no_notification currency_code "
        "refund_amount created_by requested_at received_at canceled_at created_at updated_at"
    ).split(),
    "return_item": (
        "id return_id item_id quantity received_quantity damaged_quantity deducted_amount "
        "reason_id note created_at updated_at"
    ).split(),
    "order_change": (
        "id order_id return_id version change_type status description internal_note created_by "
        "requested_by requested_at confirmed_by confirmed_at canceled_by canceled_at created_at "
        "updated_at"
    ).split(),
    "order_change_action": (
        "id order_change_id order_id return_id version ordering action reference reference_id "
        "details currency_code amount internal_note applied created_at updated_at"
    ).split(),
    "payment_collection": (
        "id cart_id currency_code amount authorized_amount captured_amount refunded_amount "
        "status completed_at created_at updated_at"
    ).split(),
    "payment_session": (
        "id payment_collection_id provider_id currency_code amount status created_at updated_at"
    ).split(),
    "payment": (
        "id payment_collection_id payment_session_id provider_id currency_code amount "
        "captured_at canceled_at created_at updated_at"
    ).split(),
    "order_payment_collection": "order_id payment_collection_id amount".split(),
    "capture": "id payment_id order_id amount created_at".split(),
    "order_transaction": (
        "id order_id amount currency_code reference reference_id created_at".split()
    ),
    "fulfillment": (
        "id order_id location_id packed_at shipped_at delivered_at no_notification created_at "
        "updated_at"
    ).split(),
    "fulfillment_item": "id fulfillment_id line_item_id quantity".split(),
    "order_group": (
        "id display_id customer_id cart_id sales_channel_id currency_code seller_count seller_ids "
        "total status payment_status fulfillment_status created_at updated_at"
    ).split(),
    "order_group_order": "order_group_id order_id seller_id group_created_at".split(),
}

# FK order: a chunk's tables are copied in this order.
GROUP_TABLES = (
    "cart",
    "order",
    "order_line_item",
    "order_shipping_method",
    "payment_collection",
    "payment_session",
    "payment",
    "order_payment_collection",
    "capture",
    "order_transaction",
    "order_credit_line",
    "order_return",
    "return_item",
    "order_change",
    "order_change_action",
    "fulfillment",
    "fulfillment_item",
    "order_group",
    "order_group_order",
)


# --------------------------------------------------------------------------- the catalogue


@dataclass
class SeedConfig:
    groups: int
    sellers: int = 200
    products: int = 5000
    customers: int = 50_000
    seed: int = 42
    chunk: int = 5000  # groups per COPY batch
    years: float = 2.0


@dataclass
class Catalogue:
    region_id: str
    channel_id: str
    publishable_key: str
    sellers: list[str]
    locations: list[str]
    options: list[tuple[str, str, int]]  # per seller: (id, name, amount)
    return_options: list[tuple[str, str, int]]  # per seller: (id, name, amount), is_return
    products: list[list[tuple]]  # per seller: (variant, product, title, handle, sku, price)
    customers: list[tuple[str, str]]  # (id, email)
    heavy: list[int] = field(default_factory=list)  # customer indexes with HEAVY_GROUPS groups


@dataclass
class SeedResult:
    groups: int
    orders: int
    lines: int
    rows: int
    seconds: float
    timings: dict[str, float]
    publishable_key: str


def _setup_rows(
    cfg: SeedConfig, rng: random.Random, ids: Ids, now: datetime, password_hash: str
) -> tuple[dict[str, list[tuple]], Catalogue]:
    start = now - timedelta(days=365 * cfg.years + 30)
    rows: dict[str, list[tuple]] = {name: [] for name in COLUMNS}
    region_id = ids("reg", start)
    rows["region"].append(
        (
            region_id,
            "United States",
            CURRENCY,
            ["us"],
            TAX_RATE,
            False,
            [PROVIDER],
            start,
            start,
        )
    )
    channel_id = ids("sc", start)
    rows["sales_channel"].append((channel_id, "Default Sales Channel", None, False, start, start))
    token = new_token("publishable")
    key_id = ids("apk", start)
    rows["api_key"].append(
        (key_id, KEY_TITLE, "publishable", digest(token), token, redact(token), start, start)
    )
    rows["api_key_sales_channel"].append((key_id, channel_id))
    user_id = ids("user", start)
    rows["user"].append((user_id, ADMIN_EMAIL, "Bench", "Admin", start, start))
    rows["auth_identity"].append(
        (ids("authid", start), "user", ADMIN_EMAIL, password_hash, user_id, start)
    )

    sellers, locations, options = [], [], []
    for s in range(cfg.sellers):
        handle = f"seller-{s:04d}"
        seller_id = ids("sel", start)
        sellers.append(seller_id)
        rows["seller"].append(
            (
                seller_id,
                f"Seller {s:04d}",
                handle,
                f"hello@{handle}.bench.test",
                None,
                "active",
                start,
                start,
            )
        )
        member_email = f"owner@{handle}.bench.test"
        member_id = ids("mem", start)
        rows["seller_member"].append(
            (member_id, seller_id, member_email, f"Owner {s:04d}", "owner", start, start)
        )
        rows["auth_identity"].append(
            (ids("authid", start), "seller", member_email, password_hash, member_id, start)
        )
        location_id = ids("sloc", start)
        locations.append(location_id)
        rows["stock_location"].append((location_id, f"{handle} warehouse", seller_id, start, start))
        option = (ids("so", start), f"Seller {s:04d} standard shipping", rng.randrange(299, 1000))
        options.append(option)
        rows["shipping_option"].append(
            (option[0], option[1], seller_id, region_id, CURRENCY, option[2], False, start, start)
        )

    products: list[list[tuple]] = [[] for _ in sellers]
    for p in range(cfg.products):
        s = p % cfg.sellers
        product_id, variant_id = ids("prod", start), ids("variant", start)
        title, handle, sku = f"Product {p:05d}", f"product-{p:05d}", f"SKU-{p:05d}"
        price = rng.randrange(500, 20_000)
        thumbnail = f"https://cdn.bench.test/{handle}.jpg"
        products[s].append((variant_id, product_id, title, handle, sku, price, thumbnail))
        rows["product"].append(
            (product_id, title, handle, None, thumbnail, "published", sellers[s], start, start)
        )
        rows["product_sales_channel"].append((product_id, channel_id))
        rows["product_variant"].append(
            (variant_id, product_id, "Default", sku, True, False, True, 0, start, start)
        )
        rows["price"].append((ids("price", start), variant_id, CURRENCY, price))
        rows["inventory_level"].append(
            (ids("ilev", start), variant_id, locations[s], STOCK, 0, start, start)
        )

    customers = []
    for c in range(cfg.customers):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = f"{first.lower()}.{last.lower()}.{c:05d}@bench.test"
        customer_id = ids("cus", start)
        customers.append((customer_id, email))
        has_account = c % 5 != 4  # a fifth are guest customers
        rows["customer"].append((customer_id, email, first, last, None, has_account, start, start))
    catalogue = Catalogue(
        region_id, channel_id, token, sellers, locations, options, [], products, customers
    )
    # Customers with HEAVY_GROUPS groups each; they can log in (the store list case).
    heavy_count = max(1, min(50, cfg.groups // 200))
    catalogue.heavy = [c for c in range(0, cfg.customers, 5)][:heavy_count]
    for c in catalogue.heavy:
        customer_id, email = customers[c]
        rows["auth_identity"].append(
            (ids("authid", start), "customer", email, password_hash, customer_id, start)
        )
    # Return options last, so every row above is the same as without them.
    for s, seller_id in enumerate(sellers):
        option = (ids("so", start), f"Seller {s:04d} returns", rng.randrange(199, 700))
        catalogue.return_options.append(option)
        rows["shipping_option"].append(
            (option[0], option[1], seller_id, region_id, CURRENCY, option[2], True, start, start)
        )
    return rows, catalogue


# --------------------------------------------------------------------------- groups

# Group scenario → weight. Within a group the orders may differ (partial captures, shipments,
# one canceled sibling), which yields the partially_* aggregates too.
SCENARIOS = (("pending", 50), ("captured", 20), ("completed", 20), ("canceled", 10))
ORDERS_PER_GROUP = ((1, 10), (2, 25), (3, 30), (4, 20), (5, 15))  # mean 3.05
LINES_PER_ORDER = ((1, 35), (2, 35), (3, 20), (4, 10))
QUANTITIES = ((1, 70), (2, 20), (3, 10))


def _weighted(pairs: tuple[tuple[Any, int], ...]) -> tuple[list[Any], list[int]]:
    values, weights = zip(*pairs, strict=True)
    cum, total = [], 0
    for w in weights:
        total += w
        cum.append(total)
    return list(values), cum


class GroupWriter:
    """Generates the rows of order groups ``[first, last)`` (deterministic per group index)."""

    def __init__(self, cfg: SeedConfig, cat: Catalogue, now: datetime) -> None:
        self.cfg, self.cat, self.now = cfg, cat, now
        span = timedelta(days=365 * cfg.years).total_seconds()
        rng = random.Random(cfg.seed * 7919 + 1)
        # Sorted creation times: display ids rise with time, as in production.
        self.created = sorted(
            now - timedelta(seconds=rng.random() * span) for _ in range(cfg.groups)
        )
        # Who placed each group: heavy customers get HEAVY_GROUPS each, 15 % pure guests (no
        # customer), the rest random customers.
        owners: list[int | None] = []
        for c in cat.heavy:
            owners.extend([c] * min(HEAVY_GROUPS, max(1, cfg.groups // (2 * len(cat.heavy)))))
        heavy = set(cat.heavy)
        others = [c for c in range(len(cat.customers)) if c not in heavy]
        while len(owners) < cfg.groups:
            owners.append(None if rng.random() < 0.15 else rng.choice(others))
        owners = owners[: cfg.groups]
        rng.shuffle(owners)
        self.owners = owners

    def rows(self, first: int, last: int) -> dict[str, list[tuple]]:
        out: dict[str, list[tuple]] = {name: [] for name in GROUP_TABLES}
        for g in range(first, last):
            self._group(g, out)
        return out

    def _group(self, g: int, out: dict[str, list[tuple]]) -> None:  # noqa: C901 - one recipe
        cfg, cat = self.cfg, self.cat
        rng = random.Random(cfg.seed * 1_000_003 + g)
        ids = Ids(rng)
        created = self.created[g]
        owner = self.owners[g]
        if owner is None:
            customer_id, email = None, f"guest.{g:07d}@bench.test"
        else:
            customer_id, email = cat.customers[owner]
        address = json.dumps(
            {
                "first_name": email.split(".")[0].title(),
                "address_1": f"{g % 997} Main Street",
                "city": "Springfield",
                "postal_code": f"{10000 + g % 89999}",
                "country_code": "us",
            }
        )
        scenario = _pick(rng, *_SCENARIO_PICK)
        seller_indexes = rng.sample(range(len(cat.sellers)), _pick(rng, *_ORDERS_PICK))
        order_count = len(seller_indexes)
        # Later states happen some days after the order was placed (never in the future).
        later = min(created + timedelta(days=rng.uniform(1, 10)), self.now)

        cart_id = ids("cart", created - timedelta(minutes=5))
        out["cart"].append(
            (
                cart_id,
                cat.region_id,
                CURRENCY,
                cat.channel_id,
                customer_id,
                email,
                address,
                created,
                created - timedelta(minutes=5),
                created,
            )
        )

        # Per-order fate: canceled groups may keep some orders alive; captured groups may leave
        # some orders uncaptured and ship some.
        fates: list[str] = []
        for i in range(order_count):
            if scenario == "canceled":
                fate = (
                    "canceled" if (i == 0 or order_count < 3 or rng.random() < 0.7) else "pending"
                )
            elif scenario == "captured":
                fate = "captured" if (i == 0 or rng.random() < 0.85) else "pending"
                if fate == "captured" and rng.random() < 0.5:
                    fate = "shipped"
            else:
                fate = scenario
            fates.append(fate)

        collection_id = ids("pay_col", created)
        payment_id = ids("pay", created)
        session_id = ids("payses", created)
        orders: list[dom.Order] = []
        line_rows: dict[str, tuple] = {}
        for s_index in seller_indexes:
            order_id = ids("order", created)
            domain_lines, line_totals_list = [], []
            for variant_id, product_id, title, handle, sku, price, thumbnail in rng.sample(
                cat.products[s_index], _pick(rng, *_LINES_PICK)
            ):
                quantity = _pick(rng, *_QUANTITY_PICK)
                lt = _line(price, quantity)
                line_totals_list.append(lt)
                line_id = ids("ordli", created)
                domain_lines.append(
                    dom.Line(
                        line_id,
                        quantity,
                        price,
                        lt.subtotal,
                        lt.tax_total,
                        lt.total,
                        variant_id=variant_id,
                        product_id=product_id,
                    )
                )
                line_rows[line_id] = (
                    order_id,
                    variant_id,
                    product_id,
                    title,
                    thumbnail,
                    handle,
                    sku,
                )
            option_id, option_name, option_amount = cat.options[s_index]
            st = _shipping(option_amount)
            orders.append(
                dom.Order(
                    id=order_id,
                    seller_id=cat.sellers[s_index],
                    currency_code=CURRENCY,
                    status=ORDER_PENDING,
                    totals=document_totals(line_totals_list, [st]),
                    location_id=cat.locations[s_index],
                    lines=domain_lines,
                    shipping_methods=[
                        dom.ShippingMethod(
                            ids("ordsm", created),
                            cat.sellers[s_index],
                            option_name,
                            option_amount,
                            st.subtotal,
                            st.tax_total,
                            st.total,
                            shipping_option_id=option_id,
                        )
                    ],
                )
            )
        group_total = sum(o.total for o in orders)
        at_placement = lambda prefix: ids(prefix, created)  # noqa: E731
        afterwards = lambda prefix: ids(prefix, later)  # noqa: E731
        # Checkout and every later state go through the order-group aggregate, as in the app.
        group = dom.OrderGroup.place(
            group_id=ids("og", created),
            cart_id=cart_id,
            customer_id=customer_id,
            sales_channel_id=cat.channel_id,
            currency_code=CURRENCY,
            orders=orders,
            collection=dom.Collection(collection_id, CURRENCY, group_total, COLLECTION_NOT_PAID),
            payment=dom.Payment(payment_id, collection_id, PROVIDER, group_total, session_id),
            captured=False,
            ids=at_placement,
            now=created,
        )
        for order, fate in zip(orders, fates, strict=True):
            if fate in ("captured", "shipped", "completed"):
                [capture] = group.request_capture(order.id, None)
                group.complete_capture(
                    capture,
                    capture_id=ids("capt", later),
                    idempotency_key=None,
                    created_by=None,
                    ids=afterwards,
                    now=later,
                )
            if fate in ("shipped", "completed"):
                packed = group.fulfil(
                    order.id,
                    [(line.id, line.quantity) for line in order.lines],
                    fulfillment_id=ids("ful", later),
                    now=later,
                )
                group.ship(order.id, packed.id, now=later)
                if fate == "completed":
                    group.deliver(order.id, packed.id, now=later)
                    group.complete(order.id, now=later)
            elif fate == "canceled":
                voids, refunds = group.request_cancel(order.id)
                assert not refunds  # nothing was captured
                group.complete_cancel(
                    order.id,
                    voids=voids,
                    refunds=(),
                    canceled_by=None,
                    ids=afterwards,
                    now=later,
                )
        # Returns of shipped and delivered orders, from a random stream of their own.
        returns_rng = random.Random(cfg.seed * 2_000_029 + g)
        for s_index, order, fate in zip(seller_indexes, orders, fates, strict=True):
            if fate in ("shipped", "completed") and returns_rng.random() < RETURN_SHARE:
                self._returns(group, order, cat.return_options[s_index], returns_rng, later)
        _write_group(
            out, group, line_rows, cart_id, email, address, g, created, afterwards, cat.region_id
        )

    def _returns(
        self,
        group: dom.OrderGroup,
        order: dom.Order,
        option: tuple[str, str, int],
        rng: random.Random,
        shipped: datetime,
    ) -> None:
        """One return of the order (two for some), through the returns rules as the admin
        routes apply them: begin, request items, a return shipping method, request; then, for
        most, begin receiving, receive every unit, confirm."""
        ids = Ids(rng)
        quote = ret_rules.ShippingQuote(
            option[0], order.seller_id, None, True, option[1], option[2], TAX_RATE, False
        )
        at = shipped
        for n in range(2):
            returnable = [
                (line, line.fulfilled_quantity - chg.units_in_returns(line)) for line in order.lines
            ]
            returnable = [(line, units) for line, units in returnable if units > 0]
            if not returnable or (n and rng.random() >= SECOND_RETURN_SHARE):
                return
            at = min(at + timedelta(days=rng.uniform(2, 20)), self.now)
            actor = ret_rules.Actor(None, at, _id_factory(ids, at))
            ret = ret_rules.begin_return(group, order.id, actor)
            chosen = rng.sample(returnable, rng.randint(1, len(returnable)))
            items = [
                ret_rules.RequestedItem(line.id, rng.randint(1, units)) for line, units in chosen
            ]
            ret_rules.request_items(group, ret.id, items, actor)
            if rng.random() < RETURN_SHIPPING_SHARE:
                ret_rules.add_return_shipping(group, ret.id, quote, actor)
            ret_rules.request_return(group, ret.id, actor)
            if rng.random() < RETURN_RECEIVED_SHARE:
                at = min(at + timedelta(days=rng.uniform(2, 10)), self.now)
                actor = ret_rules.Actor(None, at, _id_factory(ids, at))
                ret_rules.begin_receive(group, ret.id, actor)
                received = [(item.item_id, item.quantity, None) for item in ret.items]
                ret_rules.receive_items(group, ret.id, received, actor, damaged=False)
                ret_rules.confirm_receive(group, ret.id, actor)


def _id_factory(ids: Ids, at: datetime) -> Callable[[str], str]:
    """Ids whose time part is ``at``."""
    return lambda prefix: ids(prefix, at)


def _write_group(
    out: dict[str, list[tuple]],
    group: dom.OrderGroup,
    line_rows: dict[str, tuple],
    cart_id: str,
    email: str,
    address: str,
    g: int,
    created: datetime,
    new_id: Callable[[str], str],
    region_id: str,
) -> None:
    """The aggregate's state as COPY rows (column order: ``COLUMNS``)."""
    for order in group.orders:
        touched = order.updated_at or created
        for line in order.lines:
            order_id, variant_id, product_id, title, thumbnail, handle, sku = line_rows[line.id]
            out["order_line_item"].append(
                (
                    line.id,
                    order_id,
                    variant_id,
                    product_id,
                    title,
                    thumbnail,
                    title,
                    handle,
                    "Default",
                    sku,
                    CURRENCY,
                    line.quantity,
                    line.unit_price,
                    True,
                    False,
                    line.subtotal,
                    line.tax_total,
                    line.total,
                    line.fulfilled_quantity,
                    line.shipped_quantity,
                    line.delivered_quantity,
                    created,
                    touched if line.fulfilled_quantity else created,
                    line.return_requested_quantity,
                    line.return_received_quantity,
                    line.return_dismissed_quantity,
                    line.written_off_quantity,
                    line.deducted_quantity,
                    line.deducted_amount,
                )
            )
        for method in order.shipping_methods:
            out["order_shipping_method"].append(
                (
                    method.id,
                    order.id,
                    method.shipping_option_id,
                    method.seller_id,
                    CURRENCY,
                    method.name,
                    method.amount,
                    False,
                    method.subtotal,
                    method.tax_total,
                    method.total,
                    created,
                    created,
                    method.return_id,
                )
            )
        for f in order.fulfillments:
            out["fulfillment"].append(
                (
                    f.id,
                    order.id,
                    f.location_id,
                    f.packed_at,
                    f.shipped_at,
                    f.delivered_at,
                    f.no_notification,
                    f.packed_at,
                    f.updated_at,
                )
            )
            for line_id, quantity in f.items:
                out["fulfillment_item"].append((new_id("fulit"), f.id, line_id, quantity))
        totals = order.totals
        out["order"].append(
            (
                order.id,
                None,  # display id: assigned in a second pass (global order)
                order.shown_status,
                order.payment_status,
                order.fulfillment_status,
                order.seller_id,
                group.customer_id,
                email,
                region_id,
                group.sales_channel_id,
                CURRENCY,
                cart_id,
                address,
                False,
                order.canceled_at,
                totals.item_total,
                totals.item_subtotal,
                totals.item_tax_total,
                totals.shipping_total,
                totals.shipping_subtotal,
                totals.shipping_tax_total,
                totals.subtotal,
                totals.tax_total,
                totals.discount_total,
                totals.discount_subtotal,
                totals.discount_tax_total,
                totals.original_item_total,
                totals.original_shipping_total,
                totals.total,
                created,
                touched,
                order.status,
                json.dumps(order.summary.as_dict() if order.summary else {}),
                order.version,
            )
        )
        _write_changes(out, order)
        for credit_line in order.credit_lines:
            out["order_credit_line"].append(
                (
                    credit_line.id,
                    order.id,
                    CURRENCY,
                    credit_line.amount,
                    credit_line.reference,
                    credit_line.reference_id,
                    credit_line.created_at or touched,
                    credit_line.created_at or touched,
                )
            )
    for record in group.new_records:
        if isinstance(record, dom.Capture):
            out["capture"].append(
                (record.id, record.payment_id, record.order_id, record.amount, record.created_at)
            )
        elif isinstance(record, dom.Transaction):
            out["order_transaction"].append(
                (
                    record.id,
                    record.order_id,
                    record.amount,
                    record.currency_code,
                    record.reference,
                    record.reference_id,
                    record.created_at,
                )
            )
    collection, payment = group.collection, group.payment
    assert collection is not None and payment is not None
    out["payment_collection"].append(
        (
            collection.id,
            cart_id,
            CURRENCY,
            collection.amount,
            collection.authorized_amount,
            collection.captured_amount,
            collection.refunded_amount,
            collection.status,
            collection.completed_at,
            created,
            collection.updated_at or created,
        )
    )
    out["payment_session"].append(
        (
            payment.session_id,
            collection.id,
            PROVIDER,
            CURRENCY,
            payment.amount,
            SESSION_AUTHORIZED,
            created,
            created,
        )
    )
    out["payment"].append(
        (
            payment.id,
            collection.id,
            payment.session_id,
            PROVIDER,
            CURRENCY,
            payment.amount,
            payment.captured_at,
            payment.canceled_at,
            created,
            collection.updated_at or created,
        )
    )
    for order in group.orders:
        assert order.share is not None
        out["order_payment_collection"].append((order.id, collection.id, order.share.allocated))
    out["order_group"].append(
        (
            group.id,
            g + 1,
            group.customer_id,
            cart_id,
            group.sales_channel_id,
            CURRENCY,
            group.seller_count,
            group.seller_ids,
            group.total,
            group.status,
            group.payment_status,
            group.fulfillment_status,
            created,
            group.updated_at or created,
        )
    )
    for order in group.orders:
        out["order_group_order"].append((group.id, order.id, order.seller_id, created))


def _write_changes(out: dict[str, list[tuple]], order: dom.Order) -> None:
    """The order's returns, their items, its changes and their actions as COPY rows."""
    for ret in order.returns:
        if ret.deleted:
            continue
        out["order_return"].append(
            (
                ret.id,
                order.id,
                ret.seller_id,
                ret.order_version,
                ret.status,
                ret.location_id,
                ret.no_notification,
                CURRENCY,
                ret.refund_amount,
                ret.created_by,
                ret.requested_at,
                ret.received_at,
                ret.canceled_at,
                ret.created_at,
                ret.updated_at,
            )
        )
        for item in ret.items:
            out["return_item"].append(
                (
                    item.id,
                    ret.id,
                    item.item_id,
                    item.quantity,
                    item.received_quantity,
                    item.damaged_quantity,
                    item.deducted,
                    item.reason_id,
                    item.note,
                    ret.created_at,
                    ret.updated_at,
                )
            )
    for change in order.changes:
        out["order_change"].append(
            (
                change.id,
                order.id,
                change.return_id,
                change.version,
                change.change_type,
                change.status,
                change.description,
                change.internal_note,
                change.created_by,
                change.requested_by,
                change.requested_at,
                change.confirmed_by,
                change.confirmed_at,
                change.canceled_by,
                change.canceled_at,
                change.created_at,
                change.updated_at,
            )
        )
        for action in change.actions:
            out["order_change_action"].append(
                (
                    action.id,
                    change.id,
                    order.id,
                    action.return_id,
                    change.version,
                    action.ordering,
                    action.action,
                    action.reference,
                    action.reference_id,
                    json.dumps(action.details),
                    CURRENCY,
                    action.amount,
                    action.internal_note,
                    action.applied,
                    action.created_at,
                    action.updated_at,
                )
            )


def _pick(rng: random.Random, values: list[Any], cum: list[int]) -> Any:
    x = rng.random() * cum[-1]
    for value, bound in zip(values, cum, strict=True):
        if x < bound:
            return value
    return values[-1]


_SCENARIO_PICK = _weighted(SCENARIOS)
_ORDERS_PICK = _weighted(ORDERS_PER_GROUP)
_LINES_PICK = _weighted(LINES_PER_ORDER)
_QUANTITY_PICK = _weighted(QUANTITIES)


# --------------------------------------------------------------------------- loading


async def is_seeded(conn: asyncpg.Connection) -> int:
    return await conn.fetchval("SELECT count(*) FROM order_group")


async def _checkpoint(conn: asyncpg.Connection) -> None:
    """Write the load's dirty pages now, so that the first benchmark run does not share its
    minutes with a checkpoint of ~3 M new rows. Needs a superuser (or ``pg_checkpoint``);
    without one the server's own schedule does it."""
    with contextlib.suppress(asyncpg.InsufficientPrivilegeError):
        await conn.execute("CHECKPOINT")


async def reset(conn: asyncpg.Connection) -> None:
    tables = await conn.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
        "AND tablename <> 'alembic_version'"
    )
    names = ", ".join(f'"{r["tablename"]}"' for r in tables)
    await conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")


async def seed(
    url: str,
    cfg: SeedConfig,
    *,
    password_hash: str,
    log: Callable[[str], None] = print,
    vacuum: bool = True,
) -> SeedResult:
    """Load the dataset into the (migrated, empty) database at ``url`` (a libpq URL)."""
    started = time.perf_counter()
    timings: dict[str, float] = {}
    now = datetime.now(UTC).replace(microsecond=0)
    rng = random.Random(cfg.seed)
    ids = Ids(rng)
    conn = await asyncpg.connect(url)
    try:
        if await is_seeded(conn):
            raise RuntimeError("the benchmark database already holds order groups")
        await conn.execute("SET synchronous_commit = off")
        fk_checks_off = await _without_fk_triggers(conn)
        rows, catalogue = _setup_rows(cfg, rng, ids, now, password_hash)
        t = time.perf_counter()
        total_rows = 0
        async with conn.transaction():
            for table, records in rows.items():
                if records:
                    await _copy(conn, table, records)
                    total_rows += len(records)
        timings["catalogue"] = time.perf_counter() - t
        log(
            f"  catalogue: {cfg.sellers} sellers, {cfg.products} products, "
            f"{cfg.customers} customers in {timings['catalogue']:.1f}s"
        )

        writer = GroupWriter(cfg, catalogue, now)
        generate = copy = 0.0
        orders = lines = 0
        order_display = 0
        for first in range(0, cfg.groups, cfg.chunk):
            last = min(first + cfg.chunk, cfg.groups)
            t = time.perf_counter()
            chunk = writer.rows(first, last)
            for i, row in enumerate(chunk["order"]):  # order display ids follow creation time
                chunk["order"][i] = (row[0], order_display + i + 1, *row[2:])
            order_display += len(chunk["order"])
            generate += time.perf_counter() - t
            t = time.perf_counter()
            async with conn.transaction():
                for table in GROUP_TABLES:
                    if chunk[table]:
                        await _copy(conn, table, chunk[table])
                        total_rows += len(chunk[table])
            copy += time.perf_counter() - t
            orders += len(chunk["order"])
            lines += len(chunk["order_line_item"])
            log(f"  groups {last:>8,}/{cfg.groups:,}  (generate {generate:.1f}s, copy {copy:.1f}s)")
        timings["generate"], timings["copy"] = generate, copy

        t = time.perf_counter()
        await conn.execute(
            "INSERT INTO seller_customer (seller_id, customer_id) "
            'SELECT DISTINCT seller_id, customer_id FROM "order" WHERE customer_id IS NOT NULL '
            "ON CONFLICT DO NOTHING"
        )
        for table in ("order", "order_group"):
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'display_id'), "
                f'(SELECT coalesce(max(display_id), 0) + 1 FROM "{table}"), false)'
            )
        # COPY with triggers off (replica role) skipped the tallies (migrations 0004, 0007).
        await conn.execute("SELECT order_group_tally_rebuild()")
        await conn.execute("SELECT order_tally_rebuild()")
        timings["links"] = time.perf_counter() - t
        if fk_checks_off:
            await conn.execute("SET session_replication_role = origin")
        t = time.perf_counter()
        await conn.execute("VACUUM ANALYZE" if vacuum else "ANALYZE")
        await _checkpoint(conn)
        timings["analyze"] = time.perf_counter() - t
        log(
            f"  links + sequences {timings['links']:.1f}s, "
            f"vacuum/analyze/checkpoint {timings['analyze']:.1f}s"
        )
    finally:
        await conn.close()
    return SeedResult(
        groups=cfg.groups,
        orders=orders,
        lines=lines,
        rows=total_rows,
        seconds=time.perf_counter() - started,
        timings=timings,
        publishable_key=catalogue.publishable_key,
    )


async def _without_fk_triggers(conn: asyncpg.Connection) -> bool:
    """Skip per-row foreign-key checks while loading (superuser only; the generator only emits
    rows whose references exist). Without the privilege the checks simply stay on."""
    try:
        await conn.execute("SET session_replication_role = replica")
        return True
    except asyncpg.InsufficientPrivilegeError:
        return False


async def _copy(conn: asyncpg.Connection, table: str, records: list[tuple]) -> None:
    await conn.copy_records_to_table(table, records=records, columns=list(COLUMNS[table]))
