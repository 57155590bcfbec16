"""The shop's views through Django's test client, against the embedded Purse sandbox (served
on its own loop thread by ThreadedSandbox; the views' purse_sync client calls it over loopback)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from django.test import Client, SimpleTestCase, override_settings

from purse_async.testing import MagicCards, ThreadedSandbox
from shop.purse import get_purse


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

    def pay(self, card: str = MagicCards.AUTHORIZED, client: Client | None = None) -> str:
        created = (client or self.client).post(
            "/checkout/",
            data={"amount": 12000, "order_reference": "DJ-1"},
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
