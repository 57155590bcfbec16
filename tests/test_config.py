"""Configuration: credentials checked at construction, environments, from_env, safe reprs."""

from __future__ import annotations

import pytest

import purse_async as pa

CREDS = {"client_id": "cid", "client_secret": "s3cr3t-value", "api_key": "ak-value"}


@pytest.mark.parametrize("missing", ["client_id", "client_secret", "api_key"])
@pytest.mark.parametrize("value", [None, "", "   "])
def test_missing_or_empty_credential_is_named(missing: str, value: str | None) -> None:
    with pytest.raises(pa.ConfigurationError, match=missing):
        pa.AsyncPurse(**{**CREDS, missing: value})


def test_environments_and_base_url() -> None:
    assert pa.AsyncPurse(**CREDS).settings.base_url == "https://api.purse-sandbox.com"
    prod = pa.AsyncPurse(**CREDS, environment="production").settings
    assert prod.base_url == "https://api.purse-live.com"
    assert prod.token_url == "https://api.purse-live.com/oauth/token"
    custom = pa.AsyncPurse(**CREDS, base_url="http://127.0.0.1:9/", token_url="http://a/tok")
    assert custom.settings.base_url == "http://127.0.0.1:9"
    assert custom.settings.token_url == "http://a/tok"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"environment": "staging"}, "environment"),
        ({"base_url": "ftp://x"}, "base_url"),
        ({"base_url": "http://x/?key=1"}, "base_url"),
        ({"timeout": 0}, "timeout"),
        ({"max_retries": -1}, "max_retries"),
        ({"entity_id": ""}, "entity_id"),
    ],
)
def test_bad_settings_are_named(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(pa.ConfigurationError, match=field):
        pa.AsyncPurse(**CREDS, **kwargs)  # type: ignore[arg-type]


def test_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PURSE_CLIENT_ID", "env-id")
    monkeypatch.setenv("PURSE_CLIENT_SECRET", "env-secret")
    monkeypatch.setenv("PURSE_API_KEY", "env-key")
    monkeypatch.setenv("PURSE_ENTITY_ID", "ent-1")
    monkeypatch.setenv("PURSE_ENVIRONMENT", "production")
    monkeypatch.delenv("PURSE_BASE_URL", raising=False)
    client = pa.AsyncPurse.from_env()
    assert client.settings.client_id == "env-id"
    assert client.settings.entity_id == "ent-1"
    assert client.settings.base_url == "https://api.purse-live.com"
    monkeypatch.setenv("PURSE_BASE_URL", "http://127.0.0.1:1")
    assert pa.AsyncPurse.from_env(timeout=5).settings.base_url == "http://127.0.0.1:1"


def test_from_env_names_the_missing_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PURSE_CLIENT_ID", "PURSE_CLIENT_SECRET", "PURSE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(pa.ConfigurationError, match="PURSE_CLIENT_ID"):
        pa.AsyncPurse.from_env()


def test_secrets_are_not_in_reprs() -> None:
    client = pa.AsyncPurse(**CREDS)
    for text in (repr(client), repr(client.settings), str(client.settings)):
        assert "s3cr3t-value" not in text
        assert "ak-value" not in text
