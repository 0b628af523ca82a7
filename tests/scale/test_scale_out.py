"""Scale-out on one machine (events-and-scale-out.md, "What a test on one machine must show"):
two API processes and a worker on one PostgreSQL, once with the PostgreSQL transport and once
with Redis behind a proxy the test cuts off. Checkouts stay correct across processes, and every
event reaches its webhook endpoints exactly once after deduplication, through a worker killed
with ``kill -9`` and (Redis) a 5-second outage.

Needs the machine's PostgreSQL (127.0.0.1:5432) and, for the Redis leg, Redis (127.0.0.1:6379);
a leg whose server is unreachable is skipped with the reason. Run ``pytest -s`` to see the
timing of each step. ``MERCATO_SCALE_WORKER_ARGS="--only subscribers"`` starts the workers
without the webhook dispatcher, which must make the test fail: no delivery arrives (step 4),
and an event left undelivered fails step 6 with what is stuck where."""

from __future__ import annotations

import asyncio
import json
import time
import warnings
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mercato.db.base import new_id
from tests.api.helpers import PASSWORD, bearer, login, ok
from tests.scale.cluster import Cluster, Database, postgres_unreachable, redis_unreachable
from tests.scale.shop import (
    Checkout,
    Shop,
    build_shop,
    checkouts,
    complete_all,
    prepare,
    variant_levels,
)

pytestmark = pytest.mark.slow

ADMIN_EMAIL = "admin@scale.test"
ADMIN_HOOK, VENDOR_HOOK = "/hooks/admin", "/hooks/vendor"
ADMIN_EVENTS = ("order.placed", "order_group.created")
BURST, RACERS, WINNERS = 40, 6, 2  # step 3: 40 carts at once, 6 of them race for 2 units
AFTER_KILL = 6  # step 4: checkouts while no worker runs
DURING_OUTAGE = 4  # step 5: checkouts while Redis is cut off
OUTAGE_S = 5.0
SETTLE_S = 30.0  # step 6: everything delivered within this of the last restart
SLOW_RECEIVER_S = 0.4  # keeps deliveries in flight until the worker is killed
TOTAL_LIMIT_S = 90.0
STRANDED_NAME = "order.updated"  # step 4's event committed by an API process that then died


class Steps:
    """Prints how long each step took (``pytest -s``)."""

    def __init__(self, transport: str) -> None:
        self.transport = transport
        self.start = self.last = time.monotonic()

    def done(self, what: str) -> None:
        now = time.monotonic()
        print(f"[{self.transport}] {what}: {now - self.last:.1f}s (at {now - self.start:.1f}s)")
        self.last = now

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.start


@pytest.fixture(params=["postgres", "redis"])
async def cluster(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Cluster]:
    transport: str = request.param
    checks = [await postgres_unreachable()]
    if transport == "redis":
        checks.append(redis_unreachable())
    reasons = [reason for reason in checks if reason]
    if reasons:
        pytest.skip("; ".join(reasons))
    started = Cluster(transport, tmp_path)
    try:
        yield started
    finally:
        await started.close()


