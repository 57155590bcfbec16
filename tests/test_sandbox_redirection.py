"""Sandbox shopper side: the hosted checkout form (no browser, plain aiohttp), its 303 with a
`purse-redirection-data` JWS that PyJWT verifies with the served JWKS, cancel, and odd cases."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest

from purse_async.testing import MagicCards, Sandbox
from tests.test_sandbox_support import RETURN, Api


@pytest.fixture
async def api(purse_sandbox: Sandbox) -> AsyncIterator[Api]:
    async with Api(purse_sandbox) as client:
        yield client


async def verify(api: Api, url: str) -> dict[str, Any]:
    """Check the redirection the way a merchant would: JWKS by kid, RS256, exp."""
    assert url.startswith(RETURN)
    (token,) = parse_qs(urlsplit(url).query)["purse-redirection-data"]
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS256"
    jwks = (await api.call("GET", "/signing-jwks", auth=False)).body
    (jwk,) = [k for k in jwks["keys"] if k["kid"] == header["kid"]]
    key = jwt.PyJWK.from_json(json.dumps(jwk))
    claims: dict[str, Any] = jwt.decode(token, key, algorithms=["RS256"])
    assert claims["exp"] - claims["iat"] == 600 and abs(claims["iat"] - time.time()) < 5
    return claims


async def test_checkout_url_carries_a_verifiable_jws(api: Api) -> None:
    session = await api.session()
    url = await api.sb.checkout(session["id"])
    claims = await verify(api, url)
    payment_id = api.sb.session(session["id"])["payment_id"]
    assert {k: v for k, v in claims.items() if k not in ("iat", "exp")} == {
        "client_session_id": session["id"],
        "payment_id": payment_id,
        "authorization_status": "AUTHORIZED",
        "client_session_status": "SUBMITTED",
    }


async def test_a_tampered_or_foreign_token_fails_verification(api: Api) -> None:
    session = await api.session()
    url = await api.sb.checkout(session["id"], card=MagicCards.REFUSED)
    token = parse_qs(urlsplit(url).query)["purse-redirection-data"][0]
    head, _, signature = token.split(".")
    forged = jwt.utils.base64url_encode(
        json.dumps(
            {
                **jwt.decode(token, options={"verify_signature": False}),
                "authorization_status": "AUTHORIZED",
            }
        ).encode()
    ).decode()
    jwk = jwt.PyJWK.from_json(json.dumps(api.sb.jwks()["keys"][0]))
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(f"{head}.{forged}.{signature}", jwk, algorithms=["RS256"])
    other = jwt.encode({"a": 1}, "secret-that-is-long-enough-for-hs256-keys", algorithm="HS256")
    with pytest.raises(jwt.InvalidTokenError):
        jwt.decode(other, jwk, algorithms=["RS256"])


async def test_sign_redirection_helper(api: Api) -> None:
    token = api.sb.sign_redirection(
        {"client_session_id": "s-1"}, kid="other-kid", headers={"typ": "JWT"}
    )
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "RS256", "kid": "other-kid", "typ": "JWT"}
    jwk = jwt.PyJWK.from_json(json.dumps(api.sb.jwks()["keys"][0]))
    claims = jwt.decode(token, jwk, algorithms=["RS256"])
    assert claims["client_session_id"] == "s-1" and claims["exp"] == claims["iat"] + 600
    expired = api.sb.sign_redirection({"client_session_id": "s-1", "iat": 1, "exp": 2})
    with pytest.raises(jwt.ExpiredSignatureError):
        jwt.decode(expired, jwk, algorithms=["RS256"])


async def test_hosted_page_form(api: Api) -> None:
    session = await api.session(order={"reference": "<b>ORDER</b>", "net_amount": 12000})
    async with api.http.get(session["links"]["hosted_page"]) as page:
        assert page.status == 200 and page.content_type == "text/html"
        html = await page.text()
    for element in (
        "card-number",
        "expiry",
        "holder",
        "cvc",
        "gift-card",
        "gift-card-amount",
        "pay",
        "cancel",
    ):
        assert f'id="{element}"' in html
    assert f'action="/hosted/sessions/{session["id"]}/submit"' in html
    assert "120.00 EUR" in html and "&lt;b&gt;ORDER&lt;/b&gt;" in html


async def test_hosted_form_post_redirects_303_with_a_verifiable_jws(api: Api) -> None:
    session = await api.session(shopper_redirection_url=RETURN + "?lang=fr")
    async with api.http.post(
        f"{api.sb.base_url}/hosted/sessions/{session['id']}/submit",
        data={
            "card_number": "4000 0000 0000 9995",
            "expiry": "12/30",
            "holder": "Jane Doe",
            "cvc": "123",
            "gift_card": MagicCards.GIFT_CARD,
            "gift_card_amount": "2000",
        },
        allow_redirects=False,
    ) as resp:
        assert resp.status == 303
        location = resp.headers["Location"]
    assert location.startswith(RETURN + "?lang=fr&purse-redirection-data=")
    claims = await verify(api, location)
    assert claims["authorization_status"] == "AUTHORIZED"
    assert claims["client_session_status"] == "SUBMITTED"
    payment = await api.payment(claims["payment_id"])
    assert [
        (tx["partner"], tx["status"], tx["amount"])
        for tx in payment["authorization"]["partner_transactions"]
    ] == [
        ("illicado", "AUTHORIZED", 2000),
        ("ingenico", "REFUSED", 10000),
        ("adyen", "AUTHORIZED", 10000),
    ]
    assert payment["authorization"]["partner_transactions"][2]["card"]["holder_name"] == "Jane Doe"
    # Coming back to the page of a paid session: straight back to the shop, signed.
    async with api.http.get(session["links"]["hosted_page"], allow_redirects=False) as again:
        assert again.status == 303
        assert (await verify(api, again.headers["Location"]))["payment_id"] == payment["id"]


async def test_hosted_form_refusal_and_bad_input(api: Api) -> None:
    session = await api.session()
    submit = f"{api.sb.base_url}/hosted/sessions/{session['id']}/submit"
    for data in (
        {"card_number": "12"},
        {"card_number": MagicCards.AUTHORIZED, "gift_card_amount": "x"},
    ):
        async with api.http.post(submit, data=data, allow_redirects=False) as resp:
            assert resp.status == 400 and 'id="error"' in await resp.text()
    async with api.http.post(
        submit, data={"card_number": MagicCards.REFUSED, "expiry": "01/29"}, allow_redirects=False
    ) as resp:
        assert resp.status == 303
        claims = await verify(api, resp.headers["Location"])
    assert claims["authorization_status"] == "REFUSED"


@pytest.mark.parametrize("method", ["POST", "GET"])
async def test_cancel_aborts_by_customer_and_redirects(api: Api, method: str) -> None:
    session = await api.session()
    async with api.http.request(
        method, f"{api.sb.base_url}/hosted/sessions/{session['id']}/cancel", allow_redirects=False
    ) as resp:
        assert resp.status == 303
        claims = await verify(api, resp.headers["Location"])
    assert claims["client_session_status"] == "ABORTED_BY_CUSTOMER"
    assert "payment_id" not in claims and "authorization_status" not in claims
    reply = await api.call("GET", f"/client-sessions/{session['id']}")
    assert reply.body["status"] == "ABORTED_BY_CUSTOMER"


async def test_unknown_and_expired_sessions_on_the_hosted_page(api: Api) -> None:
    async with api.http.get(f"{api.sb.base_url}/hosted/sessions/nope") as page:
        assert page.status == 404 and "Unknown" in await page.text()
    session = await api.session()
    api.sb.advance_clock(1801)
    async with api.http.post(
        f"{api.sb.base_url}/hosted/sessions/{session['id']}/submit",
        data={"card_number": MagicCards.AUTHORIZED},
        allow_redirects=False,
    ) as resp:
        assert resp.status == 303
        claims = await verify(api, resp.headers["Location"])
    assert claims["client_session_status"] == "EXPIRED" and "payment_id" not in claims
    assert api.sb.state.payments == {}


async def test_the_widget_script_is_served(api: Api) -> None:
    session = await api.session()
    async with api.http.get(session["widget"]["js_url"]) as resp:
        assert resp.status == 200 and resp.content_type == "application/javascript"
