"""Secrets come from the environment, identical on every process (events-and-scale-out.md, What
makes a process stateless): with ``DATABASE_URL`` set a process without them refuses to start;
the embedded set-up keeps the data directory's."""

from __future__ import annotations

import pytest

from mercato.auth.tokens import TokenClaims, issue_token, read_token
from mercato.cli import main
from mercato.errors import MercatoError
from mercato.settings import get_settings

SECRETS = ("MERCATO_JWT_SECRET", "MERCATO_SECRET_KEY", "MERCATO_JWT_SECRET_PREVIOUS")
CLAIMS = TokenClaims("user", "user_1", "authid_1")


@pytest.fixture
def env(monkeypatch, tmp_path):
    """A clean slate: no database URL, no secrets, a data directory of this test's."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    for name in SECRETS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MERCATO_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


@pytest.mark.parametrize("missing", ["MERCATO_JWT_SECRET", "MERCATO_SECRET_KEY"])
def test_with_database_url_a_missing_secret_refuses_to_start(env, missing):
    env.setenv("DATABASE_URL", "postgresql://db.example/mercato")
    env.setenv("MERCATO_JWT_SECRET", "jwt")
    env.setenv("MERCATO_SECRET_KEY", "key")
    env.delenv(missing)
    get_settings.cache_clear()
    with pytest.raises(ValueError) as refused:
        get_settings()
    assert str(refused.value) == (
        f"{missing} must be set when DATABASE_URL is set: every process must share it"
    )


def test_every_command_prints_the_refusal_and_exits_non_zero(env, capsys):
    env.setenv("DATABASE_URL", "postgresql://db.example/mercato")
    for command in (["serve"], ["worker"], ["migrate"], ["seed", "--demo"]):
        get_settings.cache_clear()
        with pytest.raises(SystemExit) as exited:
            main(command)
        assert exited.value.code == (
            "error: MERCATO_JWT_SECRET must be set when DATABASE_URL is set: every process"
            " must share it"
        )


def test_with_database_url_the_secrets_come_from_the_environment(env, tmp_path):
    env.setenv("DATABASE_URL", "postgresql://db.example/mercato")
    env.setenv("MERCATO_JWT_SECRET", "jwt")
    env.setenv("MERCATO_SECRET_KEY", "key")
    settings = get_settings()
    assert (settings.jwt_secret, settings.secret_key) == ("jwt", "key")
    assert not (tmp_path / "jwt-secret").exists()


def test_without_database_url_the_data_directory_keeps_them(env, tmp_path):
    settings = get_settings()
    persisted = (tmp_path / "jwt-secret").read_text()
    assert settings.jwt_secret == settings.secret_key == persisted
    get_settings.cache_clear()
    assert get_settings().jwt_secret == persisted  # the same on the next start
    env.setenv("MERCATO_SECRET_KEY", "key")
    get_settings.cache_clear()
    assert (get_settings().jwt_secret, get_settings().secret_key) == (persisted, "key")


def test_a_token_of_the_previous_secret_is_accepted_during_a_rotation(env):
    env.setenv("MERCATO_JWT_SECRET", "old-secret-0123456789abcdef0123456789")
    get_settings.cache_clear()
    old = issue_token(CLAIMS)
    env.setenv("MERCATO_JWT_SECRET", "new-secret-0123456789abcdef0123456789")
    get_settings.cache_clear()
    with pytest.raises(MercatoError):
        read_token(old)
    env.setenv("MERCATO_JWT_SECRET_PREVIOUS", "old-secret-0123456789abcdef0123456789")
    get_settings.cache_clear()
    assert read_token(old) == CLAIMS
    assert read_token(issue_token(CLAIMS)) == CLAIMS  # new tokens: the new secret
    env.setenv("MERCATO_JWT_SECRET_PREVIOUS", "another-secret-0123456789abcdef012345")
    get_settings.cache_clear()
    with pytest.raises(MercatoError):
        read_token(old)
