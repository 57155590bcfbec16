"""The endpoint table (`purse_async.ENDPOINTS`) held against the SDK and the sandbox, both faces:
every request each SDK method sends is a row that names it, every row is sent, every public
method is a row's or makes no request, the sandbox serves exactly the rows, docs show the table.

Adding an endpoint (say `purse.payment_links.create`): its `Endpoint(...)` row in
purse_async/_endpoints.py, the SDK method, the sandbox route, and one step in `scenario()` below
(`with calls.of("payment_links.create"): face.call(purse.payment_links.create, ...)`).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import re
import threading
import urllib.parse
from collections import defaultdict
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import attrs
import pytest
from aiohttp import web

import purse_async as pa
import purse_sync
from purse_async import _endpoints
from purse_async.__main__ import main as cli
from purse_async._endpoints import ENDPOINTS, LOCAL_METHODS, Endpoint
from purse_async.resources._webhooks import compute_signature
from purse_async.testing import MagicCards, Sandbox
from purse_async.testing._admin import ADMIN_PREFIX

T = TypeVar("T")
ROOT = Path(__file__).resolve().parent.parent
RETURN = "https://shop.example/back"
AMOUNT = 12000
ORDER = {"reference": "EP-1", "net_amount": AMOUNT, "tax_amount": 2000}
CUSTOMER = {"reference": "C-EP", "email": "jane@example.com", "first_name": "Jane"}
BROWSER = {"user_agent": "pytest", "accept_header": "text/html", "javascript_enabled": True}
PRIORITIES = [{"partner": "*", "method": "*"}]
WEBHOOK = {"url": "http://127.0.0.1:9/hook"}

# Sandbox routes that are not Purse API endpoints, so have no row: the shopper's pages (hosted
# checkout, 3-D Secure) and the widget script. (/_sandbox/ admin routes are left out by prefix.)
NOT_API_ROUTES = {
    ("GET", "/hosted/sessions/{}"),
    ("POST", "/hosted/sessions/{}/submit"),
    ("GET", "/hosted/sessions/{}/cancel"),
    ("POST", "/hosted/sessions/{}/cancel"),
    ("GET", "/hosted/payments/{}/authenticate"),
    ("POST", "/hosted/payments/{}/authenticate"),
    ("GET", "/hosted/payment-links/{}"),
    ("POST", "/hosted/payment-links/{}/submit"),
    ("GET", "/static/purse-checkout.js"),
}
# The sandbox also serves every /payment/v2 route under /v2 (the prefix Purse's idempotency page
# and demo code write); the SDK never calls those aliases.
ALIAS_PREFIX, API_PREFIX = "/v2/", "/payment/v2/"


def template(path: str) -> str:
    """A path with its parameter names dropped: `/payments/{payment_id}` -> `/payments/{}`."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def row_key(row: Endpoint) -> tuple[str, str]:
    return (row.method, template(row.path))


# -- the sandbox, with every request's method, path and body members on record ----------------


@attrs.frozen
class Sent:
    """One request the sandbox received: `members` are the body's top-level names."""

    method: str
    path: str
    members: frozenset[str]

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


