"""`python -m purse_async demo`: the first-payment guide, step by step, against the embedded sandbox
(or, with `--live`, against the real Purse sandbox using the `PURSE_*` environment variables)."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

from ._client import AsyncPurse
from ._errors import PaymentMismatchError, PurseError, SignatureVerificationError
from .models import Payment

ORDER: dict[str, Any] = {
    "reference": "JLA123457",
    "net_amount": 12000,
    "tax_amount": 2000,
    "billing_address": {
        "first_name": "Jane",
        "last_name": "Doe",
        "address_lines": ["1 rue de la Paix"],
        "city": "Paris",
        "postal_code": "75002",
        "country_code": "FR",
    },
}
CUSTOMER: dict[str, Any] = {
    "reference": "cust-42",
    "email": "jane.doe@example.com",
    "first_name": "Jane",
    "last_name": "Doe",
    "locale": "fr-FR",
}
RETURN_URL = "https://shop.example/payment/return"


class Printer:
    """Numbered steps and aligned tables on a text stream."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.step_no = 0

    def step(self, title: str) -> None:
        self.step_no += 1
        print(f"\n{self.step_no}. {title}", file=self.out)

    def kv(self, key: str, value: object) -> None:
        print(f"   {key:<22} {value}", file=self.out)

    def note(self, text: str) -> None:
        print(f"   {text}", file=self.out)

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
        cells = [[str(c) for c in headers], *[[str(c) for c in row] for row in rows]]
        widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
        for n, row in enumerate(cells):
            print(
                "   " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip(),
                file=self.out,
            )
            if n == 0:
                print("   " + "  ".join("-" * w for w in widths), file=self.out)


def _money(amount: int | None, currency: str | None) -> str:
    if amount is None:
        return "-"
    return f"{amount / 100:,.2f} {currency or ''}".strip()


def show_payment(p: Printer, payment: Payment) -> None:
    p.kv("payment id", payment.id)
    auth = payment.authorization
    if auth is None:
        p.note("(no authorization yet)")
        return
    p.kv("authorization status", auth.status)
    p.note("payment.explain(): the partner transactions in the order Purse tried them")
    for line in payment.explain().splitlines():
        p.note(f"  {line}")


def show_amounts(p: Printer, payment: Payment) -> None:
    a = payment.amounts
    if a is None:
        p.note("(no amounts)")
        return
    cur = payment.currency
    p.table(
        ["authorized", "captured", "refunded", "voided", "to capture", "to refund", "to void"],
        [
            [
                _money(a.total_authorized, cur),
                _money(a.total_captured, cur),
                _money(a.total_refunded, cur),
                _money(a.total_voided, cur),
                _money(a.available_to_capture, cur),
                _money(a.available_to_refund, cur),
                _money(a.available_to_void, cur),
            ]
        ],
    )


async def walk(purse: AsyncPurse, p: Printer, checkout: Any | None) -> None:
    """The guide's steps; `checkout(session_id, refused=False) -> redirect URL` plays the
    shopper when given (with a card the PSP refuses when `refused`)."""
    p.step("Authenticate (OAuth2 client credentials)")
    await purse.authenticate()
    p.kv("token", f"obtained ({purse.token_requests} token request; value never printed)")

    p.step("Create a client session")
    session = await purse.client_sessions.create(
        amount=12000,
        currency="EUR",
        shopper_redirection_url=RETURN_URL,
        order=ORDER,
        customer=CUSTOMER,
    )
    p.kv("client session id", session.id)
    p.kv("status", session.status)
    p.kv("expires at", session.expires_at)
    if session.widget is not None:
        p.kv("widget.js_url", session.widget.js_url)
        data = session.widget.data or ""
        p.kv("widget.data", data[:40] + ("..." if len(data) > 40 else ""))
    if session.links is not None:
        p.kv("hosted page", session.links.hosted_page)

    if checkout is None:
        p.step("Shopper checkout")
        p.note("Live mode: open the hosted page above (or mount the widget) and pay; Purse")
        p.note("then redirects to shopper_redirection_url with ?purse-redirection-data=...")
        p.note("A simulated shopper exists only in the embedded sandbox, so the demo stops here.")
        return

    p.step("Shopper pays with a card soft-declined by the first PSP (sandbox magic card)")
    redirect_url = await checkout(session.id)
    p.kv("redirected to", redirect_url[:72] + "...")

    p.step("Verify the signed redirection (JWS, RS256, keys from /signing-jwks)")
    # Bound to this order's checkout: a token of any other session is refused.
    redirect = await purse.redirections.verify(
        redirect_url, expected_client_session_id=session.id, max_age=600
    )
    p.kv("signature", "valid, for this order's client session, issued < 10 min ago")
    try:
        await purse.redirections.verify(redirect_url, expected_client_session_id="another-order")
    except SignatureVerificationError as exc:
        p.kv("on another order", f"refused: {exc}")
    else:
        raise PurseError("a redirection of another client session was accepted")
    p.kv("payment id", redirect.payment_id)
    p.kv("authorization status", redirect.authorization_status)
    p.kv("client session status", redirect.client_session_status)
    if redirect.payment_id is None:
        raise PurseError("the redirection carries no payment id")

    p.step("Get the payment with its partner transactions")
    payment = await purse.payments.retrieve(redirect.payment_id)
    show_payment(p, payment)

    p.step("Check the payment against the order before fulfilling it")
    payment.check(amount=12000, currency="EUR", order_reference=ORDER["reference"])
    p.kv("payment.check(...)", "amount, currency, order reference and total authorized match")

    p.step("Capture 50.00 EUR")
    # with_raw_response: the same call, with what the HTTP exchange said about it.
    response = await purse.payments.with_raw_response.capture(payment.id, amount=5000)
    capture = response.parsed
    p.kv("capture", f"{capture.id} {capture.status} {_money(capture.amount, 'EUR')}")
    p.kv("idempotency key", capture.idempotency_key)
    attempts = f"{response.attempts} attempt{'s' if response.attempts > 1 else ''}"
    p.kv("answer", f"HTTP {response.status}, {attempts}, {response.elapsed * 1000:.1f} ms")

    p.step("Refund 20.00 EUR")
    refund = await purse.payments.refund(payment.id, amount=2000)
    p.kv("refund", f"{refund.id} {refund.status} {_money(refund.amount, 'EUR')}")

    p.step("Void the rest of the authorization")
    void = await purse.payments.void(payment.id)
    p.kv("void", f"{void.id} {void.status} {_money(void.amount, 'EUR')}")

    p.step("Final amounts")
    final = await purse.payments.retrieve(payment.id)
    show_amounts(p, final)
    if final.overview is not None:
        o = final.overview
        p.kv("overview", f"captured {o.captured}, refunded {o.refunded}, voided {o.voided}")

    await declined_order(purse, p, checkout)


