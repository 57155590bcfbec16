"""A real customer in headless Chromium on a payment link: refused card -> back to the shop, the
same link again -> paid -> verified redirection; the link is then PAID and a stale form rejected.

Needs Debian's chromium and the playwright package (tests/_browser.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from purse_async.testing import MagicCards, Sandbox
from tests._browser import BROWSER_MARKS, CHROMIUM, CHROMIUM_ARGS, shop_page

playwright_api = pytest.importorskip("playwright.async_api")
pytestmark = BROWSER_MARKS


@pytest.fixture
async def shop() -> AsyncIterator[str]:
    async with shop_page("Back at the shop") as url:
        yield url


async def test_customer_retries_a_payment_link_in_a_real_browser(shop: str) -> None:
    async with Sandbox() as sandbox, sandbox.client() as purse:
        link = await purse.payment_links.create(
            amount=4500,
            currency="EUR",
            shopper_redirection_url=shop,
            order={"reference": "browser-link-1", "net_amount": 4500},
        )
        assert link.url is not None
        async with playwright_api.async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = await browser.new_page()
                stale = await browser.new_page()  # the link opened twice, e.g. in two tabs
                await stale.goto(link.url)

                await page.goto(link.url)
                await page.fill("#card-number", MagicCards.REFUSED)
                await page.fill("#expiry", "12/30")
                await page.fill("#holder", "Jane Doe")
                await page.fill("#cvc", "123")
                await page.click("#pay")
                await page.wait_for_url(shop + "?*")
                refused_at = page.url
                assert "Back at the shop" in await page.content()

                await page.goto(link.url)  # the same URL: the link is payable again
                await page.fill("#card-number", MagicCards.AUTHORIZED)
                await page.fill("#holder", "Jane Doe")
                await page.click("#pay")
                await page.wait_for_url(shop + "?*")
                paid_at = page.url

                await stale.fill("#card-number", MagicCards.AUTHORIZED)
                await stale.click("#pay")
                await stale.wait_for_selector("#error")
                rejected = await stale.inner_text("#error")
            finally:
                await browser.close()
        refused = await purse.redirections.verify(refused_at)
        assert refused.authorization_status == "REFUSED"
        assert refused.extra["payment_link_status"] == "OPENED"
        paid = await purse.redirections.verify(paid_at)
        assert paid.authorization_status == "AUTHORIZED"
        assert paid.extra["payment_link_id"] == link.id
        assert "already paid" in rejected
        final = await purse.payment_links.retrieve(link.id)
        assert final.status == "PAID"
        assert final.payment_ids == (refused.payment_id, paid.payment_id)
        assert paid.payment_id is not None
        payment = await purse.payments.retrieve(paid.payment_id)
        assert payment.amounts is not None and payment.amounts.total_authorized == 4500