class RecordingSandbox(Sandbox):
    """A sandbox that records each request (outermost: faulted requests too)."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.sent: list[Sent] = []

    def _app(self) -> web.Application:
        app = super()._app()
        app.middlewares.insert(0, self._record)
        return app

    @web.middleware
    async def _record(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        raw = await request.read()  # aiohttp keeps it: the handler reads it again
        members: frozenset[str] = frozenset()
        if raw and request.content_type == "application/x-www-form-urlencoded":
            members = frozenset(urllib.parse.parse_qs(raw.decode(), keep_blank_values=True))
        elif raw:
            body = json.loads(raw)
            members = frozenset(body) if isinstance(body, dict) else frozenset()
        self.sent.append(Sent(request.method, request.path, members))
        return await handler(request)


class Box:
    """A RecordingSandbox served from its own thread, so both faces can call it blocking."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.sandbox = RecordingSandbox()
        self.run(self.sandbox.start())

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    def do(self, fn: Callable[[], T]) -> T:
        """Run `fn` on the sandbox's loop (its state belongs to that thread)."""

        async def call() -> T:
            return fn()

        return self.run(call())

    def close(self) -> None:
        self.run(self.sandbox.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@pytest.fixture
def box() -> Iterator[Box]:
    box = Box()
    yield box
    box.close()


# -- one face of the SDK, called blocking ------------------------------------------------------


class Face:
    """`purse_async.AsyncPurse` (its calls run on a loop of this thread) or `purse_sync.Purse`,
    behind one blocking `call`."""

    def __init__(self, name: str, box: Box) -> None:
        self.name = name
        self.loop: asyncio.AbstractEventLoop | None = None
        # With a scope: the token request then sends every member it can.
        kwargs = {**box.sandbox.client_kwargs(), "scope": "payments"}
        if name == "async":
            self.loop = asyncio.new_event_loop()

            async def make() -> pa.AsyncPurse:
                return pa.AsyncPurse(**kwargs)

            self.purse: Any = self.loop.run_until_complete(make())
        else:
            self.purse = purse_sync.Purse(**kwargs)

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        result = fn(*args, **kwargs)
        if inspect.isawaitable(result):
            assert self.loop is not None
            result = self.loop.run_until_complete(result)
        return result

    def first(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """The first item of the iterator `fn(...)` returns (then closed)."""
        iterator = fn(*args, **kwargs)
        if self.loop is not None:
            item = self.loop.run_until_complete(anext(iterator))
            self.loop.run_until_complete(iterator.aclose())
            return item
        item = next(iterator)
        getattr(iterator, "close", lambda: None)()
        return item

    def close(self) -> None:
        if self.loop is None:
            self.purse.close()
            return
        self.loop.run_until_complete(self.purse.aclose())
        self.loop.close()


class Calls:
    """Which SDK method sent which requests: each step runs inside `of("resource.method")`."""

    def __init__(self, sent: list[Sent]) -> None:
        self.sent = sent
        self.by_method: dict[str, list[Sent]] = defaultdict(list)
        self.counted = 0

    @contextmanager
    def of(self, sdk_method: str) -> Iterator[None]:
        assert len(self.sent) == self.counted, f"requests outside any step: {self.unclaimed()}"
        self.by_method.setdefault(sdk_method, [])
        yield
        self.by_method[sdk_method] += self.sent[self.counted :]
        self.counted = len(self.sent)

    def unclaimed(self) -> list[str]:
        return [str(s) for s in self.sent[self.counted :]]


def scenario(face: Face, box: Box, calls: Calls) -> None:
    """Call every public SDK method that can send a request, on each path that makes it send
    one (idempotency replays read back what the key made), with every body member it sends."""
    purse, sandbox = face.purse, box.sandbox
    with calls.of("authenticate"):
        face.call(purse.authenticate)
    with calls.of("signing_keys.retrieve"):
        face.call(purse.signing_keys.retrieve)

    # Client sessions.
    every_member = {
        "amount": AMOUNT,
        "currency": "EUR",
        "shopper_redirection_url": RETURN,
        "order": ORDER,
        "customer": CUSTOMER,
        "capture_mode": "AUTOMATIC",
        "capture_delay": "PT1H",
        "integration_mode": "HOSTED_PAGE",
        "webhook": WEBHOOK,
        "three_ds_authentication_options": {"challenge_indicator": "NO_CHALLENGE_REQUESTED"},
        "allow_future_usage": False,
        "idempotency_key": "ep-session-1",
    }
    with calls.of("client_sessions.create"):
        session = face.call(purse.client_sessions.create, **every_member)
    with calls.of("client_sessions.create"):  # the key's replay: read back what it made
        face.call(purse.client_sessions.create, **every_member)
    with calls.of("client_sessions.retrieve"):
        face.call(purse.client_sessions.retrieve, session.id)
    with calls.of("client_sessions.abort"):
        face.call(purse.client_sessions.abort, session.id)
    minimal = {"amount": AMOUNT, "currency": "EUR", "shopper_redirection_url": RETURN}
    with calls.of("client_sessions.create"):
        other = face.call(purse.client_sessions.create, **minimal, order=ORDER)
    # An abort answer without the session: abort reads it.
    box.do(lambda: sandbox.faults.fail_next(status=200, path="/abort", body={}))
    with calls.of("client_sessions.abort"):
        face.call(purse.client_sessions.abort, other.id)

    # A paid session, its payment and the operations on it.
    with calls.of("client_sessions.create"):
        paid = face.call(purse.client_sessions.create, **minimal, order=ORDER)
    url = box.run(sandbox.checkout(paid.id))
    with calls.of("redirections.verify"):
        payment_id = face.call(purse.redirections.verify, url).payment_id
    with calls.of("payments.retrieve"):
        face.call(purse.payments.retrieve, payment_id)
    with calls.of("payments.wait_for_authorization"):
        face.call(purse.payments.wait_for_authorization, payment_id)
    with calls.of("payments.watch"):
        face.first(purse.payments.watch, payment_id)
    for method, amount in (("capture", 5000), ("refund", 1000), ("void", 1000)):
        operate = getattr(purse.payments, method)
        key = f"ep-{method}"
        with calls.of(f"payments.{method}"):
            face.call(
                operate, payment_id, amount=amount, priorities=PRIORITIES, idempotency_key=key
            )
        with calls.of(f"payments.{method}"):  # the key's replay: read back what it made
            face.call(
                operate, payment_id, amount=amount, priorities=PRIORITIES, idempotency_key=key
            )

    # The advanced flow: eligible solutions, a CIT payment, MIT payments retried.
    with calls.of("eligible_solutions.list"):
        face.call(
            purse.eligible_solutions.list,
            amount=AMOUNT,
            currency="EUR",
            order=ORDER,
            customer=CUSTOMER,
            allow_future_usage=True,
        )
    cit = {
        "amount": AMOUNT,
        "currency": "EUR",
        "split": [{"vault_form_token": "tok_" + MagicCards.AUTHORIZED, "amount": AMOUNT}],
        "browser": BROWSER,
        "order": ORDER,
        "customer": CUSTOMER,
        "shopper_redirection_url": RETURN,
        "capture_mode": "MANUAL",
        "allow_future_usage": True,
        "webhook": WEBHOOK,
        "idempotency_key": "ep-payment-1",
    }
    with calls.of("payments.create"):
        face.call(purse.payments.create, **cit)
    with calls.of("payments.create"):  # the key's replay: read back what it made
        face.call(purse.payments.create, **cit)

    def mit(reference: str) -> dict[str, Any]:
        token = box.do(lambda: sandbox.save_card(MagicCards.SOFT_DECLINE_FIRST_PSP))
        return {
            "amount": AMOUNT,
            "currency": "EUR",
            "split": [{"wallet_token": token, "amount": AMOUNT}],
            "order": {"reference": reference, "net_amount": AMOUNT},
        }

    retried = mit("EP-SUB-1")
    with calls.of("payments.authorize_with_retry"):  # declined, eligible solutions, retried
        face.call(purse.payments.authorize_with_retry, **retried)
    with calls.of("payments.authorize_with_retry"):  # again: the last attempt read back
        face.call(purse.payments.authorize_with_retry, **retried)
    with calls.of("payments.create"):
        face.call(purse.payments.create, **mit("EP-SUB-2"), retry=pa.AuthorizationRetry())
    with calls.of("payments.create"):
        declined = face.call(
            purse.payments.create, **mit("EP-SUB-3"), idempotency_key="EP-SUB-3/authorization/1"
        )
    with calls.of("payments.retry_decision"):
        face.call(purse.payments.retry_decision, declined.id, initiator="MIT")

    # Saved cards: both CIT set-ups and their replays, the wallet, an MIT on a listed token.
    setup = {
        "currency": "EUR",
        "shopper_redirection_url": RETURN,
        "order": ORDER,
        "customer": CUSTOMER,
        "capture_mode": "MANUAL",
        "integration_mode": "HOSTED_PAGE",
        "webhook": WEBHOOK,
        "idempotency_key": "ep-setup-1",
    }
    for _ in range(2):  # the second is the key's replay: read back what it made
        with calls.of("client_sessions.create_for_future_usage"):
            saving = face.call(purse.client_sessions.create_for_future_usage, **setup)
    box.run(sandbox.checkout(saving.id))
    for _ in range(2):
        with calls.of("payments.create_for_future_usage"):
            face.call(
                purse.payments.create_for_future_usage,
                **{
                    k: v
                    for k, v in cit.items()
                    if k not in ("allow_future_usage", "idempotency_key")
                },
                idempotency_key="ep-setup-2",
            )
    with calls.of("wallet.list_tokens"):
        saved = face.call(purse.wallet.list_tokens, CUSTOMER["reference"])
    charge = {
        "wallet_token": saved[0].id,
        "amount": AMOUNT,
        "currency": "EUR",
        "order": {"reference": "EP-SUB-4", "net_amount": AMOUNT},
        "partner": "adyen",
        "method": "creditcard",
        "customer": CUSTOMER,
        "capture_mode": "MANUAL",
        "webhook": WEBHOOK,
        "idempotency_key": "ep-charge-1",
    }
    for _ in range(2):
        with calls.of("payments.charge_saved_card"):
            face.call(purse.payments.charge_saved_card, **charge)

    # Webhooks: only `process(refetch=True)` reads the API.
    body = json.dumps(box.do(lambda: sandbox.payment(payment_id))).encode()
    with calls.of("webhooks.process"):
        face.call(purse.webhooks.process, body, refetch=True)
    with calls.of("webhooks.parse"):
        face.call(purse.webhooks.parse, body)
    with calls.of("webhooks.verify_signature"):
        signature = compute_signature(body, "s3cret")
        face.call(purse.webhooks.verify_signature, body, signature, secret="s3cret")
    with calls.of("webhooks.is_trusted_source"):
        face.call(purse.webhooks.is_trusted_source, "127.0.0.1", allowlist=["127.0.0.1"])

    # Pay by Link: a link, its replay, its status; both webhook streams refetched.
    link_args = {
        "amount": AMOUNT,
        "currency": "EUR",
        "shopper_redirection_url": RETURN,
        "order": ORDER,
        "customer": CUSTOMER,
        "capture_mode": "MANUAL",
        "webhook": WEBHOOK,
        "three_ds_authentication_options": {"challenge_indicator": "NO_CHALLENGE_REQUESTED"},
        "idempotency_key": "ep-link-1",
    }
    with calls.of("payment_links.create"):
        link = face.call(purse.payment_links.create, **link_args)
    with calls.of("payment_links.create"):  # the key's replay: read back what it made
        face.call(purse.payment_links.create, **link_args)
    with calls.of("payment_links.retrieve"):
        face.call(purse.payment_links.retrieve, link.id)
    link_body = json.dumps(box.do(lambda: sandbox.payment_link(link.id))).encode()
    with calls.of("webhooks.parse_any"):
        face.call(purse.webhooks.parse_any, link_body)
    for streamed in (link_body, body):
        with calls.of("webhooks.process_any"):
            store = pa.MemoryWebhookStore()
            face.call(purse.webhooks.process_any, streamed, refetch=True, store=store)


@pytest.mark.parametrize("face_name", ["async", "sync"])
def test_every_request_each_sdk_method_sends_is_a_row_naming_it(box: Box, face_name: str) -> None:
    face = Face(face_name, box)
    calls = Calls(box.sandbox.sent)
    try:
        scenario(face, box, calls)
    finally:
        face.close()
    assert not calls.unclaimed(), f"requests outside any step: {calls.unclaimed()}"

    problems: list[str] = []
    seen: set[tuple[Endpoint, str]] = set()
    for sdk_method, sent in calls.by_method.items():
        if sdk_method in LOCAL_METHODS and sent:
            problems.append(
                f"{sdk_method} is in LOCAL_METHODS (no request) but sent "
                f"{', '.join(map(str, sent))}"
            )
        for request in sent:
            rows = [row for row in ENDPOINTS if row.matches(request.method, request.path)]
            if len(rows) != 1:
                problems.append(
                    f"{sdk_method} sent {request}, which matches {len(rows)} rows of ENDPOINTS "
                    f"(add its row to purse_async/_endpoints.py)"
                    if not rows
                    else f"{request} matches several rows: {[r.path for r in rows]}"
                )
                continue
            (row,) = rows
            seen.add((row, sdk_method))
            if sdk_method not in row.sdk_methods:
                problems.append(
                    f"{sdk_method} sent {row.method} {row.path}, whose row does not list it in "
                    f"sdk_methods {row.sdk_methods}"
                )
            extra = sorted(request.members - set(row.body))
            if extra:
                problems.append(
                    f"{sdk_method} sent {row.method} {row.path} with body members {extra} that "
                    f"its row does not list (body={row.body})"
                )
    for row in ENDPOINTS:
        if not row.sdk_methods:
            problems.append(f"row {row.method} {row.path} names no SDK method")
        for sdk_method in row.sdk_methods:
            if (row, sdk_method) in seen:
                continue
            if sdk_method not in calls.by_method:
                problems.append(
                    f"row {row.method} {row.path} names {sdk_method}, which scenario() in "
                    f"tests/test_endpoints.py never calls: add a step calling it"
                )
            else:
                problems.append(
                    f"row {row.method} {row.path} names {sdk_method}, but its calls in "
                    f"scenario() never sent that request"
                )
    assert not problems, f"{face_name} face:\n" + "\n".join(dict.fromkeys(problems))


def public_methods(obj: object) -> set[str]:
    cls = type(obj)
    return {
        name
        for name in dir(cls)
        if not name.startswith("_") and inspect.isroutine(inspect.getattr_static(cls, name))
    }


def sdk_surface(purse: object) -> set[str]:
    """Every public method of a client, as `authenticate` and `payments.capture`."""
    names = public_methods(purse)
    for attr, resource in vars(purse).items():
        if not attr.startswith("_") and ".resources." in type(resource).__module__:
            names |= {f"{attr}.{method}" for method in public_methods(resource)}
            raw = getattr(resource, "with_raw_response", None)
            if raw is not None:
                # Each raw-response method is the resource's method with a wrapper: same row.
                stray = public_methods(raw) - public_methods(resource)
                assert not stray, f"{attr}.with_raw_response has methods {stray} of its own"
    return names


@pytest.mark.parametrize("face_name", ["async", "sync"])
def test_every_public_method_is_in_a_row_or_listed_as_making_no_request(
    box: Box, face_name: str
) -> None:
    face = Face(face_name, box)
    try:
        surface = sdk_surface(face.purse)
    finally:
        face.close()
    in_rows = {name for row in ENDPOINTS for name in row.sdk_methods}
    unlisted = sorted(surface - in_rows - LOCAL_METHODS)
    assert not unlisted, (
        f"{face_name} face: public methods in no row's sdk_methods nor in LOCAL_METHODS "
        f"(purse_async/_endpoints.py): {unlisted}"
    )
    both = sorted(in_rows & LOCAL_METHODS)
    assert not both, f"in a row and in LOCAL_METHODS (no request) at once: {both}"
    # Names in the table that the faces don't have (a typo, or a method renamed): LOCAL_METHODS
    # holds both faces' client methods (`aclose`, `close`), so only rows are held to each face.
    missing = sorted(in_rows - surface)
    assert not missing, f"{face_name} face has no method {missing} that a row names"


# -- the sandbox's routes ----------------------------------------------------------------------


def route_templates(resource: web.AbstractResource) -> list[str]:
    """The paths a sandbox route serves, parameters as `{}`; a parameter whose pattern is a list
    of words (`{kind:captures|refunds|voids}`) is one path per word."""
    info = resource.get_info()
    if "path" in info:
        return [info["path"]]
    formatter, pattern = info["formatter"], info["pattern"].pattern
    paths = [formatter]
    for name in re.findall(r"\{(\w+)\}", formatter):
        group = re.search(rf"\(\?P<{name}>(.*?)\)", pattern)
        assert group is not None, f"cannot read the pattern of {formatter}: {pattern}"
        regex = group.group(1)
        if regex == "[^{}/]+":
            words = ["{}"]
        else:
            assert re.fullmatch(r"[\w-]+(\|[\w-]+)*", regex), (
                f"route {formatter}: parameter {name} has a pattern ({regex}) this test cannot "
                f"expand; use a plain {{{name}}} or a list of words"
            )
            words = regex.split("|")
        paths = [p.replace(f"{{{name}}}", word, 1) for p in paths for word in words]
    return paths


def sandbox_routes() -> set[tuple[str, str]]:
    app = Sandbox()._app()
    routes = set()
    for route in app.router.routes():
        if route.method == "HEAD":  # aiohttp's twin of each GET
            continue
        for path in route_templates(route.resource):  # type: ignore[arg-type]
            if not path.startswith(ADMIN_PREFIX):
                routes.add((route.method, path))
    return routes


def test_the_sandbox_serves_exactly_the_rows() -> None:
    routes = sandbox_routes()
    aliases = {(m, p) for m, p in routes if p.startswith(ALIAS_PREFIX)}
    api = routes - aliases - NOT_API_ROUTES
    table = {row_key(row) for row in ENDPOINTS}
    no_route = sorted(table - api)
    no_row = sorted(api - table)
    assert not no_route, f"rows of ENDPOINTS that the sandbox does not serve: {no_route}"
    assert not no_row, (
        f"sandbox routes with no row in ENDPOINTS (add one to purse_async/_endpoints.py, or to "
        f"NOT_API_ROUTES in tests/test_endpoints.py if it is not an API endpoint): {no_row}"
    )
    # The /v2 aliases mirror the /payment/v2 routes, one for one.
    mirrored = {(m, API_PREFIX + p[len(ALIAS_PREFIX) :]) for m, p in aliases}
    under_api = {(m, p) for m, p in api if p.startswith(API_PREFIX)}
    assert mirrored == under_api, (
        f"/v2 aliases without their /payment/v2 route: {sorted(mirrored - under_api)}; "
        f"/payment/v2 routes without their /v2 alias: {sorted(under_api - mirrored)}"
    )
    stale = sorted(NOT_API_ROUTES - routes)
    assert not stale, f"NOT_API_ROUTES lists routes the sandbox no longer has: {stale}"


# -- the table itself, its JSON and its page ---------------------------------------------------


def test_rows_are_unique_and_well_formed() -> None:
    keys = [row_key(row) for row in ENDPOINTS]
    assert len(keys) == len(set(keys)), (
        f"duplicate rows: {sorted(k for k in keys if keys.count(k) > 1)}"
    )
    for row in ENDPOINTS:
        where = f"row {row.method} {row.path}"
        assert row.method in ("GET", "POST", "PUT", "PATCH", "DELETE"), where
        assert row.path.startswith("/") and "?" not in row.path, where
        assert row.evidence in _endpoints.TAGS, where
        assert row.source.startswith("https://"), f"{where}: source must be a URL"
        assert row.evidence == "documented" or row.note, f"{where}: say what is inferred in note"
        assert list(row.body) == sorted(set(row.body)), f"{where}: body members sorted, once"
        assert list(row.sdk_methods) == sorted(set(row.sdk_methods)), f"{where}: sdk_methods sorted"
        if row.method == "GET":
            assert not row.body, f"{where}: a GET sends no body"


def test_matches_fills_ids_only() -> None:
    (capture,) = [row for row in ENDPOINTS if row.path.endswith("/captures")]
    assert capture.matches("post", "/payment/v2/payments/7c9e-1/captures")
    assert not capture.matches("POST", "/payment/v2/payments/a/b/captures")
    assert not capture.matches("GET", "/payment/v2/payments/7c9e-1/captures")
    assert not capture.matches("POST", "/v2/payments/7c9e-1/captures")


def test_the_json_form_and_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["endpoints", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data == _endpoints.as_json()
    assert [(d["method"], d["path"], d["tag"]) for d in data] == [
        (row.method, row.path, row.tag) for row in ENDPOINTS
    ]
    assert cli(["endpoints", "--markdown"]) == 0
    assert capsys.readouterr().out == _endpoints.markdown_table()
    assert pa.ENDPOINTS is ENDPOINTS and purse_sync.ENDPOINTS is ENDPOINTS


def test_the_docs_page_shows_the_table() -> None:
    page = (ROOT / "docs" / "endpoints.md").read_text(encoding="utf-8")
    assert _endpoints.replace_table(page) == page, (
        "docs/endpoints.md's table differs from ENDPOINTS: regenerate it with "
        "`python -m purse_async endpoints --markdown --write docs/endpoints.md`"
    )
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert "endpoints.md" in nav


def test_the_readme_lists_every_endpoint_with_its_evidence_tag() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    shown = re.findall(
        r"^\| (GET|POST|PUT|PATCH|DELETE) \| `([^`]+)` \| \[([CDI])\] \|$", readme, re.M
    )
    assert shown == [(e.method, e.path, e.tag) for e in ENDPOINTS], (
        "README.md's endpoint table differs from purse_async.ENDPOINTS (method, path, tag, order)"
    )
