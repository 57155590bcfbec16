"""The shop's views through Django's test client, against the embedded Purse sandbox (served
on its own loop thread by ThreadedSandbox; the views' purse_sync client calls it over loopback)."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import itertools
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

from django.test import Client, SimpleTestCase, override_settings

from purse_async.testing import MagicCards, ThreadedSandbox
from shop.orders import Order, get_order, save_order
from shop.purse import get_purse

_references = itertools.count(1)


def stored(reference: str) -> Order:
    order = get_order(reference)
    assert order is not None, reference
    return order


class CheckoutTests(SimpleTestCase):
    box: ThreadedSandbox

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.box = ThreadedSandbox()
        purse_settings = {
            f"PURSE_{name.upper()}": value
            for name, value in cls.box.sandbox.client_kwargs().items()
        }
        # Changing PURSE_* settings makes the shop build a new client (see shop/apps.py).
        cls.settings_override = override_settings(**purse_settings)
        cls.settings_override.enable()

    @classmethod
    def tearDownClass(cls) -> None:
        cls.settings_override.disable()  # closes the client made for the sandbox
        cls.box.close()
        super().tearDownClass()

    def pay(
        self,
        card: str = MagicCards.AUTHORIZED,
        client: Client | None = None,
        reference: str | None = None,
    ) -> str:
        """Check out an order (a new reference unless given) and pay: its return URL."""
        reference = reference or f"DJ-{next(_references)}"
        created = (client or self.client).post(
            "/checkout/",
            data={"amount": 12000, "order_reference": reference},
            content_type="application/json",
        )
        self.assertEqual(created.status_code, 201)
        session_id = created.json()["client_session_id"]
        self.assertTrue(created.json()["hosted_page"])
        redirect = self.box.checkout(session_id, card=card)
        parts = urlsplit(redirect)
        return f"/payment/return/?{parts.query}"

    def test_client_comes_from_the_purse_settings(self) -> None:
        self.assertEqual(get_purse().settings.base_url, self.box.sandbox.base_url)

    def test_checkout_return_and_capture(self) -> None:
        returned = self.client.get(self.pay(MagicCards.SOFT_DECLINE_CASCADE))
        self.assertEqual(returned.status_code, 200)
        self.assertEqual(returned.json()["status"], "AUTHORIZED")
        payment_id = returned.json()["payment_id"]
        body = {"amount": 5000, "idempotency_key": f"{payment_id}-capture-1"}
        first = self.client.post(
            f"/payments/{payment_id}/capture/", data=body, content_type="application/json"
        )
        again = self.client.post(
            f"/payments/{payment_id}/capture/", data=body, content_type="application/json"
        )
        self.assertEqual(first.status_code, 201)
        self.assertEqual(again.json()["capture_id"], first.json()["capture_id"])
        self.assertTrue(again.json()["replayed"])
        self.assertEqual(len(self.box.sandbox.ledger(payment_id)), 1)

    def test_a_return_of_another_session_is_refused(self) -> None:
        # A cheap order's signed return, replayed on another order's return URL.
        paid_a = self.pay(reference="DJ-A")
        self.pay(MagicCards.REFUSED, reference="DJ-B")
        order_a, order_b = stored("DJ-A"), stored("DJ-B")
        response = self.client.get(paid_a.replace("order=DJ-A", "order=DJ-B"))
        self.assertEqual(response.status_code, 400)
        error = response.json()["error"]
        self.assertIn(f"client session {order_a.client_session_id}", error)
        self.assertIn(f"expected {order_b.client_session_id}", error)
        self.assertIsNone(stored("DJ-B").payment_id)
        self.assertEqual(self.client.get(paid_a).status_code, 200)
        unknown = self.client.get(paid_a.replace("order=DJ-A", "order=DJ-NONE"))
        self.assertEqual(unknown.status_code, 404)

    def test_a_payment_for_another_amount_is_refused(self) -> None:
        url = self.pay(reference="DJ-C")
        # The cart changed after the session was created: 150.00 EUR now, 120.00 EUR paid.
        save_order(dataclasses.replace(stored("DJ-C"), amount=15000))
        response = self.client.get(url)
        self.assertEqual(response.status_code, 409)
        self.assertEqual(
            response.json()["mismatches"],
            [
                "amount 12000 (the order expects 15000)",
                "amounts.total_authorized 12000 (the order expects 15000)",
            ],
        )
        self.assertIsNone(stored("DJ-C").payment_id)

    def test_a_paid_order_is_not_checked_out_again(self) -> None:
        returned = self.client.get(self.pay(reference="DJ-D"))
        self.assertEqual(stored("DJ-D").payment_id, returned.json()["payment_id"])
        again = self.client.post(
            "/checkout/",
            data={"amount": 12000, "order_reference": "DJ-D"},
            content_type="application/json",
        )
        self.assertEqual(again.status_code, 409)

    def test_forged_return_is_rejected(self) -> None:
        url = self.pay()
        forged = url[:-8] + ("A" * 8 if not url.endswith("A" * 8) else "B" * 8)
        response = self.client.get(forged)
        self.assertEqual(response.status_code, 400)

    def test_refused_capture_is_reported(self) -> None:
        returned = self.client.get(self.pay(MagicCards.REFUSED))
        self.assertEqual(returned.json()["status"], "REFUSED")
        response = self.client.post(
            f"/payments/{returned.json()['payment_id']}/capture/",
            data={"amount": 100},
            content_type="application/json",
        )
        self.assertEqual(response.status_code, 409)

    def test_request_threads_share_one_client_and_token(self) -> None:
        # As under a threaded server (gunicorn --threads, runserver): one client, one token.
        purse = get_purse()

        def checkout_and_return(_: int) -> int:
            client = Client()
            return client.get(self.pay(client=client)).status_code

        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(checkout_and_return, range(16)))
        self.assertEqual(statuses, [200] * 16)
        self.assertIs(get_purse(), purse)
        self.assertEqual(purse.token_requests, 1)


class BrowserPagesTests(SimpleTestCase):
    """The shopper's pages as a browser sees them (tests/test_examples_browser.py drives a real
    one through runserver): the shop, its button, the hosted page, the order page."""

    box: ThreadedSandbox

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.box = ThreadedSandbox()
        purse_settings = {
            f"PURSE_{name.upper()}": value
            for name, value in cls.box.sandbox.client_kwargs().items()
        }
        cls.settings_override = override_settings(
            **purse_settings, SHOP_BASE_URL="http://shop.test:8123/"
        )
        cls.settings_override.enable()

    @classmethod
    def tearDownClass(cls) -> None:
        cls.settings_override.disable()
        cls.box.close()
        super().tearDownClass()

    def buy(self) -> tuple[str, str]:
        """Press the shop's button: (the order reference, the hosted page's URL)."""
        home = self.client.get("/")
        self.assertEqual(home.status_code, 200)
        self.assertContains(home, 'action="/buy/"')
        bought = self.client.post("/buy/")
        self.assertEqual(bought.status_code, 303)
        hosted_page = bought["Location"]
        self.assertTrue(hosted_page.startswith(f"{self.box.sandbox.base_url}/hosted/"))
        session_id = hosted_page.rsplit("/", 1)[-1]
        session = self.box.sandbox.session(session_id)
        return session["order"]["reference"], session_id

    def test_pay_in_the_browser_and_see_the_order_paid(self) -> None:
        reference, session_id = self.buy()
        self.assertContains(self.client.get(f"/orders/{reference}/"), "Not paid")
        redirect = self.box.checkout(session_id)
        # The return URL comes from SHOP_BASE_URL, not from a hard-coded host.
        self.assertTrue(
            redirect.startswith(f"http://shop.test:8123/payment/return/?order={reference}&")
        )
        returned = self.client.get(
            f"/payment/return/?{urlsplit(redirect).query}", headers={"Accept": "text/html"}
        )
        self.assertEqual(returned.status_code, 303)
        self.assertEqual(returned["Location"], f"/orders/{reference}/")
        page = self.client.get(returned["Location"])
        self.assertContains(page, '<p id="status" class="paid">Paid</p>', html=False)
        self.assertContains(page, stored(reference).payment_id or "missing")

    def test_a_refused_card_leaves_the_order_unpaid(self) -> None:
        reference, session_id = self.buy()
        redirect = self.box.checkout(session_id, card=MagicCards.REFUSED)
        returned = self.client.get(
            f"/payment/return/?{urlsplit(redirect).query}", headers={"Accept": "text/html"}
        )
        self.assertEqual(returned.status_code, 303)
        self.assertEqual(returned["Location"], f"/orders/{reference}/")
        self.assertContains(self.client.get(returned["Location"]), "Not paid")
        self.assertIsNone(stored(reference).payment_id)

    def test_a_forged_return_shows_an_error_page(self) -> None:
        reference, session_id = self.buy()
        query = urlsplit(self.box.checkout(session_id)).query
        forged = self.client.get(
            f"/payment/return/?{query[:-6]}AAAAAA", headers={"Accept": "text/html"}
        )
        self.assertEqual(forged.status_code, 400)
        self.assertContains(forged, "invalid redirection", status_code=400)
        self.assertIsNone(stored(reference).payment_id)
        unknown = self.client.get("/orders/DJ-NONE/")
        self.assertEqual(unknown.status_code, 404)


class WebhookTests(SimpleTestCase):
    """The raw-body webhook view: source and signature vetted, each version applied once and
    never an older one after a newer, the order marked paid without the shopper's return."""

    box: ThreadedSandbox
    SECRET = "whsec-django"

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.box = ThreadedSandbox()
        purse_settings = {
            f"PURSE_{name.upper()}": value
            for name, value in cls.box.sandbox.client_kwargs().items()
        }
        # The test client's REMOTE_ADDR is 127.0.0.1: allowed here, as Purse's addresses are.
        cls.settings_override = override_settings(
            **purse_settings, SHOP_WEBHOOK_SECRET=cls.SECRET, SHOP_WEBHOOK_ALLOWLIST=["127.0.0.1"]
        )
        cls.settings_override.enable()

    @classmethod
    def tearDownClass(cls) -> None:
        cls.settings_override.disable()
        cls.box.close()
        super().tearDownClass()

    def paid(self, reference: str) -> str:
        """Checkout and pay an order; the shopper does not come back to the return URL."""
        created = self.client.post(
            "/checkout/",
            data={"amount": 12000, "order_reference": reference},
            content_type="application/json",
        )
        self.assertEqual(created.status_code, 201)
        session_id = created.json()["client_session_id"]
        self.box.checkout(session_id)
        payment_id: str = self.box.sandbox.session(session_id)["payment_id"]
        return payment_id

    def deliver(self, body: bytes, *, secret: str | None = None, remote: str = "127.0.0.1") -> Any:
        signature = (
            "sha256=" + hmac.new((secret or self.SECRET).encode(), body, hashlib.sha256).hexdigest()
        )
        return self.client.post(
            "/purse/webhook/",
            data=body,
            content_type="application/json",
            headers={"x-purse-signature": signature},
            REMOTE_ADDR=remote,
        )

    def body(self, payment_id: str) -> bytes:
        """The webhook body Purse sends: the payment JSON as it is now."""
        return json.dumps(self.box.sandbox.payment(payment_id)).encode()

    def test_webhook_marks_the_order_paid_once(self) -> None:
        payment_id = self.paid("DJ-WH-1")
        body = self.body(payment_id)
        first = self.deliver(body)
        self.assertEqual(first.status_code, 200)
        self.assertEqual(first.json()["reason"], "new")
        self.assertEqual(first.json()["payment_id"], payment_id)
        again = self.deliver(body)
        self.assertEqual(again.status_code, 200)
        self.assertEqual(again.json()["reason"], "duplicate")
        # The webhook paid the order: a new checkout of it is refused.
        checkout = self.client.post(
            "/checkout/",
            data={"amount": 12000, "order_reference": "DJ-WH-1"},
            content_type="application/json",
        )
        self.assertEqual(checkout.status_code, 409)

    def test_an_older_version_after_a_newer_is_stale(self) -> None:
        payment_id = self.paid("DJ-WH-2")
        older = self.body(payment_id)
        get_purse().payments.capture(payment_id, amount=5000)
        newer = self.body(payment_id)
        self.assertEqual(self.deliver(newer).json()["reason"], "new")
        stale = self.deliver(older)
        self.assertEqual(stale.status_code, 200)
        self.assertEqual(stale.json()["reason"], "stale")

    def test_untrusted_source_and_bad_signature_are_refused(self) -> None:
        payment_id = self.paid("DJ-WH-3")
        body = self.body(payment_id)
        untrusted = self.deliver(body, remote="203.0.113.7")
        self.assertEqual(untrusted.status_code, 400)
        self.assertIn("203.0.113.7", untrusted.json()["error"])
        forged = self.deliver(body, secret="not-the-secret")
        self.assertEqual(forged.status_code, 400)
        self.assertIn("x-purse-signature", forged.json()["error"])
        # Neither was recorded: the genuine delivery is still new.
        self.assertEqual(self.deliver(body).json()["reason"], "new")
