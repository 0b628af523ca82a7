"""Password hashing runs off the event loop, a bounded number at a time, and an unknown email
costs a verification like a known one (no enumeration by timing)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from mercato.auth import passwords
from tests.api.helpers import ADMIN_EMAIL, PASSWORD, create_admin, ok

# Generous bounds: they only turn a regression (hashing on the loop) into a failure, not a hang.
WAIT = 60


class HeldHasher:
    """Verifies with the real (cheap) hasher once the test releases it; a thread-blocking wait,
    so it would freeze the event loop if it ran there."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.entered = 0
        self.verified: list[str] = []
        self.waits: list[bool] = []

    def hash(self, password: str) -> str:
        return self.real.hash(password)

    def verify(self, password: str, password_hash: str) -> bool:
        with self.lock:
            self.entered += 1
        self.waits.append(self.release.wait(timeout=WAIT))
        self.verified.append(password_hash)
        return self.real.verify(password, password_hash)


@pytest.fixture
async def held(app, fast_hashing, monkeypatch) -> HeldHasher:
    await create_admin(app)
    hasher = HeldHasher(passwords._hasher)
    monkeypatch.setattr(passwords, "_hasher", hasher)
    return hasher


async def until(condition, what: str) -> None:
    async def poll() -> None:
        # The state is changed by worker threads and anyio's limiter: there is no event to await.
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.01)

    try:
        await asyncio.wait_for(poll(), timeout=WAIT)
    except TimeoutError:
        pytest.fail(f"timed out waiting until {what}")


def log_in(client, password: str = PASSWORD, email: str = ADMIN_EMAIL):
    return client.post("/auth/user/emailpass", json={"email": email, "password": password})


async def test_health_answers_while_a_login_is_hashing(client, held):
    login = asyncio.create_task(log_in(client))
    try:
        await until(lambda: held.entered == 1, "the login is hashing")
        health = await asyncio.wait_for(client.get("/health"), timeout=WAIT)
        assert ok(health) == {"status": "ok"}
        assert not login.done()
    finally:
        held.release.set()
    assert ok(await asyncio.wait_for(login, timeout=WAIT))["token"]
    assert held.waits == [True]  # released by the test, not by the timeout


async def test_a_burst_of_logins_hashes_a_bounded_number_at_a_time(client, held):
    burst = passwords.HASHING_SLOTS + 2
    logins = [
        asyncio.create_task(log_in(client, PASSWORD if n % 2 else "wrong-password"))
        for n in range(burst)
    ]
    limiter = passwords.hashing_limiter()
    try:
        await until(lambda: limiter.statistics().tasks_waiting == 2, "two logins queue")
        assert limiter.statistics().borrowed_tokens == passwords.HASHING_SLOTS
        # A borrowed slot's thread may not have reached the hasher yet on a loaded machine.
        await until(lambda: held.entered == passwords.HASHING_SLOTS, "every slot hashes")
        assert held.entered == passwords.HASHING_SLOTS
        assert ok(await asyncio.wait_for(client.get("/health"), timeout=WAIT))
    finally:
        held.release.set()
    answers = await asyncio.wait_for(asyncio.gather(*logins), timeout=WAIT)
    assert sorted(r.status_code for r in answers) == [200] * (burst // 2) + [401] * (
        burst - burst // 2
    )
    assert held.entered == burst and all(held.waits)


async def test_an_unknown_email_is_verified_against_a_dummy_hash(client, held):
    held.release.set()
    wrong = await log_in(client, "wrong-password")
    unknown = await log_in(client, email="nobody@example.com")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    known_hash, dummy = held.verified
    assert dummy == passwords._DUMMY_HASH and known_hash != dummy
