"""One `purse_sync.Purse` per process, built from settings.PURSE on first use.

Every request thread shares it: one connection pool and one OAuth2 token for the process.
"""

from __future__ import annotations

import threading

from django.conf import settings

import purse_sync

_lock = threading.Lock()
_client: purse_sync.Purse | None = None


def get_purse() -> purse_sync.Purse:
    global _client
    with _lock:
        if _client is None:
            _client = purse_sync.Purse(**{k: v for k, v in settings.PURSE.items() if v})
        return _client


def reset_purse() -> None:
    """Close and forget the client (tests change settings.PURSE between classes)."""
    global _client
    with _lock:
        if _client is not None:
            _client.close()
        _client = None
