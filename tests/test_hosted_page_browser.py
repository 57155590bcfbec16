"""A real shopper in headless Chromium: session link -> hosted form -> 303 -> verified redirection.

Needs Debian's chromium and the playwright package (tests/_browser.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from purse_async.testing import Sandbox
from tests._browser import BROWSER_MARKS, CHROMIUM, CHROMIUM_ARGS, shop_page

playwright_api = pytest.importorskip("playwright.async_api")
pytestmark = BROWSER_MARKS


@pytest.fixture
async def shop() -> AsyncIterator[str]:
    async with shop_page("Thank you") as url:
        yield url


async def test_shopper_pays_on_the_hosted_page_in_a_real_browser(shop: str) -> None:
    async with Sandbox() as sandbox, sandbox.client() as purse:
        session = await purse.client_sessions.create(
            amount=12000,
            currency="EUR",
            shopper_redirection_url=shop,
            order={"reference": "browser-1", "net_amount": 12000},
            integration_mode="HOSTED_PAGE",
        )
        assert session.links is not None and session.links.hosted_page
        async with playwright_api.async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = await browser.new_page()
                await page.goto(session.links.hosted_page)
                await page.fill("#card-number", "4242424242424242")
                await page.fill("#expiry", "12/30")
                await page.fill("#holder", "Jane Doe")
                await page.fill("#cvc", "123")
                await page.click("#pay")
                await page.wait_for_url(shop + "?*")
                landed = page.url
                assert "Thank you" in await page.content()
            finally:
                await browser.close()
        redirect = await purse.redirections.verify(landed)
        assert redirect.client_session_id == session.id
        assert redirect.authorization_status == "AUTHORIZED"
        assert redirect.payment_id is not None
        payment = await purse.payments.retrieve(redirect.payment_id)
        assert payment.amounts is not None
        assert payment.amounts.total_authorized == 12000