async def test_scale_out(cluster: Cluster) -> None:
    steps = Steps(cluster.transport)
    receiver, db = cluster.receiver, cluster.db

    # 1. Two API processes and a worker on one database; endpoints of the admin and a seller.
    await cluster.start(ADMIN_EMAIL, PASSWORD)
    a_url, b_url = (api.base_url for api in cluster.apis)
    async with (
        httpx.AsyncClient(base_url=a_url, timeout=60) as a,
        httpx.AsyncClient(base_url=b_url, timeout=60) as b,
    ):
        clients = [a, b]
        steps.done("1. database, processes A and B, worker started")

        # 2. A token issued by A is accepted by B (one MERCATO_JWT_SECRET).
        admin = await login(a, "user", ADMIN_EMAIL, PASSWORD)
        me = ok(await b.get("/admin/users/me", headers=admin), 200)
        assert me["user"]["email"] == ADMIN_EMAIL, me
        forged = bearer(admin["authorization"].removeprefix("Bearer ")[:-4] + "AAAA")
        assert (await b.get("/admin/users/me", headers=forged)).status_code == 401

        shop = await build_shop(a, admin)
        seller = shop.sellers[0]
        member = await seller_member(a, b, admin, seller)
        admin_hook = ok(
            await b.post(
                "/admin/webhooks",
                json={"url": receiver.url(ADMIN_HOOK), "events": list(ADMIN_EVENTS)},
                headers=admin,
            )
        )["webhook"]
        vendor_hook = ok(
            await a.post(
                "/vendor/webhooks",
                json={"url": receiver.url(VENDOR_HOOK), "events": ["*"]},
                headers=member,
            )
        )["webhook"]
        receiver.secrets = {ADMIN_HOOK: admin_hook["secret"], VENDOR_HOOK: vendor_hook["secret"]}
        hooks = {ADMIN_HOOK: admin_hook["id"], VENDOR_HOOK: vendor_hook["id"]}
        steps.done("2. token of A accepted by B; marketplace and endpoints created")

        # 7. A third API process that would exceed max_connections refuses to start. It runs
        # here, while every process of the budget is alive: a killed worker's row would count
        # until it ages out (30 s), making the limit move under the test's feet. Its failure is
        # reported at the end, so that it does not hide how the other steps went.
        budget_problem = await connection_budget_problem(cluster, clients)
        outcome = "refused to start" if budget_problem is None else "FAILED (reported at the end)"
        steps.done(f"7. a process over the connection budget {outcome}")

        # 3. 40 concurrent 3-seller checkouts over A and B, 6 racing for 2 units.
        receiver.delay_s = SLOW_RECEIVER_S
        carts = await prepare(shop, clients, [i % 7 == 3 for i in range(BURST)])
        assert sum(scarce for _, scarce in carts) == RACERS
        burst = await complete_all(shop, clients, carts)
        await check_burst(shop, clients, admin, db, burst)
        placed = [c for c in burst if c.group]
        steps.done(f"3. {BURST} concurrent checkouts: {len(placed)} groups, no oversell")

        # 4. kill -9 the worker while deliveries flow; check out on; start a new worker.
        expected = await expected_deliveries(db, seller)
        await until_a_third_delivered(cluster, expected)
        cluster.worker.kill()
        at_kill = receiver.unique_count()
        receiver.delay_s = 0
        print(f"[{cluster.transport}] killed the worker at {at_kill}/{expected} deliveries")
        assert at_kill < expected, (
            f"every delivery ({expected}) arrived before the worker was killed: the kill tests"
            " nothing; slow the receiver down (SLOW_RECEIVER_S)"
        )
        more = await checkouts(shop, clients, AFTER_KILL)
        assert_all_placed(more, "with the worker killed")
        placed += more
        # An API process killed between its commit and its own relay leaves the event for the
        # workers' relay alone: without one, it is never delivered (the API relays its own
        # events right after the commit, which would hide a worker whose relay is off).
        await strand_an_event(db, more[0], seller)
        await cluster.start_worker().wait_registered(db)
        last_restart = time.monotonic()
        steps.done("4. worker killed, checkouts went on, new worker started")

        # 5. Redis leg: Redis cut off for 5 s during checkouts; the backlog grows, then drains.
        if cluster.transport == "redis":
            assert cluster.proxy is not None
            cluster.proxy.cut()
            cut_at = time.monotonic()
            backlog = [await outbox_backlog(a, admin)]
            for _half in range(2):
                during = await checkouts(shop, clients, DURING_OUTAGE // 2)
                assert_all_placed(during, "with Redis cut off")
                placed += during
                backlog.append(await outbox_backlog(b, admin))
            assert backlog[0] < backlog[1] < backlog[2], (
                f"outbox_backlog while Redis was cut off: {backlog}; it must grow with each"
                " checkout (the API writes the outbox; only the relay needs Redis)"
            )
            await asyncio.sleep(max(0.0, OUTAGE_S - (time.monotonic() - cut_at)))
            cluster.proxy.reopen()
            last_restart = time.monotonic()
            steps.done(f"5. Redis cut off for {OUTAGE_S:.0f}s, backlog grew {backlog}")

        # 6. Within 30 s of the last restart: everything delivered once (after deduplication).
        await settle(cluster, a, admin, seller, hooks, last_restart)
        await check_deliveries(cluster, a, admin, seller, hooks, placed)
        steps.done("6. every event delivered, signed, exactly once after deduplication")

    assert budget_problem is None, f"step 7: {budget_problem}"
    if steps.elapsed >= TOTAL_LIMIT_S:
        # The spec's budget for this test, reported rather than asserted: a timed assertion
        # fails on a busy machine without anything being wrong.
        warnings.warn(
            f"the scale-out test took {steps.elapsed:.0f}s (budget {TOTAL_LIMIT_S:.0f}s)",
            stacklevel=1,
        )


# ----------------------------------------------------------------------------- step helpers


async def seller_member(
    a: httpx.AsyncClient, b: httpx.AsyncClient, admin: dict[str, str], seller_id: str
) -> dict[str, str]:
    """A member of the seller, added on A and logged in on B."""
    email = "staff@seller0.scale.test"
    ok(
        await a.post(
            f"/admin/sellers/{seller_id}/members",
            json={"email": email, "password": PASSWORD},
            headers=admin,
        )
    )
    return await login(b, "seller", email, PASSWORD)


def assert_all_placed(done: list[Checkout], when: str) -> None:
    failed = [
        (c.cart_id, c.response.status_code, c.response.text[:300]) for c in done if not c.group
    ]
    assert not failed, f"checkouts {when} must all answer 200 with a group: {failed}"


async def check_burst(
    shop: Shop,
    clients: list[httpx.AsyncClient],
    admin: dict[str, str],
    db: Database,
    burst: list[Checkout],
) -> None:
    """Step 3: every ordinary cart placed, exactly 2 racers won, the losers were told why, no
    unit oversold, and one group per cart (completing again answers the same group)."""
    ordinary = [c for c in burst if not c.scarce]
    racers = [c for c in burst if c.scarce]
    assert_all_placed(ordinary, "of ordinary carts")
    winners = [c for c in racers if c.group]
    losers = [c for c in racers if not c.group]
    assert len(winners) == WINNERS, (
        f"{len(winners)} of {RACERS} carts racing for {WINNERS} units completed;"
        f" answers: {[(c.response.status_code, c.response.text[:200]) for c in racers]}"
    )
    for loser in losers:
        assert loser.response.status_code == 400, loser.response.text
        assert loser.response.json()["code"] == "insufficient_inventory", loser.response.text

    first, second, third = shop.sellers
    levels = await variant_levels(clients[1], admin, first)
    assert levels[shop.scarce] == {"stocked": 2, "reserved": 2, "available": 0}, (
        f"the scarce variant after the race: {levels[shop.scarce]}"
    )
    assert levels[shop.first_variant(first)]["reserved"] == len(ordinary)
    for other in (second, third):
        reserved = (await variant_levels(clients[0], admin, other))[shop.first_variant(other)]
        assert reserved["reserved"] == len(ordinary) + WINNERS, (other, reserved)

    placed = [c for c in burst if c.group]
    rows = await db.fetch("SELECT cart_id, count(*) AS n FROM order_group GROUP BY cart_id")
    per_cart = {row["cart_id"]: row["n"] for row in rows}
    assert per_cart == {c.cart_id: 1 for c in placed}, f"groups per cart: {per_cart}"
    for index, again in enumerate(placed[:2]):
        client = clients[index % 2]
        answer = ok(
            await client.post(f"/store/carts/{again.cart_id}/complete", headers=shop.market.store)
        )
        assert again.group is not None and answer["order_group"]["id"] == again.group["id"]


async def expected_deliveries(db: Database, seller_id: str) -> int:
    """How many distinct deliveries the outbox owes the two endpoints now."""
    return await db.fetchval(
        "SELECT count(*) FILTER (WHERE name = ANY($1::text[]))"
        " + count(*) FILTER (WHERE name = 'order.placed' AND seller_id = $2)"
        " FROM event_outbox",
        list(ADMIN_EVENTS),
        seller_id,
    )


async def until_a_third_delivered(cluster: Cluster, expected: int) -> None:
    """Step 4 kills the worker mid-flow: wait until a third of the deliveries arrived."""
    receiver = cluster.receiver
    deadline = time.monotonic() + 30
    while receiver.unique_count() * 3 < expected:
        if time.monotonic() > deadline:
            db = cluster.db
            counts = dict(await webhook_delivery_counts(db))
            owed = await db.fetchval("SELECT count(*) FROM event_delivery")
            backlog = await db.fetchval(
                "SELECT count(*) FROM event_outbox WHERE dispatched_at IS NULL"
            )
            raise AssertionError(
                f"only {receiver.unique_count()} of {expected} deliveries arrived in 30 s with"
                f" a worker running; webhook deliveries by (endpoint, status): {counts};"
                f" event deliveries owed to subscribers: {owed}; outbox rows not relayed:"
                f" {backlog}\n{cluster.logs_tail()}"
            )
        await asyncio.sleep(0.02)


async def strand_an_event(db: Database, checkout: Checkout, seller_id: str) -> None:
    """An outbox row as an API process leaves it when killed right after its commit: never
    relayed. It is about the seller's order of ``checkout``, so only the seller's endpoint
    (``*``) is owed it."""
    assert checkout.group is not None
    (order,) = [o for o in checkout.group["orders"] if o["seller_id"] == seller_id]
    await db.fetch(
        "INSERT INTO event_outbox (id, name, resource_id, data, seller_id)"
        " VALUES ($1, $2, $3, $4::jsonb, $5)",
        new_id("evt"),
        STRANDED_NAME,
        order["id"],
        json.dumps({"id": order["id"]}),
        seller_id,
    )


async def events_status(client: httpx.AsyncClient, admin: dict[str, str]) -> dict[str, Any]:
    return ok(await client.get("/admin/events/status", headers=admin))


async def outbox_backlog(client: httpx.AsyncClient, admin: dict[str, str]) -> int:
    return (await events_status(client, admin))["outbox_backlog"]


async def outbox_ids(db: Database, seller_id: str) -> tuple[set[str], set[str]]:
    """The event ids each endpoint is owed: the admin's subscribed names; every event about
    the seller (its endpoint subscribes to ``*``)."""
    admin_rows = await db.fetch(
        "SELECT id FROM event_outbox WHERE name = ANY($1::text[])", list(ADMIN_EVENTS)
    )
    seller_rows = await db.fetch("SELECT id FROM event_outbox WHERE seller_id = $1", seller_id)
    return {r["id"] for r in admin_rows}, {r["id"] for r in seller_rows}


async def webhook_delivery_counts(db: Database) -> Counter[tuple[str, str]]:
    rows = await db.fetch(
        "SELECT webhook_id, status, count(*) AS n FROM webhook_delivery GROUP BY 1, 2"
    )
    return Counter({(r["webhook_id"], r["status"]): r["n"] for r in rows})


async def settle(
    cluster: Cluster,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    seller_id: str,
    hooks: dict[str, str],
    since: float,
) -> None:
    """Wait (at most 30 s from ``since``) until nothing is left to deliver; on time-out, fail
    with what is still owed and where it is stuck."""
    receiver = cluster.receiver
    while True:
        status = await events_status(client, admin)
        owed_admin, owed_vendor = await outbox_ids(cluster.db, seller_id)
        missing = {
            ADMIN_HOOK: owed_admin - receiver.ids(ADMIN_HOOK),
            VENDOR_HOOK: owed_vendor - receiver.ids(VENDOR_HOOK),
        }
        counts = await webhook_delivery_counts(cluster.db)
        unsettled = {k: n for k, n in counts.items() if k[1] != "succeeded"}
        if (
            status["outbox_backlog"] == 0
            and status.get("pending_deliveries", 0) == 0
            and status["dead_letters"] == 0
            and not unsettled
            and not any(missing.values())
        ):
            return
        if time.monotonic() - since > SETTLE_S:
            names = {webhook_id: path for path, webhook_id in hooks.items()}
            stuck = {(names[w], state): n for (w, state), n in unsettled.items()}
            lines = [
                f"{SETTLE_S:.0f}s after the last restart, events are still undelivered:",
                f"  /admin/events/status: outbox_backlog={status['outbox_backlog']},"
                f" pending_deliveries={status.get('pending_deliveries')},"
                f" pending_retries={status.get('pending_retries')},"
                f" dead_letters={status['dead_letters']}",
                f"  webhook deliveries not succeeded: {stuck}",
                *(
                    f"  {path}: {len(ids)} owed event ids never received, e.g. {sorted(ids)[:3]}"
                    for path, ids in missing.items()
                    if ids
                ),
                "  live processes: "
                + ", ".join(
                    f"{p['kind']} {p['pid']} {p.get('status')}" for p in status["processes"]
                ),
                cluster.logs_tail(),
            ]
            raise AssertionError("\n".join(lines))
        await asyncio.sleep(0.5)


async def check_deliveries(
    cluster: Cluster,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    seller_id: str,
    hooks: dict[str, str],
    placed: list[Checkout],
) -> None:
    """Step 6: nothing pending, failed or dead; each endpoint's deduplicated webhook-ids equal
    the outbox ids it is owed; every request verified; per group 1 ``order_group.created`` and
    ``seller_count`` ``order.placed``; the seller heard its own orders and nothing else."""
    receiver = cluster.receiver
    status = await events_status(client, admin)
    assert status["outbox_backlog"] == 0 and status["dead_letters"] == 0, status
    for path, webhook_id in hooks.items():
        for state in ("pending", "failed"):
            listed = ok(
                await client.get(
                    f"/admin/webhooks/{webhook_id}/deliveries",
                    params={"status": state, "limit": 1},
                    headers=admin,
                )
            )
            assert listed["count"] == 0, f"{listed['count']} {state} deliveries to {path}"

    owed_admin, owed_vendor = await outbox_ids(cluster.db, seller_id)
    for path, owed in ((ADMIN_HOOK, owed_admin), (VENDOR_HOOK, owed_vendor)):
        heard = receiver.ids(path)
        assert heard == owed, (
            f"{path}: the deduplicated webhook-ids must be the outbox ids it is owed;"
            f" never received: {sorted(owed - heard)[:5]}, not owed: {sorted(heard - owed)[:5]}"
        )
    problems = [(r.path, r.webhook_id, r.problem) for r in receiver.received if r.problem]
    assert not problems, f"requests that did not verify: {problems[:5]}"
    raw, unique = len(receiver.received), receiver.unique_count()
    print(
        f"[{cluster.transport}] {unique} deliveries, {raw} requests:"
        f" {raw - unique} duplicates (allowed: at least once, deduplicated by webhook-id)"
    )

    groups = {c.group["id"]: c.group for c in placed if c.group}
    payloads = {(r.path, r.webhook_id): r.payload for r in receiver.received if r.payload}
    to_admin = [p for (path, _), p in payloads.items() if path == ADMIN_HOOK]
    created = Counter(p["data"]["id"] for p in to_admin if p["type"] == "order_group.created")
    orders_placed = Counter(p["data"]["id"] for p in to_admin if p["type"] == "order.placed")
    assert created == Counter(list(groups)), f"order_group.created per group: {created}"
    for group in groups.values():
        count = sum(orders_placed[o["id"]] for o in group["orders"])
        assert count == group["seller_count"] == 3, (
            f"group {group['id']}: {count} order.placed for {group['seller_count']} sellers"
        )

    orders = [o for g in groups.values() for o in g["orders"]]
    own = {o["id"] for o in orders if o["seller_id"] == seller_id}
    foreign = {
        *groups,
        *(o["id"] for o in orders if o["seller_id"] != seller_id),
        *(o["seller_id"] for o in orders if o["seller_id"] != seller_id),
    }
    to_vendor = [p for (path, _), p in payloads.items() if path == VENDOR_HOOK]
    kinds = Counter(p["type"] for p in to_vendor)
    assert kinds == {"order.placed": len(own), STRANDED_NAME: 1}, (
        f"the seller's endpoint heard {dict(kinds)}; it is owed {len(own)} order.placed and"
        f" the stranded {STRANDED_NAME}"
    )
    heard_orders = {p["data"]["id"] for p in to_vendor if p["type"] == "order.placed"}
    assert heard_orders == own, (
        f"the seller's endpoint heard orders {sorted(heard_orders - own)[:3]} not its own,"
        f" missed {sorted(own - heard_orders)[:3]}"
    )
    vendor_bodies = receiver.of(VENDOR_HOOK)
    leaks = [(r.webhook_id, i) for r in vendor_bodies for i in foreign if i.encode() in r.body]
    assert not leaks, f"vendor deliveries naming another seller's or the group's ids: {leaks[:3]}"


async def connection_budget_problem(
    cluster: Cluster, clients: list[httpx.AsyncClient]
) -> str | None:
    """Step 7: a third API process asking one connection more than the live processes leave
    of max_connections must exit 78 with the budget message, and A and B keep serving; what
    went wrong, or None."""
    db = cluster.db
    usable = await db.fetchval(
        "SELECT current_setting('max_connections')::int"
        " - current_setting('superuser_reserved_connections')::int"
        " - coalesce(current_setting('reserved_connections', true), '0')::int"
    )
    live = await db.fetchval(
        "SELECT coalesce(sum(pool_budget), 0) FROM mercato_process"
        " WHERE heartbeat_at >= now() - interval '30 seconds'"
    )
    pool = usable - live + 1
    if pool < 1:
        return f"the live processes already reserve {live} of {usable} connections"
    env = {**cluster.env, "MERCATO_DB_POOL_SIZE": str(pool), "MERCATO_DB_MAX_OVERFLOW": "0"}
    refusal = await asyncio.to_thread(cluster.start_refused, env)
    for client in clients:
        assert (await client.get("/health")).status_code == 200, "A or B stopped answering"
    if refusal.returncode == 78 and "Connection budget exceeded: " in refusal.output:
        return None
    return (
        f"a process with MERCATO_DB_POOL_SIZE={pool} ({live} reserved by the live processes,"
        f" {usable} usable) must exit 78 with 'Connection budget exceeded: …'; it gave exit"
        f" code {refusal.returncode} (None: it served) and:\n{refusal.output[-2000:]}"
    )
