"""A token signed by one process verifies on every process sharing ``MERCATO_JWT_SECRET``, and on
those that keep it as ``MERCATO_JWT_SECRET_PREVIOUS`` during a rotation
(events-and-scale-out.md, What makes a process stateless).

Each app is built separately, as each process builds its own; a process's settings are its
environment, so the environment is switched to the one of the process a request goes to."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from mercato.http.app import create_app
from mercato.settings import get_settings
from tests.api.helpers import ADMIN_EMAIL, PASSWORD, create_admin, login

SECRET_A = "machine-secret-a-0123456789abcdef0123456789"
SECRET_B = "machine-secret-b-0123456789abcdef0123456789"


@pytest.fixture
def process_env(monkeypatch, database_url) -> Iterator[object]:
    """``process_env(jwt_secret, previous=None)``: become a process of this deployment."""

    def become(jwt_secret: str, previous: str | None = None) -> None:
        monkeypatch.setenv("DATABASE_URL", database_url)
        monkeypatch.setenv("MERCATO_JWT_SECRET", jwt_secret)
        monkeypatch.setenv("MERCATO_SECRET_KEY", "deployment-key-0123456789abcdef0123456789")
        if previous is None:
            monkeypatch.delenv("MERCATO_JWT_SECRET_PREVIOUS", raising=False)
        else:
            monkeypatch.setenv("MERCATO_JWT_SECRET_PREVIOUS", previous)
        get_settings.cache_clear()

    yield become
    monkeypatch.undo()
    get_settings.cache_clear()


async def _users(app, headers: dict[str, str]) -> int:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return (await client.get("/admin/users", headers=headers)).status_code


async def test_a_token_of_one_process_is_accepted_by_another_sharing_the_secret(
    engine, fast_hashing, process_env
):
    process_env(SECRET_A)
    issuer = create_app(engine=engine)
    await create_admin(issuer)
    transport = httpx.ASGITransport(app=issuer, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        headers = await login(client, "user", ADMIN_EMAIL, PASSWORD)
    assert await _users(issuer, headers) == 200

    process_env(SECRET_A)
    assert await _users(create_app(engine=engine), headers) == 200  # another machine

    process_env(SECRET_B)
    assert await _users(create_app(engine=engine), headers) == 401  # another deployment

    process_env(SECRET_B, previous=SECRET_A)
    rotated = create_app(engine=engine)
    assert await _users(rotated, headers) == 200  # the rotation logs nobody out
    process_env(SECRET_B, previous="an-older-secret-0123456789abcdef0123456789")
    assert await _users(rotated, headers) == 401
