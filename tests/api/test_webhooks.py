"""Webhooks (events-and-scale-out.md, Webhooks) against real PostgreSQL and a receiver on
loopback: endpoint CRUD and its errors, signed deliveries, retries, disabling, redelivery and
replay, sellers' endpoints (their own events only, projected), and the SSRF refusals."""

from __future__ import annotations

import asyncio
import json
import ssl
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import func, select, text, update
from standardwebhooks.webhooks import Webhook as Verifier

from mercato.db.base import new_id
from mercato.events.delivery import DeliveryConfig, EventWorker
from mercato.events.models import OutboxEvent
from mercato.settings import get_settings
from mercato.webhooks.config import webhook_settings
from mercato.webhooks.dispatcher import claim, run_due
from mercato.webhooks.models import Webhook, WebhookDelivery
from mercato.webhooks.service import fan_out
from mercato.webhooks.subscriber import register
from tests.api.checkout_helpers import build_marketplace, complete, ready_cart
from tests.api.helpers import PASSWORD, create_seller, error, login, ok

URL = "/admin/webhooks"
KEYS = {
    "id",
    "url",
    "description",
    "events",
    "is_active",
    "disabled_reason",
    "disabled_at",
    "consecutive_failures",
    "seller_id",
    "secret_hint",
    "metadata",
    "created_at",
    "updated_at",
}


class Receiver:
    """A loopback HTTP server recording every request; answers the queued statuses in turn,
    then ``default``."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.replies: list[tuple[int, dict[str, str]]] = []
        self.default = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                receiver.requests.append(
                    {
                        "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": body,
                    }
                )
                status, headers = (
                    receiver.replies.pop(0) if receiver.replies else (receiver.default, {})
                )
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                reply = f"answer {status}".encode()
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/hooks") -> str:
        return f"http://localhost:{self.port}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Loopback targets over http allowed; retries immediate, three attempts; disabled after 2."""
    monkeypatch.setenv("MERCATO_WEBHOOK_ALLOW_PRIVATE_TARGETS", "1")
    monkeypatch.setenv("MERCATO_WEBHOOK_ALLOW_HTTP", "1")
    monkeypatch.setenv("MERCATO_WEBHOOK_RETRY_SCHEDULE", "0s,0s,0s")
    monkeypatch.setenv("MERCATO_WEBHOOK_DISABLE_AFTER", "2")
    monkeypatch.setenv("MERCATO_WEBHOOK_TIMEOUT_S", "5")
    webhook_settings.cache_clear()
    yield monkeypatch
    webhook_settings.cache_clear()


