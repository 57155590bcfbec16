"""Capture orders in Celery tasks: one `purse_sync.Purse` per worker process, one OAuth2 token
for the whole fleet through Redis.

    CELERY_BROKER_URL=redis://127.0.0.1:6379/0 PURSE_...=... \\
        celery -A tasks worker --pool prefork --concurrency 4

- The client is made lazily in each worker process, after the fork (`purse()`; the
  `worker_process_init` signal drops any client the parent made before forking), and closed
  when the process stops (`worker_process_shutdown`). Every task of the process shares it: one
  connection pool and one bridge thread per process, never one per task.
- Its token store is `RedisTokenStore` (`pip install 'purse-sdk[redis]'`) on
  `PURSE_TOKEN_STORE_URL` (default: the broker, when it is Redis): the 4 processes of this
  worker, and every other worker on any host pointed at the same Redis, share one token and
  make one token request between them. Set `PURSE_TOKEN_STORE_URL=` (empty) to keep a token
  per process instead.
- Every capture is keyed by its order (`{order_reference}/capture`): Celery delivers a task at
  least once (`acks_late`: a task whose worker died runs again), a producer may enqueue the
  same order twice, and a retry after a timeout may meet a capture that went through. Under
  one key Purse applies it once; the SDK returns the existing capture with `replayed=True`.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from celery import Celery, signals

import purse_sync

logger = logging.getLogger(__name__)

BROKER_URL = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", BROKER_URL)

app = Celery("captures", broker=BROKER_URL, backend=RESULT_BACKEND)
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    # At least once: a task is acknowledged after it ran, so a worker killed mid-task (OOM,
    # deploy) leaves it to another one. The idempotency key makes the second run harmless.
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    # One task at a time per process: a slow capture does not hold others hostage.
    worker_prefetch_multiplier=1,
    result_expires=3600,
    broker_connection_retry_on_startup=True,
)

# This process's client and the token store it uses (None until the first task needs them).
_purse: purse_sync.Purse | None = None
_store: Any = None


def _token_store() -> Any:
    """A `RedisTokenStore` on `PURSE_TOKEN_STORE_URL` (default: a Redis broker), else None
    (each process keeps its own token in memory)."""
    default = BROKER_URL if BROKER_URL.startswith(("redis://", "rediss://")) else ""
    url = os.environ.get("PURSE_TOKEN_STORE_URL", default)
    if not url:
        return None
    try:
        from purse_async.contrib.redis import RedisTokenStore
    except ImportError:
        logger.warning(
            "redis-py is missing (pip install 'purse-sdk[redis]'): one token per process"
        )
        return None
    return RedisTokenStore(url, prefix=os.environ.get("PURSE_TOKEN_STORE_PREFIX", "purse:"))


def purse() -> purse_sync.Purse:
    """This worker process's client, made on first use (after the fork)."""
    global _purse, _store
    if _purse is None:
        _store = _token_store()
        _purse = purse_sync.Purse.from_env(token_store=_store)
    return _purse


@signals.worker_process_init.connect
def _forget_parents_client(**_: Any) -> None:
    # A client made in the parent before the fork belongs to the parent: start afresh.
    global _purse, _store
    _purse = _store = None


@signals.worker_process_shutdown.connect
def _close_client(**_: Any) -> None:
    global _purse, _store
    if _purse is not None:
        _purse.close()
    if _store is not None:
        _store.close()  # the store is ours, not the client's: closing the client leaves it open
    _purse = _store = None


@app.task(
    name="captures.capture_order",
    bind=True,
    # Whatever the SDK could not get through with its own retries, Celery tries again later,
    # with the same key: safe whether or not the capture was applied.
    autoretry_for=(
        purse_sync.APIConnectionError,
        purse_sync.RateLimitError,
        purse_sync.InternalServerError,
    ),
    retry_backoff=2,
    retry_backoff_max=60,
    max_retries=5,
)
def capture_order(
    self: Any, payment_id: str, order_reference: str, amount: int | None = None
) -> dict[str, Any]:
    """Capture `amount` (None: all that is authorized) of the order's payment, once."""
    capture = purse().payments.capture(
        payment_id, amount=amount, idempotency_key=f"{order_reference}/capture"
    )
    return {
        "payment_id": payment_id,
        "order_reference": order_reference,
        "capture_id": capture.id,
        "amount": capture.amount,
        "status": None if capture.status is None else str(capture.status),
        "replayed": capture.replayed,
        "worker_pid": os.getpid(),
    }
