"""`ThreadedSandbox`: the sandbox served from its own event-loop thread, for blocking code
(purse_sync, Django tests) that has no event loop of its own to run it on."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, ParamSpec, TypeVar

from ._sandbox import Sandbox
from ._state import CreationKind, LedgerEntry

__all__ = ["ThreadedSandbox"]

T = TypeVar("T")
P = ParamSpec("P")


class ThreadedSandbox:
    """`with ThreadedSandbox() as box: purse_sync.Purse(**box.sandbox.client_kwargs())`.

    The sandbox's state belongs to its loop's thread: from the test's thread, use the blocking
    twins here (`checkout`, `pay_payment_link`, `save_card`, `settle_pending`, ...), which run
    the `Sandbox` helper of the same name on that loop, or `call(coroutine)`.
    """

    def __init__(self, **options: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="purse-sandbox", daemon=True
        )
        self.thread.start()
        self.sandbox = Sandbox(**options)
        self.call(self.sandbox.start())

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a sandbox coroutine (e.g. `sandbox.checkout(...)`) on its loop, blocking."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    def _on_loop(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        # A synchronous helper still reads or changes state the loop's handlers change (and
        # may schedule webhooks on it): run it there, between two of their steps.
        async def run() -> T:
            return fn(*args, **kwargs)

        return self.call(run())

    @property
    def merchant_id(self) -> str:
        """`Sandbox.merchant_id`: the Wallet API merchant id of this sandbox's saved cards."""
        return self.sandbox.merchant_id

    def checkout(
        self,
        session_id: str,
        *,
        card: str = "4242424242424242",
        holder: str = "Jane Doe",
        expiry: str = "12/30",
        cvc: str = "123",
        gift_card: str | None = None,
        gift_card_amount: int | None = None,
    ) -> str:
        """The blocking shopper: `Sandbox.checkout` (pay a session, get the redirect URL)."""
        return self.call(
            self.sandbox.checkout(
                session_id,
                card=card,
                holder=holder,
                expiry=expiry,
                cvc=cvc,
                gift_card=gift_card,
                gift_card_amount=gift_card_amount,
            )
        )

    def pay_payment_link(
        self,
        payment_link_id: str,
        *,
        card: str = "4242424242424242",
        holder: str = "Jane Doe",
        expiry: str = "12/30",
        cvc: str = "123",
        gift_card: str | None = None,
        gift_card_amount: int | None = None,
    ) -> str:
        """The blocking customer of a payment link: `Sandbox.pay_payment_link` (one attempt,
        then the redirect URL; `ValueError` if the link is unknown, PAID or PENDING)."""
        return self.call(
            self.sandbox.pay_payment_link(
                payment_link_id,
                card=card,
                holder=holder,
                expiry=expiry,
                cvc=cvc,
                gift_card=gift_card,
                gift_card_amount=gift_card_amount,
            )
        )

    def save_card(
        self,
        number: str,
        *,
        customer_reference: str | None = None,
        holder: str = "Jane Doe",
        expiry: str = "12/30",
    ) -> str:
        """`Sandbox.save_card` on the sandbox's loop: a wallet token `wt_<32 hex>` for MITs."""
        return self._on_loop(
            self.sandbox.save_card,
            number,
            customer_reference=customer_reference,
            holder=holder,
            expiry=expiry,
        )

    def settle_pending(self, payment_id: str, status: str = "AUTHORIZED") -> None:
        """`Sandbox.settle_pending` on the sandbox's loop: resolve a PENDING authorization as
        AUTHORIZED, REFUSED or ERROR (one new `version`, one webhook)."""
        self._on_loop(self.sandbox.settle_pending, payment_id, status)

    def wait_for_webhooks(self) -> None:
        """`Sandbox.wait_for_webhooks`, blocking: every webhook scheduled so far is answered
        or failed."""
        self.call(self.sandbox.wait_for_webhooks())

    def payment(self, payment_id: str) -> dict[str, Any]:
        """`Sandbox.payment` read on the sandbox's loop (`KeyError` if unknown)."""
        return self._on_loop(self.sandbox.payment, payment_id)

    def payment_link(self, payment_link_id: str) -> dict[str, Any]:
        """`Sandbox.payment_link` read on the sandbox's loop (`KeyError` if unknown)."""
        return self._on_loop(self.sandbox.payment_link, payment_link_id)

    def session(self, session_id: str) -> dict[str, Any]:
        """`Sandbox.session` read on the sandbox's loop (`KeyError` if unknown)."""
        return self._on_loop(self.sandbox.session, session_id)

    def created(
        self,
        kind: CreationKind,
        *,
        idempotency_key: str | None = None,
        order_reference: str | None = None,
    ) -> list[dict[str, Any]]:
        """`Sandbox.created` read on the sandbox's loop: the payments, client sessions or
        payment links created so far, filtered alike."""
        return self._on_loop(
            self.sandbox.created,
            kind,
            idempotency_key=idempotency_key,
            order_reference=order_reference,
        )

    def ledger(self, payment_id: str) -> list[LedgerEntry]:
        """`Sandbox.ledger` read on the sandbox's loop: every operation applied, in order."""
        return self._on_loop(self.sandbox.ledger, payment_id)

    def close(self) -> None:
        if self.loop.is_closed():
            return
        self.call(self.sandbox.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()

    def __enter__(self) -> ThreadedSandbox:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
