"""Webhook deliveries processed once and in order: `WebhookEvent`, the `WebhookStore` protocol,
its in-memory default `MemoryWebhookStore`, and the dedupe logic of `webhooks.process`.

Purse sends the whole payment on each change; the same delivery can come twice and deliveries
can arrive out of order. Each payment carries a `version` that grows with every change, so per
payment the highest version seen wins:

- a delivery with a version higher than any recorded is new (`reason="new"`), and its version
  is recorded (atomically "if higher", by the store);
- the same version again is a duplicate (`"duplicate"`), a lower one is stale (`"stale"`): both
  come back with `is_new=False`, so the handler can answer 2xx and do nothing;
- a payment without a `version` cannot be ordered: it is handed over as new
  (`"unversioned"`) and nothing is recorded.

With `refetch=True` a new delivery's payment is read again from the API (the authoritative
state, possibly newer than the delivery); the version recorded is then the higher of the two,
so the webhook of that newer version is a duplicate when it arrives. Nothing is recorded when
the refetch fails: the redelivery is processed again.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar, runtime_checkable

import attrs

from .._errors import ConfigurationError

if TYPE_CHECKING:
    from ..models.payment import Payment
    from ..models.payment_link import PaymentLink

__all__ = [
    "MemoryWebhookStore",
    "PaymentLinkEvent",
    "WebhookEvent",
    "WebhookReason",
    "WebhookStore",
    "dedupe",
    "dedupe_link",
]

WebhookReason = Literal["new", "duplicate", "stale", "unversioned"]
# Named, not referenced: the model classes are built on first use (purse_async.models).
_R = TypeVar("_R", "Payment", "PaymentLink")
_R_co = TypeVar("_R_co", "Payment", "PaymentLink", contravariant=True)


@runtime_checkable
class WebhookStore(Protocol):
    """Where `webhooks.process` remembers the highest payment version it handed over as new
    (and `process_any` the highest version of each payment link, under the link's id).

    Implement it on shared storage (a database row per id, Redis) when several processes
    receive webhooks; `record` must be atomic across them ("set if higher": e.g. `UPDATE ...
    SET version = :v WHERE payment_id = :id AND version < :v`, or a Lua script).
    """

    async def seen_version(self, payment_id: str) -> int | None:
        """The highest version recorded for this payment (or link) id, None if none."""
        ...

    async def record(self, payment_id: str, version: int) -> bool:
        """Record `version` if it is higher than any recorded for this id (atomically):
        True if it was recorded, False if an equal or higher version was there already."""
        ...


class MemoryWebhookStore:
    """The default store (one per client): versions in this process's memory.

    Enough for one process; several workers (gunicorn, several hosts) each see their own
    deliveries only: give them a shared `WebhookStore`. Remembers the `max_payments` payments
    (and payment links) updated most recently (older ones are forgotten: a very late duplicate
    of a forgotten one would count as new again).
    """

    def __init__(self, max_payments: int = 100_000) -> None:
        if isinstance(max_payments, bool) or not isinstance(max_payments, int) or max_payments < 1:
            raise ConfigurationError(f"max_payments must be an int >= 1, got {max_payments!r}")
        self.max_payments = max_payments
        self._versions: OrderedDict[str, int] = OrderedDict()

    async def seen_version(self, payment_id: str) -> int | None:
        return self._versions.get(payment_id)

    async def record(self, payment_id: str, version: int) -> bool:
        # No await in here: atomic on the event loop.
        seen = self._versions.get(payment_id)
        if seen is not None and version <= seen:
            return False
        self._versions[payment_id] = version
        self._versions.move_to_end(payment_id)
        while len(self._versions) > self.max_payments:
            self._versions.popitem(last=False)
        return True

    def __len__(self) -> int:
        return len(self._versions)


@attrs.frozen(kw_only=True)
class WebhookEvent:
    """The outcome of `webhooks.process`.

    `is_new`: act on it (False: a duplicate or an older version than one already handled;
    answer 2xx and ignore it). `reason`: "new", "duplicate", "stale" or "unversioned".
    `payment`: the payment to act on (re-read from the API when `refetched`), `delivered`: the
    payment as the webhook body had it. `seen_version`: the highest version recorded before
    this delivery (None: first seen, or unversioned).
    """

    payment: Payment
    delivered: Payment
    is_new: bool
    reason: WebhookReason
    seen_version: int | None = None
    refetched: bool = False

    @property
    def payment_id(self) -> str:
        return self.delivered.id

    @property
    def version(self) -> int | None:
        """The delivered version."""
        return self.delivered.version


@attrs.frozen(kw_only=True)
class PaymentLinkEvent:
    """The outcome of `webhooks.process_any` for a link-status delivery (Pay by Link).

    As `WebhookEvent`, per link: `is_new` (act on it), `reason`, `seen_version`, `refetched`;
    `payment_link` is the link to act on (re-read with `payment_links.retrieve` when
    `refetched`), `delivered` the link as the webhook body had it.
    """

    payment_link: PaymentLink
    delivered: PaymentLink
    is_new: bool
    reason: WebhookReason
    seen_version: int | None = None
    refetched: bool = False

    @property
    def payment_link_id(self) -> str:
        return self.delivered.id

    @property
    def version(self) -> int | None:
        """The delivered version."""
        return self.delivered.version


def check_store(store: object) -> WebhookStore:
    if not isinstance(store, WebhookStore):
        raise ConfigurationError(
            "store must implement WebhookStore (async seen_version(payment_id) and async "
            f"record(payment_id, version)), got {type(store).__name__}"
        )
    return store


class _Event(Protocol[_R_co]):
    """Makes the event of one delivery (`WebhookEvent` or `PaymentLinkEvent`)."""

    def __call__(
        self,
        current: _R_co,
        delivered: _R_co,
        *,
        is_new: bool,
        reason: WebhookReason,
        seen_version: int | None = None,
        refetched: bool = False,
    ) -> Any: ...


def _payment_event(
    current: Payment,
    delivered: Payment,
    *,
    is_new: bool,
    reason: WebhookReason,
    seen_version: int | None = None,
    refetched: bool = False,
) -> WebhookEvent:
    return WebhookEvent(
        payment=current,
        delivered=delivered,
        is_new=is_new,
        reason=reason,
        seen_version=seen_version,
        refetched=refetched,
    )


def _link_event(
    current: PaymentLink,
    delivered: PaymentLink,
    *,
    is_new: bool,
    reason: WebhookReason,
    seen_version: int | None = None,
    refetched: bool = False,
) -> PaymentLinkEvent:
    return PaymentLinkEvent(
        payment_link=current,
        delivered=delivered,
        is_new=is_new,
        reason=reason,
        seen_version=seen_version,
        refetched=refetched,
    )


def _old(delivered: _R, seen: int | None, event: _Event[_R]) -> Any:
    """The event of a delivery no newer than `seen`, None if it is newer."""
    version = delivered.version
    if seen is None or version is None or version > seen:
        return None
    reason: WebhookReason = "duplicate" if version == seen else "stale"
    return event(delivered, delivered, is_new=False, reason=reason, seen_version=seen)


async def dedupe(
    delivered: Payment,
    store: WebhookStore,
    refetch: Callable[[str], Awaitable[Payment]] | None,
) -> WebhookEvent:
    """Classify a parsed delivery against `store` (and record it if new); with `refetch`,
    re-read a new delivery's payment before recording."""
    event: WebhookEvent = await _dedupe(delivered, store, refetch, _payment_event)
    return event


async def dedupe_link(
    delivered: PaymentLink,
    store: WebhookStore,
    refetch: Callable[[str], Awaitable[PaymentLink]] | None,
) -> PaymentLinkEvent:
    """`dedupe` for a link-status delivery: per link, the highest `version` wins (recorded in
    the same store under the link id: ids are UUIDs, a link's never equals a payment's)."""
    event: PaymentLinkEvent = await _dedupe(delivered, store, refetch, _link_event)
    return event


async def _dedupe(
    delivered: _R,
    store: WebhookStore,
    refetch: Callable[[str], Awaitable[_R]] | None,
    make: _Event[_R],
) -> Any:
    version = delivered.version
    if version is None:
        current = delivered if refetch is None else await refetch(delivered.id)
        return make(
            current,
            delivered,
            is_new=True,
            reason="unversioned",
            refetched=refetch is not None,
        )
    seen = await store.seen_version(delivered.id)
    event = _old(delivered, seen, make)
    if event is not None:
        return event  # no refetch for what will be ignored
    current = delivered if refetch is None else await refetch(delivered.id)
    newest = version
    if current.version is not None and current.version > newest:
        newest = current.version
    if not await store.record(delivered.id, newest):
        # Another delivery (another worker) recorded an equal or higher version meanwhile.
        now = await store.seen_version(delivered.id)
        event = _old(delivered, now, make)
        if event is not None:
            return event
        # A store that refused the record but reports no such version (evicted meanwhile):
        # trust the refusal, an equal or higher version than `newest` was handled.
        return make(
            delivered,
            delivered,
            is_new=False,
            reason="stale" if newest > version else "duplicate",
            seen_version=now,
        )
    return make(
        current,
        delivered,
        is_new=True,
        reason="new",
        seen_version=seen,
        refetched=refetch is not None,
    )
