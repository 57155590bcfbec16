"""The shop's views through Django's test client, against the embedded Purse sandbox."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.test import SimpleTestCase, override_settings

from purse_async.testing import MagicCards, ThreadedSandbox
from shop.purse import reset_purse


class CheckoutTests(SimpleTestCase):
    box: ThreadedSandbox

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.box = ThreadedSandbox()
        cls.settings_override = override_settings(PURSE=cls.box.sandbox.client_kwargs())
        cls.settings_override.enable()
        reset_purse()

    @classmethod
    def tearDownClass(cls) -> None:
        reset_purse()
        cls.settings_override.disable()
        cls.box.close()
        super().tearDownClass()

    def pay(self, card: str = MagicCards.AUTHORIZED) -> str:
        created = self.client.post(
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
