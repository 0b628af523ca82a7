"""Webhooks without a database: signatures (the Standard Webhooks test vector), secrets, the
SSRF address rules, retry timing and the sellers' payload projection."""

from __future__ import annotations

import base64
import ipaddress
import time
from collections.abc import Iterator

import pytest
from standardwebhooks.webhooks import WebhookVerificationError

from mercato.errors import MercatoError
from mercato.webhooks import secrets
from mercato.webhooks.config import parse_schedule, webhook_settings
from mercato.webhooks.dispatcher import next_delay, retry_after
from mercato.webhooks.projection import project_for_seller
from mercato.webhooks.signing import sign, verify
from mercato.webhooks.targets import check_target, check_url, is_public, vet

# The Standard Webhooks specification's published test vector.
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TS = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


@pytest.fixture
def webhook_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Webhook settings from a clean environment, read again after the test changes it."""
    for name in ("MERCATO_WEBHOOK_ALLOW_HTTP", "MERCATO_WEBHOOK_ALLOW_PRIVATE_TARGETS"):
        monkeypatch.delenv(name, raising=False)
    webhook_settings.cache_clear()
    yield monkeypatch
    webhook_settings.cache_clear()


def test_signature_matches_the_standard_webhooks_vector() -> None:
    assert sign([VECTOR_SECRET], VECTOR_ID, VECTOR_TS, VECTOR_BODY) == VECTOR_SIGNATURE


def test_rotation_signs_with_both_secrets_and_either_verifies() -> None:
    other = secrets.generate_secret()
    header = sign([other, VECTOR_SECRET], VECTOR_ID, VECTOR_TS, VECTOR_BODY)
    first, second = header.split(" ")
    assert second == VECTOR_SIGNATURE and first.startswith("v1,") and first != second
    now = int(time.time())
    body = b'{"type":"order.placed"}'
    headers = {
        "webhook-id": "evt_1",
        "webhook-timestamp": str(now),
        "webhook-signature": sign([other, VECTOR_SECRET], "evt_1", now, body),
    }
    verify(other, body, headers)
    verify(VECTOR_SECRET, body, headers)
    with pytest.raises(WebhookVerificationError):
        verify(secrets.generate_secret(), body, headers)
    with pytest.raises(WebhookVerificationError):
        verify(other, body + b" ", headers)


def test_generated_secrets_and_their_encryption() -> None:
    secret = secrets.generate_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret[6:])) == 32
    assert secrets.check_secret(secret) == secret
    sealed = secrets.encrypt(secret)
    assert secret not in sealed and secret[6:] not in sealed
    assert secrets.encrypt(secret) != sealed  # a fresh nonce every time
    assert secrets.decrypt(sealed) == secret
    assert secrets.secret_hint(secret) == f"whsec_…{secret[-4:]}"


@pytest.mark.parametrize(
    "supplied",
    [
        "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",  # no prefix
        "whsec_" + base64.b64encode(b"x" * 23).decode(),  # too short
        "whsec_" + base64.b64encode(b"x" * 65).decode(),  # too long
        "whsec_not base64!",
        "whsec_",
    ],
)
def test_supplied_secrets_out_of_bounds_are_refused(supplied: str) -> None:
    with pytest.raises(MercatoError) as refused:
        secrets.check_secret(supplied)
    assert refused.value.message == "secret must be whsec_ followed by base64 of 24 to 64 bytes"


def test_supplied_secret_bounds_are_inclusive() -> None:
    for size in (24, 64):
        supplied = "whsec_" + base64.b64encode(b"k" * size).decode()
        assert secrets.check_secret(supplied) == supplied


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",  # loopback
        "127.8.9.10",
        "::1",
        "10.0.0.1",  # RFC 1918
        "172.16.0.1",
        "172.31.255.254",
        "192.168.1.1",
        "100.64.0.1",  # CGNAT 100.64/10
        "100.127.255.254",
        "169.254.169.254",  # link-local (cloud metadata)
        "fe80::1",  # link-local IPv6
        "fc00::1",  # unique-local fc00::/7
        "fd12:3456::1",
        "0.0.0.0",  # unspecified
        "::",
        "240.0.0.1",  # reserved
        "255.255.255.255",
        "192.0.2.1",  # documentation
        "198.18.0.1",  # benchmarking
        "224.0.0.1",  # multicast
        "ff02::1",
        "::ffff:127.0.0.1",  # IPv4-mapped loopback
        "::ffff:10.1.2.3",
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
        "64:ff9b::808:808",  # NAT64 even of a public address
    ],
)
def test_non_public_addresses_are_refused(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "93.184.216.34", "2606:4700::1111"])
def test_public_addresses_pass(address: str) -> None:
    assert is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "url",
    [
        None,
        "",
        "/hooks",
        "hooks.example.com/x",
        "http://hooks.example.com/x",
        "ftp://hooks.example.com/x",
        "https://user:pw@hooks.example.com/x",
        "https://user@hooks.example.com/x",
        "https://hooks.example.com/x#frag",
        "https://hooks.example.com/" + "a" * 2048,
        "https:///nohost",
    ],
)
def test_url_rules(webhook_env: pytest.MonkeyPatch, url: object) -> None:
    with pytest.raises(MercatoError) as refused:
        check_url(url)
    assert refused.value.message == "url must be an absolute https URL"


def test_http_only_when_allowed(webhook_env: pytest.MonkeyPatch) -> None:
    longest = "https://hooks.example.com/" + "a" * (2048 - len("https://hooks.example.com/"))
    assert check_url(longest).hostname == "hooks.example.com"
    webhook_env.setenv("MERCATO_WEBHOOK_ALLOW_HTTP", "1")
    webhook_settings.cache_clear()
    assert check_url("http://hooks.example.com/x").scheme == "http"


async def test_a_name_resolving_to_loopback_is_refused(webhook_env: pytest.MonkeyPatch) -> None:
    for url, shown in [
        ("https://localhost/hooks", "127.0.0.1"),
        ("https://127.0.0.1/hooks", "127.0.0.1"),
        ("https://[::1]:8443/hooks", "::1"),
        ("https://169.254.169.254/latest/meta-data", "169.254.169.254"),
    ]:
        with pytest.raises(MercatoError) as refused:
            await check_target(url)
        message = refused.value.message
        assert message.startswith("url resolves to a non-public address (")
        if url != "https://localhost/hooks":
            assert message == f"url resolves to a non-public address ({shown})"
    # At attempt time the same check: no request is sent.
    with pytest.raises(Exception, match=r"^blocked: (127\.0\.0\.1|::1) is not a public address$"):
        await vet("https://localhost/hooks")
    with pytest.raises(MercatoError) as unresolved:
        await check_target("https://hooks.example.invalid/x")
    assert unresolved.value.message == "url host hooks.example.invalid does not resolve"
    webhook_env.setenv("MERCATO_WEBHOOK_ALLOW_PRIVATE_TARGETS", "1")
    webhook_settings.cache_clear()
    assert await check_target("https://localhost/hooks") == "https://localhost/hooks"


def test_retry_schedule_and_retry_after(webhook_env: pytest.MonkeyPatch) -> None:
    settings = webhook_settings()
    assert settings.retry_schedule == (0, 5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
    for made, base in enumerate(settings.retry_schedule):
        delay = next_delay(made, settings)
        assert delay is not None and base * 0.9 <= delay <= base * 1.1
    assert next_delay(10, settings) is None
    assert parse_schedule("0s,1.5s,2m") == (0, 1.5, 120)
    with pytest.raises(ValueError, match="MERCATO_WEBHOOK_RETRY_SCHEDULE"):
        parse_schedule("soon")
    assert retry_after("120") == 120
    assert retry_after(str(10 * 86400)) == 86400  # capped at 24 h
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0  # a date in the past
    assert retry_after("later") is None and retry_after(None) is None


def test_vendor_projection_keeps_only_the_orders_own_ids() -> None:
    assert project_for_seller(
        "order.placed", {"id": "order_1", "order_group_id": "og_1", "cart_id": "cart_1"}
    ) == {"id": "order_1"}
    assert project_for_seller(
        "order.return_requested", {"order_id": "order_1", "return_id": "ret_1"}
    ) == {"order_id": "order_1", "return_id": "ret_1"}
    assert project_for_seller(
        "payment.captured", {"id": "pay_1", "order_id": "order_1", "capture_id": "capt_1"}
    ) == {"order_id": "order_1"}
    assert project_for_seller("promotion.updated", {"id": "promo_1", "x": "y"}) == {"id": "promo_1"}
