"""One `purse_sync.Purse` per process, built from the PURSE_* settings on first use.

Every request thread shares it: one connection pool and one OAuth2 token for the process. It
survives the fork of `gunicorn --preload` (and of Celery's prefork pool): a child that uses it
gets its own pool and token, and leaves the parent's alone.
"""

from __future__ import annotations

import threading
from typing import Any

from django.conf import settings

import purse_sync

#: The purse_sync.Purse keyword arguments that can be set as PURSE_<NAME> settings.
OPTIONS = (
    "client_id",
    "client_secret",
    "api_key",
    "entity_id",
    "environment",
    "base_url",
    "token_url",
    "timeout",
    "max_retries",
    "deadline",
    "max_connections",
)

_lock = threading.Lock()
_client: purse_sync.Purse | None = None


def purse_options() -> dict[str, Any]:
    """The Purse keyword arguments given by the PURSE_* settings that are set (not None)."""
    found = {name: getattr(settings, f"PURSE_{name.upper()}", None) for name in OPTIONS}
    return {name: value for name, value in found.items() if value is not None}


def get_purse() -> purse_sync.Purse:
    global _client
    client = _client
    if client is not None:
        return client
    with _lock:
        if _client is None:
            _client = purse_sync.Purse(**purse_options())
        return _client


def reset_purse() -> None:
    """Close and forget the client: the next request builds one from the current settings."""
    global _client
    with _lock:
        client, _client = _client, None
    if client is not None:
        client.close()
