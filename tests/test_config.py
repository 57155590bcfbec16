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
    custom = pa.AsyncPurse(**CREDS, base_url="http://127.0.0.1:9/", token_url="https://a/tok")
    assert custom.settings.base_url == "http://127.0.0.1:9"
    assert custom.settings.token_url == "https://a/tok"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"environment": "production", "base_url": "http://api.purse-live.com"}, "base_url"),
        ({"base_url": "http://10.0.0.5:8080"}, "base_url"),
        ({"base_url": "https://api.example", "token_url": "http://auth.example/t"}, "token_url"),
    ],
)
def test_cleartext_http_to_another_host_is_refused(kwargs: dict[str, str], field: str) -> None:
    # The client secret and bearer tokens would cross the network in clear.
    with pytest.raises(pa.ConfigurationError, match=f"{field}.*cleartext"):
        pa.AsyncPurse(**CREDS, **kwargs)
    allowed = pa.AsyncPurse(**CREDS, **kwargs, allow_insecure_http=True)
    assert allowed.settings.base_url.startswith("http")


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "[::1]", "localhost"])
def test_cleartext_http_to_this_machine_is_allowed(host: str) -> None:
    purse = pa.AsyncPurse(**CREDS, base_url=f"http://{host}:8080")
    assert purse.settings.token_url == f"http://{host}:8080/oauth/token"


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"default_headers": {"x-tenant": "a\r\nx-evil: 1"}}, "control characters"),
        ({"default_headers": {"bad name": "v"}}, "invalid header name"),
        ({"default_headers": {"X-Idempotency-Key": "k"}}, "set by the SDK"),
        ({"max_response_size": 10}, "max_response_size"),
        ({"idempotent_creates": "yes"}, "idempotent_creates"),
    ],
)
def test_bad_client_options_are_named(kwargs: dict[str, object], fragment: str) -> None:
    with pytest.raises(pa.ConfigurationError, match=fragment):
        pa.AsyncPurse(**CREDS, **kwargs)  # type: ignore[arg-type]


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
