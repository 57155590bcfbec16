"""Verification of the signed redirection: pure JWS checks, and the cached JWKS via the client."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

import purse_async as pa
import purse_sync
from purse_async._jws import (
    SigningKey,
    check_binding,
    check_binding_options,
    extract_token,
    read_header,
    rsa_keys_by_kid,
    verify_token,
)
from purse_async.resources._redirections import JWKS_MAX_AGE, _KeyCache
from purse_async.testing import MagicCards, ThreadedSandbox
from tests._scripted import ScriptedServer, reply

JWKS_PATH = "/payment/v2/signing-jwks"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
CLAIMS = {
    "client_session_id": "cs-1",
    "payment_id": "pay-1",
    "authorization_status": "AUTHORIZED",
    "client_session_status": "SUBMITTED",
}


def jwk(key: rsa.RSAPrivateKey, kid: str, alg: str | None = "RS256") -> dict[str, Any]:
    data = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    return {**data, "kid": kid, "use": "sig", **({"alg": alg} if alg else {})}


def sign(
    claims: dict[str, Any] | None = None, *, key: Any = KEY, kid: str = "k1", alg: str = "RS256"
) -> str:
    return jwt.encode(claims or dict(CLAIMS), key, algorithm=alg, headers={"kid": kid})


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


@pytest.fixture
async def server() -> AsyncIterator[ScriptedServer]:
    async with ScriptedServer() as srv:
        srv.routes[JWKS_PATH] = reply(200, {"keys": [jwk(KEY, "k1")]})
        yield srv


@pytest.fixture
async def purse(server: ScriptedServer) -> AsyncIterator[pa.AsyncPurse]:
    async with pa.AsyncPurse(
        client_id="c", client_secret="s", api_key="k", base_url=server.base_url
    ) as client:
        yield client


def test_token_is_found_in_url_query_or_bare() -> None:
    token = sign()
    assert extract_token(token) == token
    assert extract_token(f"https://shop.example/back?purse-redirection-data={token}") == token
    assert extract_token(f"?a=1&purse-redirection-data={token}") == token
    assert extract_token(f"purse-redirection-data={token}") == token


@pytest.mark.parametrize(
    "value",
    ["", "not-a-token", "https://shop.example/back?x=1", "https://s/?purse-redirection-data="],
)
def test_no_token_is_a_verification_error(value: str) -> None:
    with pytest.raises(pa.SignatureVerificationError):
        extract_token(value)


def test_two_tokens_in_one_url_are_refused() -> None:
    t = sign()
    with pytest.raises(pa.SignatureVerificationError, match="more than once"):
        extract_token(f"https://s/?purse-redirection-data={t}&purse-redirection-data={t}")


def test_alg_none_and_hmac_are_refused_before_any_key_is_used() -> None:
    unsigned = b64({"alg": "none", "kid": "k1"}) + "." + b64(CLAIMS) + "."
    with pytest.raises(pa.SignatureVerificationError, match="'none'"):
        read_header(unsigned)
    public_pem = KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    # The classic confusion attack: HS256 keyed with the (public) RSA key.
    hs = b64({"alg": "HS256", "kid": "k1"}) + "." + b64(CLAIMS)
    import hashlib
    import hmac

    sig = (
        base64.urlsafe_b64encode(hmac.new(public_pem, hs.encode(), hashlib.sha256).digest())
        .rstrip(b"=")
        .decode()
    )
    with pytest.raises(pa.SignatureVerificationError, match="HS256"):
        read_header(hs + "." + sig)


async def test_valid_redirection_gives_typed_claims(purse: pa.AsyncPurse) -> None:
    token = sign()
    result = await purse.redirections.verify(
        f"https://shop.example/back?purse-redirection-data={token}"
    )
    assert result.payment_id == "pay-1"
    assert result.client_session_id == "cs-1"
    assert result.authorization_status == "AUTHORIZED"
    assert result.client_session_status == "SUBMITTED"


async def test_tampered_payload_is_refused(purse: pa.AsyncPurse) -> None:
    header, _, signature = sign().split(".")
    forged = f"{header}.{b64({**CLAIMS, 'authorization_status': 'AUTHORIZED', 'payment_id': 'x'})}"
    with pytest.raises(pa.SignatureVerificationError, match="signature"):
        await purse.redirections.verify(f"{forged}.{signature}")


async def test_signed_by_another_key_is_refused(purse: pa.AsyncPurse) -> None:
    with pytest.raises(pa.SignatureVerificationError):
        await purse.redirections.verify(sign(key=OTHER_KEY))


async def test_expired_token_is_refused(purse: pa.AsyncPurse) -> None:
    old = {**CLAIMS, "iat": int(time.time()) - 3600, "exp": int(time.time()) - 600}
    with pytest.raises(pa.SignatureVerificationError, match="expired"):
        await purse.redirections.verify(sign(old))


async def test_alg_none_is_refused_through_the_client(
    purse: pa.AsyncPurse, server: ScriptedServer
) -> None:
    unsigned = b64({"alg": "none", "kid": "k1"}) + "." + b64(CLAIMS) + "."
    with pytest.raises(pa.SignatureVerificationError):
        await purse.redirections.verify(unsigned)
    assert server.of(JWKS_PATH) == []


async def test_keys_are_cached(purse: pa.AsyncPurse, server: ScriptedServer) -> None:
    for _ in range(5):
        await purse.redirections.verify(sign())
    assert len(server.of(JWKS_PATH)) == 1


async def test_unknown_kid_refetches_at_most_once_per_interval(
    purse: pa.AsyncPurse, server: ScriptedServer
) -> None:
    await purse.redirections.verify(sign())
    with pytest.raises(pa.SignatureVerificationError, match="kid"):
        await purse.redirections.verify(sign(kid="unknown"))
    with pytest.raises(pa.SignatureVerificationError, match="kid"):
        await purse.redirections.verify(sign(kid="unknown"))
    # The cold fetch, one refetch for the unknown kid, then none: the interval has not passed.
    assert len(server.of(JWKS_PATH)) == 2


async def test_rotated_key_is_picked_up(server: ScriptedServer) -> None:
    async with pa.AsyncPurse(
        client_id="c", client_secret="s", api_key="k", base_url=server.base_url
    ) as purse:
        purse.redirections._cache._min_interval = 0.0
        await purse.redirections.verify(sign())
        server.routes[JWKS_PATH] = reply(200, {"keys": [jwk(KEY, "k1"), jwk(OTHER_KEY, "k2")]})
        result = await purse.redirections.verify(sign(key=OTHER_KEY, kid="k2"))
    assert result.payment_id == "pay-1"
    assert len(server.of(JWKS_PATH)) == 2


async def test_concurrent_unknown_kid_fetches_once(server: ScriptedServer) -> None:
    import asyncio

    async with pa.AsyncPurse(
        client_id="c", client_secret="s", api_key="k", base_url=server.base_url
    ) as purse:
        results = await asyncio.gather(*(purse.redirections.verify(sign()) for _ in range(50)))
    assert len(results) == 50
    assert len(server.of(JWKS_PATH)) == 1


# --- the JWKS cache: pure, with a fake clock and a fake fetch ---------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Jwks:
    """A fetch that serves the current key set and counts its calls."""

    def __init__(self, *kids: str) -> None:
        self.kids = list(kids)
        self.calls = 0

    async def __call__(self) -> Any:
        self.calls += 1
        await asyncio.sleep(0)  # let concurrent callers pile up on the lock
        return {"keys": [jwk(KEY, kid) for kid in self.kids]}


async def test_a_key_rotated_in_right_after_the_cold_load_is_fetched() -> None:
    clock, fetch = Clock(), Jwks("k1")
    cache = _KeyCache(30.0, clock)
    await cache.key_for("k1", fetch)  # cold load
    fetch.kids.append("k2")
    clock.now += 1
    assert await cache.key_for("k2", fetch) is not None  # the first unknown-kid refetch
    assert fetch.calls == 2


async def test_unknown_kid_refetches_are_throttled_from_the_first_one() -> None:
    clock, fetch = Clock(), Jwks("k1")
    cache = _KeyCache(30.0, clock)
    await cache.key_for("k1", fetch)
    clock.now += 5
    with pytest.raises(pa.SignatureVerificationError, match="'k2'"):
        await cache.key_for("k2", fetch)  # refetched: still unknown
    assert fetch.calls == 2
    fetch.kids.append("k2")
    clock.now += 29
    with pytest.raises(pa.SignatureVerificationError, match="'k2'"):
        await cache.key_for("k2", fetch)  # 29 s after the last unknown-kid refetch
    assert fetch.calls == 2
    clock.now += 1
    assert await cache.key_for("k2", fetch) is not None
    assert fetch.calls == 3


async def test_a_max_age_refetch_is_always_allowed_and_starts_no_throttle_window() -> None:
    clock, fetch = Clock(), Jwks("k1")
    cache = _KeyCache(30.0, clock)
    await cache.key_for("k1", fetch)
    clock.now += JWKS_MAX_AGE
    await cache.key_for("k1", fetch)  # stale: refetched although the kid is known
    assert fetch.calls == 2
    fetch.kids.append("k2")
    clock.now += 1
    assert await cache.key_for("k2", fetch) is not None  # not throttled by the stale refetch
    assert fetch.calls == 3


async def test_a_max_age_refetch_is_allowed_within_the_unknown_kid_interval() -> None:
    clock, fetch = Clock(), Jwks("k1")
    cache = _KeyCache(2 * JWKS_MAX_AGE, clock)  # an interval longer than the max age
    await cache.key_for("k1", fetch)
    clock.now += 10
    with pytest.raises(pa.SignatureVerificationError):
        await cache.key_for("k2", fetch)
    assert fetch.calls == 2
    fetch.kids = ["k2"]
    clock.now += JWKS_MAX_AGE
    assert await cache.key_for("k2", fetch) is not None  # stale keys are always refetched
    assert fetch.calls == 3
    with pytest.raises(pa.SignatureVerificationError):
        await cache.key_for("k3", fetch)  # but unknown kids stay throttled
    assert fetch.calls == 3


async def test_concurrent_callers_share_the_fetch_they_waited_for() -> None:
    clock, fetch = Clock(), Jwks("k1")
    cache = _KeyCache(30.0, clock)
    # Cold, with a kid the JWKS doesn't have: one fetch, not one more for the waiters.
    results = await asyncio.gather(
        *(cache.key_for("nope", fetch) for _ in range(20)), return_exceptions=True
    )
    assert all(isinstance(r, pa.SignatureVerificationError) for r in results)
    assert fetch.calls == 1
    clock.now += 1
    fetch.kids.append("k2")
    keys = await asyncio.gather(*(cache.key_for("k2", fetch) for _ in range(20)))
    assert len({id(k) for k in keys}) == 1
    assert fetch.calls == 2


# --- a published alg binds the key -----------------------------------------------------------


def test_a_jwk_alg_is_kept_beside_its_key() -> None:
    keys = rsa_keys_by_kid(
        {"keys": [jwk(KEY, "a"), jwk(KEY, "b", alg=None), jwk(KEY, "c", alg="PS256")]}
    )
    assert {kid: k.alg for kid, k in keys.items()} == {"a": "RS256", "b": None, "c": "PS256"}
    assert all(isinstance(k, SigningKey) for k in keys.values())
    # A JWK whose alg is not even a string is malformed: skipped like any other.
    assert rsa_keys_by_kid({"keys": [{**jwk(KEY, "d"), "alg": 256}]}) == {}


def test_a_token_alg_other_than_the_published_one_is_refused() -> None:
    keys = rsa_keys_by_kid({"keys": [jwk(KEY, "k1")]})
    token = sign(alg="PS256")
    with pytest.raises(pa.SignatureVerificationError, match="PS256") as info:
        verify_token(token, keys["k1"], "PS256")
    assert "RS256" in str(info.value)
    assert verify_token(sign(), keys["k1"], "RS256")["payment_id"] == "pay-1"


@pytest.mark.parametrize("alg", ["PS256", "RS384"])
def test_a_jwk_without_alg_or_with_the_same_accepts_it(alg: str) -> None:
    token = sign(alg=alg)
    for published in (None, alg):
        keys = rsa_keys_by_kid({"keys": [jwk(KEY, "k1", alg=published)]})
        assert verify_token(token, keys["k1"], alg)["payment_id"] == "pay-1"


# --- the same through the client, on both faces ----------------------------------------------

Verify = Callable[[str], Awaitable[pa.RedirectionResult]]


@pytest.fixture(params=["async", "sync"])
async def verify(request: pytest.FixtureRequest, server: ScriptedServer) -> AsyncIterator[Verify]:
    """`purse.redirections.verify` of a client of `server`, async or blocking (run in a worker
    thread so that the scripted server keeps serving on this loop)."""
    kwargs: dict[str, Any] = {
        "client_id": "c",
        "client_secret": "s",
        "api_key": "k",
        "base_url": server.base_url,
    }
    if request.param == "async":
        async with pa.AsyncPurse(**kwargs) as client:
            yield client.redirections.verify
    else:
        sync = await asyncio.to_thread(purse_sync.Purse, **kwargs)
        try:

            async def verify_sync(token: str) -> pa.RedirectionResult:
                return await asyncio.to_thread(sync.redirections.verify, token)

            yield verify_sync
        finally:
            await asyncio.to_thread(sync.close)


async def test_a_key_rotated_right_after_the_first_fetch_verifies(
    verify: Verify, server: ScriptedServer
) -> None:
    await verify(sign())
    server.routes[JWKS_PATH] = reply(200, {"keys": [jwk(KEY, "k1"), jwk(OTHER_KEY, "k2")]})
    result = await verify(sign(key=OTHER_KEY, kid="k2"))
    assert result.payment_id == "pay-1"
    assert len(server.of(JWKS_PATH)) == 2
    # A second rotation within the interval waits for it.
    server.routes[JWKS_PATH] = reply(200, {"keys": [jwk(KEY, "k3")]})
    with pytest.raises(pa.SignatureVerificationError, match="'k3'"):
        await verify(sign(kid="k3"))
    assert len(server.of(JWKS_PATH)) == 2


async def test_a_signature_in_another_alg_than_the_jwk_publishes_is_refused(
    verify: Verify, server: ScriptedServer
) -> None:
    # The same RSA key under two kids, its JWKs published for RS256 and PS256.
    server.routes[JWKS_PATH] = reply(200, {"keys": [jwk(KEY, "k1"), jwk(KEY, "ps", "PS256")]})
    with pytest.raises(pa.SignatureVerificationError, match=r"PS256.*RS256"):
        await verify(sign(alg="PS256"))
    with pytest.raises(pa.SignatureVerificationError, match=r"RS256.*PS256"):
        await verify(sign(kid="ps"))
    assert (await verify(sign())).payment_id == "pay-1"
    assert (await verify(sign(alg="PS256", kid="ps"))).payment_id == "pay-1"
    assert len(server.of(JWKS_PATH)) == 1


# --- binding a redirection to the order's checkout, and its age -------------------------------

NOW = 1_750_000_000.0


def test_a_token_of_the_expected_session_passes_the_binding() -> None:
    check_binding(CLAIMS, expected_client_session_id="cs-1")
    check_binding(CLAIMS)  # nothing expected: nothing compared


def test_a_token_of_another_session_is_refused_naming_both_ids() -> None:
    with pytest.raises(pa.SignatureVerificationError) as info:
        check_binding(CLAIMS, expected_client_session_id="cs-2")
    assert str(info.value) == "the redirection token is for client session cs-1, expected cs-2"


@pytest.mark.parametrize(
    "iat", [NOW, NOW - 600, NOW - 630, NOW + 30, float(NOW - 10)], ids=lambda v: f"{v - NOW:+}"
)
def test_an_iat_within_max_age_and_leeway_passes(iat: float) -> None:
    check_binding({**CLAIMS, "iat": iat}, max_age=600, leeway=30, now=NOW)


def test_an_iat_older_than_max_age_and_leeway_is_refused() -> None:
    with pytest.raises(pa.SignatureVerificationError, match=r"issued 631 s ago.*max_age=600"):
        check_binding({**CLAIMS, "iat": NOW - 631}, max_age=600, leeway=30, now=NOW)
    with pytest.raises(pa.SignatureVerificationError, match="ago"):
        check_binding({**CLAIMS, "iat": NOW - 1}, max_age=0, leeway=0, now=NOW)
    # Without max_age an old token is not refused here (its exp, if any, is PyJWT's job).
    check_binding({**CLAIMS, "iat": NOW - 10**6}, now=NOW)


def test_an_iat_in_the_future_beyond_leeway_is_refused_with_or_without_max_age() -> None:
    for max_age in (None, 600):
        with pytest.raises(pa.SignatureVerificationError, match="in the future"):
            check_binding({**CLAIMS, "iat": NOW + 31}, max_age=max_age, leeway=30, now=NOW)


@pytest.mark.parametrize("iat", [None, "1750000000", True, float("nan"), float("inf"), [1]])
def test_max_age_needs_a_numeric_iat(iat: Any) -> None:
    claims = dict(CLAIMS) if iat is None else {**CLAIMS, "iat": iat}
    with pytest.raises(pa.SignatureVerificationError, match="iat"):
        check_binding(claims, max_age=600, now=NOW)


@pytest.mark.parametrize(
    ("expected", "max_age"),
    [("", None), (123, None), (None, -1), (None, float("nan")), (None, True), (None, "60")],
)
def test_bad_binding_options_are_configuration_errors(expected: Any, max_age: Any) -> None:
    with pytest.raises(pa.ConfigurationError):
        check_binding_options(expected, max_age)
    with pytest.raises(pa.ConfigurationError):
        check_binding(CLAIMS, expected_client_session_id=expected, max_age=max_age)


def test_verify_token_applies_the_binding_after_the_signature() -> None:
    keys = rsa_keys_by_kid({"keys": [jwk(KEY, "k1")]})
    with pytest.raises(pa.SignatureVerificationError, match="expected cs-2"):
        verify_token(sign(), keys["k1"], "RS256", expected_client_session_id="cs-2")
    # A forged token claiming the expected session fails on its signature, not on the binding.
    header, _, signature = sign().split(".")
    forged = f"{header}.{b64({**CLAIMS, 'client_session_id': 'cs-2'})}.{signature}"
    with pytest.raises(pa.SignatureVerificationError, match="signature"):
        verify_token(forged, keys["k1"], "RS256", expected_client_session_id="cs-2")


VerifyKw = Callable[..., Awaitable[pa.RedirectionResult]]


@pytest.fixture(params=["async", "sync"])
async def verify_kw(
    request: pytest.FixtureRequest, server: ScriptedServer
) -> AsyncIterator[VerifyKw]:
    """`verify(token, **options)` of a client of `server`, async or blocking (in a thread)."""
    kwargs: dict[str, Any] = {
        "client_id": "c",
        "client_secret": "s",
        "api_key": "k",
        "base_url": server.base_url,
    }
    if request.param == "async":
        async with pa.AsyncPurse(**kwargs) as client:
            yield client.redirections.verify
    else:
        sync = await asyncio.to_thread(purse_sync.Purse, **kwargs)
        try:

            async def verify_sync(token: str, **options: Any) -> pa.RedirectionResult:
                return await asyncio.to_thread(sync.redirections.verify, token, **options)

            yield verify_sync
        finally:
            await asyncio.to_thread(sync.close)


async def test_verify_binds_to_the_expected_session(
    verify_kw: VerifyKw, server: ScriptedServer
) -> None:
    assert (await verify_kw(sign(), expected_client_session_id="cs-1")).payment_id == "pay-1"
    with pytest.raises(pa.SignatureVerificationError, match="session cs-1, expected cs-2"):
        await verify_kw(sign(), expected_client_session_id="cs-2")


async def test_verify_bounds_the_age_of_the_token(verify_kw: VerifyKw) -> None:
    now = int(time.time())
    fresh = sign({**CLAIMS, "iat": now - 5, "exp": now + 600})
    old = sign({**CLAIMS, "iat": now - 3600, "exp": now + 600})
    assert (await verify_kw(fresh, max_age=60)).iat == now - 5
    assert (await verify_kw(old)).iat == now - 3600  # no max_age: exp alone decides
    with pytest.raises(pa.SignatureVerificationError, match="max_age=600"):
        await verify_kw(old, max_age=600)
    with pytest.raises(pa.SignatureVerificationError, match="no iat"):
        await verify_kw(sign(), max_age=600)  # CLAIMS carry no iat
    with pytest.raises(pa.SignatureVerificationError):
        await verify_kw(sign({**CLAIMS, "iat": now + 3600}))  # issued in the future


async def test_bad_options_fail_before_any_key_is_fetched(
    verify_kw: VerifyKw, server: ScriptedServer
) -> None:
    with pytest.raises(pa.ConfigurationError, match="expected_client_session_id"):
        await verify_kw(sign(), expected_client_session_id="")
    with pytest.raises(pa.ConfigurationError, match="max_age"):
        await verify_kw(sign(), max_age=-1)
    assert server.of(JWKS_PATH) == []


# --- the same against the sandbox: session A's return replayed on order B's URL ---------------

RETURN_URL = "https://shop.example/payment/return"


@pytest.fixture(scope="module")
def box() -> Iterator[ThreadedSandbox]:
    with ThreadedSandbox() as sandbox:
        yield sandbox


class Face:
    """The async client, or the blocking one (called from a worker thread), of `box`."""

    def __init__(self, async_client: pa.AsyncPurse | None, sync_client: Any) -> None:
        self.async_client = async_client
        self.sync_client = sync_client

    async def __call__(self, call: Callable[[Any], Any]) -> Any:
        if self.sync_client is not None:
            return await asyncio.to_thread(call, self.sync_client)
        return await call(self.async_client)


@pytest.fixture(params=["async", "sync"])
async def face(request: pytest.FixtureRequest, box: ThreadedSandbox) -> AsyncIterator[Face]:
    kwargs = box.sandbox.client_kwargs()
    if request.param == "async":
        async with pa.AsyncPurse(**kwargs) as client:
            yield Face(client, None)
    else:
        sync = await asyncio.to_thread(purse_sync.Purse, **kwargs)
        try:
            yield Face(None, sync)
        finally:
            await asyncio.to_thread(sync.close)


async def checkout(face: Face, box: ThreadedSandbox, reference: str) -> tuple[str, str]:
    """A client session for the order `reference`, paid: (session id, the shopper's return)."""
    session = await face(
        lambda c: c.client_sessions.create(
            amount=12000,
            currency="EUR",
            shopper_redirection_url=f"{RETURN_URL}?order={reference}",
            order={"reference": reference, "net_amount": 12000},
        )
    )
    url = await asyncio.to_thread(box.checkout, session.id, card=MagicCards.AUTHORIZED)
    return session.id, url


async def test_a_return_of_another_session_is_refused_on_both_faces(
    face: Face, box: ThreadedSandbox
) -> None:
    session_a, url_a = await checkout(face, box, "ORDER-A")
    session_b, _ = await checkout(face, box, "ORDER-B")
    token_a = extract_token(url_a)
    replayed = f"{RETURN_URL}?order=ORDER-B&purse-redirection-data={token_a}"
    # The signature alone holds: without the binding, A's token verifies on B's return URL.
    assert (await face(lambda c: c.redirections.verify(replayed))).client_session_id == session_a
    with pytest.raises(pa.SignatureVerificationError) as info:
        await face(lambda c: c.redirections.verify(replayed, expected_client_session_id=session_b))
    assert str(info.value) == (
        f"the redirection token is for client session {session_a}, expected {session_b}"
    )
    ok = await face(
        lambda c: c.redirections.verify(url_a, expected_client_session_id=session_a, max_age=60)
    )
    assert ok.client_session_id == session_a and ok.payment_id is not None


async def test_a_sandbox_return_too_old_for_max_age_is_refused_on_both_faces(
    face: Face, box: ThreadedSandbox
) -> None:
    claims = {"client_session_id": "cs-old", "iat": int(time.time()) - 120}
    token = box.sandbox.sign_redirection(claims)
    found = await face(lambda c: c.redirections.verify(token, max_age=300))
    assert found.client_session_id == "cs-old"
    with pytest.raises(pa.SignatureVerificationError, match="ago"):
        await face(lambda c: c.redirections.verify(token, max_age=60))