async def declined_order(purse: AsyncPurse, p: Printer, checkout: Any) -> None:
    """A second order paid with a card the PSP refuses: what explain() and check() say."""
    p.step("Another order: the shopper's card is refused (hard decline, sandbox magic card)")
    order = {**ORDER, "reference": "JLA123458", "net_amount": 4500, "tax_amount": 750}
    session = await purse.client_sessions.create(
        amount=4500,
        currency="EUR",
        shopper_redirection_url=RETURN_URL,
        order=order,
        customer=CUSTOMER,
    )
    redirect = await purse.redirections.verify(
        await checkout(session.id, refused=True),
        expected_client_session_id=session.id,
        max_age=600,
    )
    if redirect.payment_id is None:
        raise PurseError("the redirection carries no payment id")
    payment = await purse.payments.retrieve(redirect.payment_id)
    show_payment(p, payment)
    try:
        payment.check(amount=4500, currency="EUR", order_reference=order["reference"])
    except PaymentMismatchError as exc:
        p.kv("payment.check(...)", f"refused: {'; '.join(exc.mismatches)}")
    else:
        raise PurseError("a refused payment passed payment.check()")
    # May a new authorization be attempted? The SDK re-reads the payment and decides.
    decision = await purse.payments.retry_decision(payment.id, initiator="CIT")
    p.kv("retry_decision(CIT)", f"{decision.action.value}: {decision.reason}")
    if decision.exclude_partners:
        p.kv("partners tried", ", ".join(decision.exclude_partners))
    p.note("-> do not fulfil the order; ask the shopper for another means of payment")


async def run_embedded(out: TextIO) -> None:
    from .testing import MagicCards, Sandbox

    p = Printer(out)
    print("Purse SDK demo: the first-payment guide against the embedded sandbox", file=out)
    async with Sandbox() as sandbox:
        p.kv("sandbox", sandbox.base_url)

        async def checkout(session_id: str, *, refused: bool = False) -> str:
            card = MagicCards.REFUSED if refused else MagicCards.SOFT_DECLINE_CASCADE
            return await sandbox.checkout(session_id, card=card)

        async with sandbox.client() as purse:
            await walk(purse, p, checkout)


async def run_live(out: TextIO) -> None:
    p = Printer(out)
    print("Purse SDK demo against the live Purse sandbox (PURSE_* variables)", file=out)
    async with AsyncPurse.from_env() as purse:
        p.kv("api", purse.settings.base_url)
        await walk(purse, p, None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m purse_async demo")
    parser.add_argument(
        "--live",
        action="store_true",
        help="use the real Purse sandbox with PURSE_* credentials instead of the embedded one",
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        asyncio.run(run_live(sys.stdout) if args.live else run_embedded(sys.stdout))
    except PurseError as exc:
        print(f"\ndemo failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(f"\nDone in {time.perf_counter() - started:.2f}s.")
    return 0