def settings_changed(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    webhook_settings.cache_clear()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    served = Receiver()
    yield served
    served.close()


async def publish(app, name: str, data: dict, seller_id: str | None = None) -> str:
    """An outbox row committed with its fan-out, as the ``webhooks`` subscriber will do."""
    async with app.state.sessionmaker() as session, session.begin():
        event = OutboxEvent(
            id=new_id("evt"),
            name=name,
            data=data,
            seller_id=seller_id,
            resource_id=data.get("id"),
        )
        session.add(event)
        await session.flush()
        await fan_out(session, event)
    return event.id


async def drain(app, passes: int = 10) -> None:
    for _ in range(passes):
        if not await run_due(app.state.sessionmaker):
            return


async def deliveries(app, webhook_id: str) -> list[WebhookDelivery]:
    async with app.state.sessionmaker() as session:
        return list(
            await session.scalars(
                select(WebhookDelivery)
                .where(WebhookDelivery.webhook_id == webhook_id)
                .order_by(WebhookDelivery.created_at, WebhookDelivery.id)
            )
        )


async def create_webhook(client, headers: dict, url: str, **fields: Any) -> dict:
    base = fields.pop("base", URL)
    body = {"url": url, "events": fields.pop("events", ["order.placed"]), **fields}
    return ok(await client.post(base, json=body, headers=headers))["webhook"]


async def seller_member(client, admin: dict, name: str) -> tuple[dict, dict]:
    seller = await create_seller(client, admin, name)
    email = f"staff@{name.lower()}.test"
    ok(
        await client.post(
            f"/admin/sellers/{seller['id']}/members",
            json={"email": email, "password": PASSWORD},
            headers=admin,
        )
    )
    return seller, await login(client, "seller", email, PASSWORD)


# ------------------------------------------------------------------------- endpoints


async def test_webhook_crud(client, admin_headers, webhook_env, receiver, app):
    created = await create_webhook(
        client,
        admin_headers,
        receiver.url(),
        events=["order.placed", "order_group.created"],
        description="ERP",
        metadata={"team": "ops"},
    )
    assert set(created) == KEYS | {"secret"}
    assert created["id"].startswith("whe_") and created["seller_id"] is None
    assert created["secret"].startswith("whsec_")
    assert created["secret_hint"] == f"whsec_…{created['secret'][-4:]}"
    assert created["is_active"] is True and created["consecutive_failures"] == 0
    assert created["disabled_reason"] is None and created["disabled_at"] is None
    assert created["events"] == ["order.placed", "order_group.created"]
    url = f"{URL}/{created['id']}"
    got = ok(await client.get(url, headers=admin_headers))["webhook"]
    assert got == {k: v for k, v in created.items() if k != "secret"}
    async with app.state.sessionmaker() as session:
        row = await session.get(Webhook, created["id"])
        assert row is not None and created["secret"] not in row.secret_ciphertext

    supplied = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    other = await create_webhook(
        client, admin_headers, receiver.url("/b"), events=["*"], secret=supplied, is_active=False
    )
    assert other["secret"] == supplied and other["is_active"] is False
    assert other["disabled_reason"] == "manual"

    listed = ok(await client.get(f"{URL}?event=order.placed", headers=admin_headers))
    assert {w["id"] for w in listed["webhooks"]} == {created["id"], other["id"]}
    assert all("secret" not in w for w in listed["webhooks"])
    listed = ok(
        await client.get(f"{URL}?event=order_group.created&is_active=true", headers=admin_headers)
    )
    assert [w["id"] for w in listed["webhooks"]] == [created["id"]]
    listed = ok(await client.get(f"{URL}?q=/b&order=created_at", headers=admin_headers))
    assert [w["id"] for w in listed["webhooks"]] == [other["id"]] and listed["count"] == 1

    updated = ok(
        await client.post(
            url,
            json={"events": ["payment.captured"], "description": None, "is_active": False},
            headers=admin_headers,
        )
    )["webhook"]
    assert updated["events"] == ["payment.captured"] and updated["description"] is None
    assert updated["is_active"] is False and updated["disabled_reason"] == "manual"
    assert "secret" not in updated
    updated = ok(await client.post(url, json={"is_active": True}, headers=admin_headers))["webhook"]
    assert updated["is_active"] is True and updated["disabled_reason"] is None

    rotated = ok(await client.post(f"{url}/rotate-secret", headers=admin_headers))["webhook"]
    assert rotated["secret"] != created["secret"] and rotated["secret"].startswith("whsec_")
    assert rotated["secret_hint"] == f"whsec_…{rotated['secret'][-4:]}"

    # A pending delivery ends failed when its endpoint is deleted.
    await publish(app, "payment.captured", {"id": "pay_1", "order_id": "order_1"})
    assert ok(await client.delete(url, headers=admin_headers)) == {
        "id": created["id"],
        "object": "webhook",
        "deleted": True,
    }
    error(
        await client.get(url, headers=admin_headers),
        404,
        "not_found",
        f"Webhook with id {created['id']} was not found",
    )
    [gone] = await deliveries(app, created["id"])
    assert gone.status == "failed" and gone.last_error == "endpoint deleted"
    listed = ok(await client.get(URL, headers=admin_headers))
    assert [w["id"] for w in listed["webhooks"]] == [other["id"]]


async def test_endpoint_errors(client, admin_headers, webhook_env, receiver):
    async def refused(body: dict, message: str) -> None:
        error(
            await client.post(URL, json=body, headers=admin_headers), 400, "invalid_data", message
        )

    https_only = "url must be an absolute https URL"
    await refused({"events": ["order.placed"]}, https_only)
    await refused({"url": "/hooks", "events": ["order.placed"]}, https_only)
    await refused({"url": "https://u:p@example.com/x", "events": ["order.placed"]}, https_only)
    await refused({"url": "https://example.com/" + "a" * 2100, "events": ["*"]}, https_only)
    await refused({"url": 5, "events": ["order.placed"]}, https_only)
    await refused(
        {"url": "https://hooks.example.invalid/x", "events": ["order.placed"]},
        "url host hooks.example.invalid does not resolve",
    )
    await refused(
        {"url": receiver.url(), "events": ["order.shipped"]},
        "events contains unknown event names: order.shipped",
    )
    await refused(
        {"url": receiver.url(), "events": ["order.placed"], "secret": "whsec_c2hvcnQ="},
        "secret must be whsec_ followed by base64 of 24 to 64 bytes",
    )
    response = await client.post(
        URL,
        json={"url": receiver.url(), "events": ["*"], "seller_id": "sel_1"},
        headers=admin_headers,
    )
    error(response, 400, "invalid_data")
    error(
        await client.get(f"{URL}/whe_x", headers=admin_headers),
        404,
        "not_found",
        "Webhook with id whe_x was not found",
    )
    error(
        await client.post(f"{URL}/whe_x/rotate-secret", headers=admin_headers),
        404,
        "not_found",
        "Webhook with id whe_x was not found",
    )
    # http and private addresses only with their settings on.
    settings_changed(webhook_env, MERCATO_WEBHOOK_ALLOW_HTTP="0")
    await refused({"url": receiver.url(), "events": ["*"]}, https_only)
    settings_changed(webhook_env, MERCATO_WEBHOOK_ALLOW_PRIVATE_TARGETS="0")
    for url, address in [
        ("https://127.0.0.1/x", "127.0.0.1"),
        ("https://10.1.2.3/x", "10.1.2.3"),
        ("https://169.254.169.254/x", "169.254.169.254"),
        ("https://[::1]/x", "::1"),
    ]:
        await refused(
            {"url": url, "events": ["*"]}, f"url resolves to a non-public address ({address})"
        )
    message = error(
        await client.post(
            URL, json={"url": "https://localhost/x", "events": ["*"]}, headers=admin_headers
        ),
        400,
        "invalid_data",
    )
    assert message in (
        "url resolves to a non-public address (127.0.0.1)",
        "url resolves to a non-public address (::1)",
    )


async def test_update_checks_the_url_again(client, admin_headers, webhook_env, receiver):
    created = await create_webhook(client, admin_headers, receiver.url())
    settings_changed(webhook_env, MERCATO_WEBHOOK_ALLOW_PRIVATE_TARGETS="0")
    error(
        await client.post(
            f"{URL}/{created['id']}",
            json={"url": f"http://127.0.0.1:{receiver.port}/other"},
            headers=admin_headers,
        ),
        400,
        "invalid_data",
        "url resolves to a non-public address (127.0.0.1)",
    )
    error(
        await client.post(f"{URL}/{created['id']}", json={"events": []}, headers=admin_headers),
        400,
        "invalid_data",
    )


# ------------------------------------------------------------------------- deliveries


def verified(request: dict, secret: str) -> dict:
    """The receiver's check: a Standard Webhooks library verifies the signature."""
    return Verifier(secret).verify(request["body"], request["headers"])


async def test_signed_delivery_retried_after_a_500(
    client, admin_headers, webhook_env, receiver, app
):
    created = await create_webhook(client, admin_headers, receiver.url(), events=["order.placed"])
    receiver.replies = [(500, {})]
    event_id = await publish(app, "order.placed", {"id": "order_1"}, seller_id="sel_1")
    await publish(app, "order_group.created", {"id": "og_1"})  # not subscribed
    await drain(app)

    assert len(receiver.requests) == 2
    first, second = receiver.requests
    for request in (first, second):
        payload = verified(request, created["secret"])
        assert payload["type"] == "order.placed" and payload["data"] == {"id": "order_1"}
        assert request["headers"]["webhook-id"] == event_id
        assert request["headers"]["user-agent"] == "Mercato-Webhooks/1"
        assert request["headers"]["content-type"] == "application/json"
        assert request["headers"]["host"] == f"localhost:{receiver.port}"
        assert b" " not in request["body"]  # compact JSON
        assert set(json.loads(request["body"])) == {"type", "timestamp", "data"}

    base = f"{URL}/{created['id']}/deliveries"
    listed = ok(await client.get(base, headers=admin_headers))
    assert listed["count"] == 1
    [delivery] = listed["deliveries"]
    assert delivery["event_id"] == event_id and delivery["event_name"] == "order.placed"
    assert delivery["status"] == "succeeded" and delivery["attempt_count"] == 2
    assert delivery["last_status_code"] == 200 and delivery["last_error"] is None
    detail = ok(await client.get(f"{base}/{delivery['id']}", headers=admin_headers))["delivery"]
    assert [a["status_code"] for a in detail["attempts"]] == [500, 200]
    assert detail["attempts"][0]["error"] == "HTTP 500"
    assert detail["attempts"][0]["response_body"] == "answer 500"
    assert all(a["duration_ms"] >= 0 for a in detail["attempts"])
    filtered = ok(await client.get(f"{base}?status=failed", headers=admin_headers))
    assert filtered["count"] == 0

    # Redelivery: the same webhook-id, a new signature.
    redelivered = ok(
        await client.post(f"{base}/{delivery['id']}/redeliver", headers=admin_headers)
    )["delivery"]
    assert redelivered["status"] == "pending"
    await drain(app)
    assert len(receiver.requests) == 3
    assert receiver.requests[2]["headers"]["webhook-id"] == event_id
    verified(receiver.requests[2], created["secret"])
    error(
        await client.get(f"{base}/whd_x", headers=admin_headers),
        404,
        "not_found",
    )


async def test_rotation_signs_with_both_secrets(client, admin_headers, webhook_env, receiver, app):
    created = await create_webhook(client, admin_headers, receiver.url())
    rotated = ok(await client.post(f"{URL}/{created['id']}/rotate-secret", headers=admin_headers))[
        "webhook"
    ]
    await publish(app, "order.placed", {"id": "order_1"})
    await drain(app)
    [request] = receiver.requests
    assert len(request["headers"]["webhook-signature"].split(" ")) == 2
    verified(request, created["secret"])
    verified(request, rotated["secret"])


async def test_failures_disable_the_endpoint(client, admin_headers, webhook_env, receiver, app):
    created = await create_webhook(client, admin_headers, receiver.url())
    receiver.default = 500
    first = await publish(app, "order.placed", {"id": "order_1"})
    await drain(app)
    assert len(receiver.requests) == 3  # the three attempts of the schedule
    [delivery] = await deliveries(app, created["id"])
    assert delivery.status == "failed" and delivery.attempt_count == 3
    url = f"{URL}/{created['id']}"
    got = ok(await client.get(url, headers=admin_headers))["webhook"]
    assert got["consecutive_failures"] == 1 and got["is_active"] is True

    await publish(app, "order.placed", {"id": "order_2"})
    await drain(app)
    got = ok(await client.get(url, headers=admin_headers))["webhook"]
    assert got["is_active"] is False and got["disabled_reason"] == "consecutive_failures"
    assert got["consecutive_failures"] == 2 and got["disabled_at"] is not None
    async with app.state.sessionmaker() as session:
        disabled = (
            await session.scalars(select(OutboxEvent).where(OutboxEvent.name == "webhook.disabled"))
        ).all()
    assert [e.data for e in disabled] == [{"id": created["id"]}]

    # Disabled: new events get no delivery; redelivery is refused.
    await publish(app, "order.placed", {"id": "order_3"})
    assert len(await deliveries(app, created["id"])) == 2
    failed = (await deliveries(app, created["id"]))[0]
    redeliver = f"{url}/deliveries/{failed.id}/redeliver"
    error(
        await client.post(redeliver, headers=admin_headers),
        400,
        "invalid_data",
        f"Webhook {created['id']} is disabled",
    )
    # Re-enabled: failures reset, redelivery goes through.
    got = ok(await client.post(url, json={"is_active": True}, headers=admin_headers))["webhook"]
    assert got["consecutive_failures"] == 0 and got["is_active"] is True
    receiver.default = 200
    ok(await client.post(redeliver, headers=admin_headers))
    await drain(app)
    assert receiver.requests[-1]["headers"]["webhook-id"] == first
    assert (await deliveries(app, created["id"]))[0].status == "succeeded"


async def test_paused_while_disabled_and_gone(client, admin_headers, webhook_env, receiver, app):
    created = await create_webhook(client, admin_headers, receiver.url())
    url = f"{URL}/{created['id']}"
    await publish(app, "order.placed", {"id": "order_1"})
    ok(await client.post(url, json={"is_active": False}, headers=admin_headers))
    await drain(app)
    assert receiver.requests == []  # paused, not failed
    [delivery] = await deliveries(app, created["id"])
    assert delivery.status == "pending"
    ok(await client.post(url, json={"is_active": True}, headers=admin_headers))
    receiver.replies = [(410, {})]
    await drain(app)
    got = ok(await client.get(url, headers=admin_headers))["webhook"]
    assert got["is_active"] is False and got["disabled_reason"] == "gone"
    assert len(receiver.requests) == 1


async def test_retry_after_is_honoured(client, admin_headers, webhook_env, receiver, app):
    created = await create_webhook(client, admin_headers, receiver.url())
    receiver.replies = [(429, {"Retry-After": "120"})]
    await publish(app, "order.placed", {"id": "order_1"})
    await drain(app)
    assert len(receiver.requests) == 1
    [delivery] = await deliveries(app, created["id"])
    assert delivery.status == "pending" and delivery.last_status_code == 429
    assert delivery.next_attempt_at is not None and delivery.last_attempt_at is not None
    wait = (delivery.next_attempt_at - delivery.last_attempt_at).total_seconds()
    assert 119 <= wait <= 121


async def test_attempt_refuses_a_private_address(client, admin_headers, webhook_env, receiver, app):
    created = await create_webhook(client, admin_headers, receiver.url())
    settings_changed(webhook_env, MERCATO_WEBHOOK_ALLOW_PRIVATE_TARGETS="0")
    await publish(app, "order.placed", {"id": "order_1"})
    await drain(app)
    assert receiver.requests == []  # no request is sent
    [delivery] = await deliveries(app, created["id"])
    assert delivery.status == "failed" and delivery.attempt_count == 3
    assert delivery.last_error in (
        "blocked: 127.0.0.1 is not a public address",
        "blocked: ::1 is not a public address",
    )


async def test_replay(client, admin_headers, webhook_env, receiver, app):
    before = await publish(app, "order.placed", {"id": "order_1"})
    await publish(app, "order_group.created", {"id": "og_1"})
    created = await create_webhook(client, admin_headers, receiver.url())
    replay = f"{URL}/{created['id']}/replay"
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    assert ok(await client.post(replay, json={"since": since}, headers=admin_headers)) == {
        "count": 1
    }
    assert ok(await client.post(replay, json={"since": since}, headers=admin_headers)) == {
        "count": 0
    }
    await drain(app)
    assert [r["headers"]["webhook-id"] for r in receiver.requests] == [before]
    for body in (
        {},
        {"since": (datetime.now(UTC) - timedelta(days=8)).isoformat()},
        {"since": since, "until": (datetime.now(UTC) - timedelta(hours=2)).isoformat()},
    ):
        error(
            await client.post(replay, json=body, headers=admin_headers),
            400,
            "invalid_data",
            "since must be within the last 7 days",
        )
    # Replay reaches as far back as events are kept.
    settings_changed(webhook_env, MERCATO_EVENT_RETENTION_DAYS="2")
    get_settings.cache_clear()
    try:
        three_days = (datetime.now(UTC) - timedelta(days=3)).isoformat()
        error(
            await client.post(replay, json={"since": three_days}, headers=admin_headers),
            400,
            "invalid_data",
            "since must be within the last 2 days",
        )
    finally:
        webhook_env.delenv("MERCATO_EVENT_RETENTION_DAYS")
        get_settings.cache_clear()


# ------------------------------------------------------------------------- sellers


async def test_vendor_webhooks(client, admin_headers, webhook_env, receiver, app):
    acme, acme_member = await seller_member(client, admin_headers, "Acme")
    bolt, bolt_member = await seller_member(client, admin_headers, "Bolt")
    base = "/vendor/webhooks"
    mine = await create_webhook(client, acme_member, receiver.url("/acme"), events=["*"], base=base)
    assert mine["seller_id"] == acme["id"] and mine["secret"].startswith("whsec_")
    theirs = await create_webhook(client, bolt_member, receiver.url("/bolt"), base=base)
    admin_hook = await create_webhook(client, admin_headers, receiver.url("/admin"), events=["*"])

    for names, name in [
        (["order_group.created"], "order_group.created"),
        (["order.placed", "draft_order.converted"], "draft_order.converted"),
        (["webhook.disabled"], "webhook.disabled"),
    ]:
        error(
            await client.post(
                base, json={"url": receiver.url(), "events": names}, headers=acme_member
            ),
            400,
            "invalid_data",
            f"Event {name} is not available to sellers",
        )
    error(
        await client.post(
            base,
            json={"url": receiver.url(), "events": ["*"], "seller_id": bolt["id"]},
            headers=acme_member,
        ),
        400,
        "invalid_data",
    )
    # Another seller's endpoint is a 404, everywhere.
    missing = f"Webhook with id {theirs['id']} was not found"
    for method, path in [
        ("get", ""),
        ("post", "/rotate-secret"),
        ("delete", ""),
        ("get", "/deliveries"),
    ]:
        response = await getattr(client, method)(
            f"{base}/{theirs['id']}{path}", headers=acme_member
        )
        error(response, 404, "not_found", missing)
    listed = ok(await client.get(base, headers=acme_member))
    assert [w["id"] for w in listed["webhooks"]] == [mine["id"]]
    # The admin sees sellers' endpoints, with seller_id.
    listed = ok(await client.get(f"{URL}?seller_id={bolt['id']}", headers=admin_headers))
    assert [w["id"] for w in listed["webhooks"]] == [theirs["id"]]

    acme_order = await publish(
        app, "order.placed", {"id": "order_a", "order_group_id": "og_1"}, seller_id=acme["id"]
    )
    await publish(
        app, "order.placed", {"id": "order_b", "order_group_id": "og_1"}, seller_id=bolt["id"]
    )
    await publish(app, "order_group.created", {"id": "og_1"})
    await publish(
        app,
        "payment.captured",
        {"id": "pay_1", "order_id": "order_a", "capture_id": "capt_1"},
        seller_id=acme["id"],
    )
    await drain(app)
    by_path: dict[str, list[dict]] = {}
    for request in receiver.requests:
        by_path.setdefault(request["path"], []).append(request)
    acme_bodies = [verified(r, mine["secret"]) for r in by_path["/acme"]]
    assert sorted((b["type"], json.dumps(b["data"])) for b in acme_bodies) == [
        ("order.placed", '{"id": "order_a"}'),
        ("payment.captured", '{"order_id": "order_a"}'),
    ]
    assert acme_order in {r["headers"]["webhook-id"] for r in by_path["/acme"]}
    for request in by_path["/acme"]:
        for foreign in (b"order_b", b"og_1", b"pay_1", b"capt_1", bolt["id"].encode()):
            assert foreign not in request["body"]
    bolt_bodies = [verified(r, theirs["secret"]) for r in by_path["/bolt"]]
    assert [(b["type"], b["data"]) for b in bolt_bodies] == [("order.placed", {"id": "order_b"})]
    assert len(by_path["/admin"]) == 4  # the operator sees everything, unprojected
    assert {"id": "order_a", "order_group_id": "og_1"} in [
        verified(r, admin_hook["secret"])["data"] for r in by_path["/admin"]
    ]

    # At most 10 endpoints per seller.
    for i in range(9):
        await create_webhook(client, acme_member, receiver.url(f"/acme{i}"), base=base)
    error(
        await client.post(base, json={"url": receiver.url(), "events": ["*"]}, headers=acme_member),
        400,
        "invalid_data",
        "A seller can have at most 10 webhooks",
    )
    # The admin may disable a seller's endpoint.
    disabled = ok(
        await client.post(f"{URL}/{theirs['id']}", json={"is_active": False}, headers=admin_headers)
    )["webhook"]
    assert disabled["is_active"] is False and disabled["seller_id"] == bolt["id"]


# ------------------------------------------------------------------------- TLS


def self_signed(directory) -> tuple[str, str]:
    """A certificate for ``localhost`` (and its key), as files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)


async def test_https_keeps_the_host_name_for_sni_and_host(
    client, admin_headers, webhook_env, receiver, app, tmp_path
):
    """The attempt connects to the vetted address, yet TLS sees ``localhost`` (SNI, and the
    certificate is checked against it) and so does the ``Host`` header."""
    cert, key = self_signed(tmp_path)
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_side.load_cert_chain(cert, key)
    seen_sni: list[str | None] = []
    server_side.sni_callback = lambda _sock, name, _ctx: seen_sni.append(name)
    receiver.server.socket = server_side.wrap_socket(receiver.server.socket, server_side=True)
    url = f"https://localhost:{receiver.port}/tls"
    created = await create_webhook(client, admin_headers, url)
    await publish(app, "order.placed", {"id": "order_1"})
    trusting = ssl.create_default_context(cafile=cert)
    async with httpx.AsyncClient(verify=trusting, trust_env=False) as http:
        assert await run_due(app.state.sessionmaker, client=http) == 1
    [request] = receiver.requests
    assert request["path"] == "/tls" and request["headers"]["host"] == f"localhost:{receiver.port}"
    assert seen_sni == ["localhost"]
    verified(request, created["secret"])
    [delivery] = await deliveries(app, created["id"])
    assert delivery.status == "succeeded"


async def test_claims_lease_and_share_out(client, admin_headers, webhook_env, receiver, app):
    """A claim leases at most 4 deliveries of one endpoint (counting those already leased),
    never a leased one again until its lease expires, and reaches every endpoint."""
    first = await create_webhook(client, admin_headers, receiver.url("/1"))
    second = await create_webhook(client, admin_headers, receiver.url("/2"))
    for i in range(6):
        await publish(app, "order.placed", {"id": f"order_{i}"})
    sessionmaker = app.state.sessionmaker
    claimed = await claim(sessionmaker, 16, 60)
    per_endpoint = Counter(c.webhook_id for c in claimed)
    assert per_endpoint == {first["id"]: 4, second["id"]: 4}
    assert await claim(sessionmaker, 16, 60) == []  # leased: not claimed again
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == claimed[0].id)
            .values(lease_until=func.now() - timedelta(seconds=1))
        )
    # An expired lease (its process died) frees the delivery and its endpoint's slot.
    again = await claim(sessionmaker, 16, 60)
    assert [c.id for c in again] == [claimed[0].id]  # the oldest due, in the one free slot
    assert len(await claim(sessionmaker, 1, 60)) == 0


async def test_fan_out_twice_makes_one_delivery(client, admin_headers, webhook_env, receiver, app):
    created = await create_webhook(client, admin_headers, receiver.url(), events=["*"])
    event_id = await publish(app, "order.placed", {"id": "order_1"})
    async with app.state.sessionmaker() as session, session.begin():
        event = await session.get(OutboxEvent, event_id)
        assert event is not None
        assert await fan_out(session, event) == 0  # an event handled again: nothing new
    assert [d.event_id for d in await deliveries(app, created["id"])] == [event_id]
    # Two passes at once send it once.
    await asyncio.gather(run_due(app.state.sessionmaker), run_due(app.state.sessionmaker))
    assert [r["headers"]["webhook-id"] for r in receiver.requests] == [event_id]


# ------------------------------------------------------------- through the event delivery

E2E_DELIVERY = DeliveryConfig(
    lease_s=10, poll_ms=20, retry_base_ms=50, retry_max_ms=200, max_attempts=3
)


async def test_a_checkout_reaches_the_operator_and_only_its_sellers_endpoint(
    client, app, admin_headers, webhook_env, receiver
):
    market = await build_marketplace(client, admin_headers, sellers=2)
    admin_hook = await create_webhook(
        client, admin_headers, receiver.url(), events=["order.placed"]
    )
    seller = market.sellers[0]
    member = await _member(client, admin_headers, seller["id"])
    vendor_hook = await create_webhook(
        client, member, receiver.url("/vendor"), events=["*"], base="/vendor/webhooks"
    )
    unregister = register()  # what MERCATO_ENABLE_WEBHOOKS=1 does at start-up
    try:
        cart = await ready_cart(client, market)
        group = ok(await complete(client, market, cart["id"]))["order_group"]
        await _deliver(app, receiver)
    finally:
        unregister()

    async with app.state.sessionmaker() as session:
        placed = dict(
            (
                await session.execute(
                    select(OutboxEvent.id, OutboxEvent.seller_id).where(
                        OutboxEvent.name == "order.placed"
                    )
                )
            ).all()
        )
    to_admin = [r for r in receiver.requests if r["path"] == "/hooks"]
    to_vendor = [r for r in receiver.requests if r["path"] == "/vendor"]
    assert {r["headers"]["webhook-id"] for r in to_admin} == set(placed)
    for request in to_admin:
        assert verified(request, admin_hook["secret"])["type"] == "order.placed"
    # The seller's endpoint heard its own order only: never the sibling's nor the group's.
    own = {event_id for event_id, seller_id in placed.items() if seller_id == seller["id"]}
    assert {r["headers"]["webhook-id"] for r in to_vendor} == own
    for request in to_vendor:
        payload = verified(request, vendor_hook["secret"])
        body = json.dumps(payload)
        assert group["id"] not in body
        other = next(o["id"] for o in group["orders"] if o["seller_id"] != seller["id"])
        assert other not in body


async def _deliver(app, receiver) -> None:
    """A worker relays, fans out and sends until the three orders' events arrived."""
    worker = EventWorker(app.state.sessionmaker, config=E2E_DELIVERY, concurrency=2)
    await worker.start()
    try:
        for _ in range(400):  # 20 s at most
            if len(receiver.requests) >= 3:
                break
            await asyncio.sleep(0.05)
    finally:
        await worker.stop()


async def _member(client, admin: dict, seller_id: str) -> dict:
    email = f"hooks-{seller_id[-6:].lower()}@seller.test"
    ok(
        await client.post(
            f"/admin/sellers/{seller_id}/members",
            json={"email": email, "password": PASSWORD},
            headers=admin,
        )
    )
    return await login(client, "seller", email, PASSWORD)


def test_webhook_delivery_is_registered_unless_turned_off(monkeypatch: pytest.MonkeyPatch):
    from mercato import subscribers
    from mercato.events import delivery
    from mercato.settings import get_settings
    from mercato.webhooks import subscriber

    def registered() -> bool:
        return "webhooks" in {s.id for s in delivery.subscribers()}

    subscriber.register()()  # as a fresh process: an app built earlier registered it
    monkeypatch.setenv("MERCATO_ENABLE_WEBHOOKS", "0")
    get_settings.cache_clear()
    subscribers.load()
    assert not registered()
    monkeypatch.delenv("MERCATO_ENABLE_WEBHOOKS")  # on by default
    get_settings.cache_clear()
    try:
        subscribers.load()
        subscribers.load()  # every process start calls it; registering twice is harmless
        assert registered() and "webhooks" in delivery.worker_parts()
    finally:
        subscriber.register()()  # undo
        get_settings.cache_clear()
    assert not registered()


async def test_the_relay_writes_deliveries_only_for_events_an_endpoint_could_want(
    client, admin_headers, webhook_env, receiver, app
):
    """The ``webhooks`` interest: no delivery row (so no handler run) for an event no live
    endpoint subscribes to and may see — what keeps webhooks free for checkouts without
    endpoints (docs/benchmarks.md)."""
    from mercato.events.delivery import relay_batch, relay_ids

    seller, member = await seller_member(client, admin_headers, "Interested")
    other = await create_seller(client, admin_headers, "Elsewhere")
    unregister = register()

    async def relayed(name: str, seller_id: str | None = None, *, batch: bool = False) -> bool:
        async with app.state.sessionmaker() as session, session.begin():
            event = OutboxEvent(id=new_id("evt"), name=name, data={"id": "x"}, seller_id=seller_id)
            session.add(event)
        if batch:
            await relay_batch(app.state.sessionmaker)
        else:
            async with app.state.sessionmaker() as session, session.begin():
                await relay_ids(session, [event.id])
        async with app.state.sessionmaker() as session:
            rows = await session.scalar(
                text(
                    "SELECT count(*) FROM event_delivery"
                    " WHERE event_id = :id AND subscriber = 'webhooks'"
                ),
                {"id": event.id},
            )
        return rows == 1

    try:
        assert not await relayed("order.placed")
        assert not await relayed("order.placed", batch=True)
        hook = await create_webhook(client, admin_headers, receiver.url(), events=["order.placed"])
        assert await relayed("order.placed")
        assert await relayed("order.placed", seller["id"], batch=True)
        assert not await relayed("order.updated")
        ok(
            await client.post(
                f"{URL}/{hook['id']}", json={"is_active": False}, headers=admin_headers
            )
        )
        assert not await relayed("order.placed")

        await create_webhook(
            client, member, receiver.url("/v"), events=["*"], base="/vendor/webhooks"
        )
        assert await relayed("order.updated", seller["id"])
        assert not await relayed("order.updated", other["id"])
        assert not await relayed("order_group.created")
    finally:
        unregister()
