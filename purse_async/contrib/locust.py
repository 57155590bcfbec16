"""`PurseUser`: Locust users that load a Purse API through the SDK (`pip install
'purse-sdk[locust]'`); see benchmarks/locustfile.py and docs/fleets.md.

Subclass it and call the API through `self.purse`, a `purse_sync.Purse`:

    class Shopper(PurseUser):
        @task
        def look_up(self) -> None:
            self.purse.payments.retrieve(PAYMENT_ID)

Every call of `self.purse` that goes to an API endpoint is reported to Locust as one request:

- request type: the HTTP method; name: the endpoint template (`/payment/v2/payments/{id}`), so
  the stats table reads `GET /payment/v2/payments/{id}`, one row per endpoint whatever the ids;
- response time: the whole call as your code waited for it (milliseconds, retries, backoff and
  a token fetch included), response length: the answer's `Content-Length`;
- a failed call is a failure of that row (grouped by error class, status and problem type, not
  by message, so ids do not split them), then raised to your task as usual;
- retries: a call that took more than one attempt also reports one `RETRY` request per extra
  attempt under the same name (`retry_request_type`; None: not reported), so the table, the
  CSV files and a distributed master count the retries per endpoint; `context` carries
  `attempts`, `status`, `idempotency_key` and `request_id` for your listeners.
- the token request is reported (`POST /oauth/token`) when a user starts and the client had to
  fetch one (not when a shared `token_store` already held it).

Local helpers (`redirections.verify` once its keys are cached, `webhooks.*`) and loops of calls
(`payments.wait_for_authorization`, `watch`, `authorize_with_retry`) pass through unreported.

Locust runs on gevent: purse_sync runs its event loop on an OS thread and a calling greenlet
waits cooperatively, so hundreds of users share one client. By default one client per Locust
process (one connection pool and one token, as one web worker would have) serves every user;
`shared_client = False` gives each user its own. The client comes from the `PURSE_*`
variables, `purse_options` (e.g. `{"token_store": RedisTokenStore(url)}` for one token across
every Locust worker) and Locust's `--host`, which becomes the `base_url`.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable
from typing import Any, ClassVar, cast
from urllib.parse import urlsplit

from locust import User, events
from locust.env import Environment

import purse_sync

__all__ = ["PurseUser", "endpoint_name"]

#: The endpoint template of each SDK method that calls one endpoint.
ENDPOINTS: dict[tuple[str, str], tuple[str, str]] = {
    ("client_sessions", "create"): ("POST", "/payment/v2/client-sessions"),
    ("client_sessions", "retrieve"): ("GET", "/payment/v2/client-sessions/{id}"),
    ("client_sessions", "abort"): ("POST", "/payment/v2/client-sessions/{id}/abort"),
    ("payments", "create"): ("POST", "/payment/v2/payments"),
    ("payments", "retrieve"): ("GET", "/payment/v2/payments/{id}"),
    ("payments", "capture"): ("POST", "/payment/v2/payments/{id}/captures"),
    ("payments", "refund"): ("POST", "/payment/v2/payments/{id}/refunds"),
    ("payments", "void"): ("POST", "/payment/v2/payments/{id}/voids"),
    ("eligible_solutions", "list"): ("POST", "/payment/v2/eligible-solutions"),
    ("signing_keys", "retrieve"): ("GET", "/payment/v2/signing-jwks"),
    ("client_sessions", "create_for_future_usage"): ("POST", "/payment/v2/client-sessions"),
    ("payments", "create_for_future_usage"): ("POST", "/payment/v2/payments"),
    ("payments", "charge_saved_card"): ("POST", "/payment/v2/payments"),
    ("payment_links", "create"): ("POST", "/payment/v2/payment-links"),
    ("payment_links", "retrieve"): ("GET", "/payment/v2/payment-links/{id}"),
    ("wallet", "list_tokens"): (
        "GET",
        "/wallet/v3/wallet/merchants/{id}/customers/{id}/tokens",
    ),
}
#: The client's resources whose calls are reported (tests/test_locust.py holds both tables to
#: purse_async.ENDPOINTS, so a new endpoint cannot go unreported).
RESOURCES = (
    "client_sessions",
    "payments",
    "eligible_solutions",
    "signing_keys",
    "payment_links",
    "wallet",
)
_ID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def endpoint_name(url: str, ids: tuple[str, ...] = ()) -> str:
    """The path of `url` with its ids (UUIDs, and any of `ids`) replaced by `{id}`."""
    path = urlsplit(url).path or "/"
    return "/".join("{id}" if p in ids or _ID.match(p) else p for p in path.split("/"))


class PurseCallFailed(Exception):
    """What Locust records for a failed call: the error's class, HTTP status and problem type
    (the message and its ids stay out, so one kind of failure is one row)."""


def _failure(exc: BaseException) -> PurseCallFailed:
    parts = [type(exc).__name__]
    status = getattr(exc, "status", None)
    if status is not None:
        parts.append(str(status))
    problem_type = getattr(exc, "type", None)
    if isinstance(problem_type, str) and problem_type != "about:blank":
        parts.append(problem_type)
    return PurseCallFailed(" ".join(parts))


class _Reporter:
    """Fires Locust's `request` event for SDK calls."""

    def __init__(self, environment: Environment, retry_type: str | None) -> None:
        # Locust's EventHook.fire is untyped: seen here as what it is, any keyword arguments.
        self._fire: Callable[..., Any] = environment.events.request.fire
        self._retry_type = retry_type

    def call(self, where: tuple[str, str], raw: Callable[..., Any], args: Any, kwargs: Any) -> Any:
        ids = tuple(a for a in args if isinstance(a, str))
        method, name = ENDPOINTS.get(where, ("", ""))
        started = time.perf_counter()
        try:
            response = raw(*args, **kwargs)
        except Exception as exc:
            elapsed = (time.perf_counter() - started) * 1000
            url = getattr(exc, "url", None)
            if not name:
                method = getattr(exc, "method", None) or "PURSE"
                name = endpoint_name(url, ids) if url else ".".join(where)
            attempts = getattr(exc, "attempts", None) or 1
            self._report(method, name, elapsed, 0, _failure(exc), attempts, exc, None)
            raise
        elapsed = (time.perf_counter() - started) * 1000
        if not name:
            method, name = response.method, endpoint_name(response.url, ids)
        try:
            length = int(response.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        self._report(method, name, elapsed, length, None, response.attempts, None, response)
        return response.parsed

    def _report(
        self,
        method: str,
        name: str,
        elapsed: float,
        length: int,
        failure: Exception | None,
        attempts: int,
        error: BaseException | None,
        response: Any,
    ) -> None:
        source = response if response is not None else error
        context = {
            "attempts": attempts,
            "status": getattr(source, "status", None),
            "idempotency_key": getattr(source, "idempotency_key", None),
            "request_id": getattr(source, "request_id", None),
        }
        self._fire(
            request_type=method,
            name=name,
            response_time=elapsed,
            response_length=length,
            exception=failure,
            context=context,
            response=response,
        )
        if self._retry_type is not None:
            for _ in range(max(0, attempts - 1)):
                self._fire(
                    request_type=self._retry_type,
                    name=name,
                    response_time=0,
                    response_length=0,
                    exception=None,
                    context=context,
                )

    def authenticate(self, client: purse_sync.Purse) -> None:
        before = client.token_requests
        started = time.perf_counter()
        try:
            client.authenticate()
        except Exception as exc:
            elapsed = (time.perf_counter() - started) * 1000
            name = urlsplit(client.settings.token_url).path
            self._report("POST", name, elapsed, 0, _failure(exc), 1, exc, None)
            raise
        if client.token_requests > before:  # not when a shared store already held one
            elapsed = (time.perf_counter() - started) * 1000
            name = urlsplit(client.settings.token_url).path
            self._report("POST", name, elapsed, 0, None, 1, None, None)


class _ReportingResource:
    """A resource of the client whose endpoint methods report to Locust."""

    def __init__(self, name: str, resource: Any, reporter: _Reporter) -> None:
        self._name = name
        self._resource = resource
        self._raw = getattr(resource, "with_raw_response", None)
        self._reporter = reporter

    def __getattr__(self, attr: str) -> Any:
        value = getattr(self._resource, attr)
        raw = getattr(self._raw, attr, None) if not attr.startswith("_") else None
        if raw is None or not callable(value):
            return value
        where, reporter = (self._name, attr), self._reporter

        @functools.wraps(value)
        def call(*args: Any, **kwargs: Any) -> Any:
            return reporter.call(where, raw, args, kwargs)

        self.__dict__[attr] = call  # looked up once per resource
        return call


class _ReportingPurse:
    """`purse_sync.Purse` whose API calls report to Locust (everything else passes through)."""

    def __init__(self, client: purse_sync.Purse, reporter: _Reporter) -> None:
        self._client = client
        self._reporter = reporter
        for name in RESOURCES:
            self.__dict__[name] = _ReportingResource(name, getattr(client, name), reporter)

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._client, attr)

    def __repr__(self) -> str:
        return f"<reporting to Locust: {self._client!r}>"


class PurseUser(User):
    """A Locust user with `self.purse`, a `purse_sync.Purse` whose calls are Locust requests.

    Class attributes: `purse_options` (keyword arguments for the client, on top of the
    `PURSE_*` variables; `--host` sets `base_url`), `shared_client` (one client per Locust
    process, the default, or one per user), `retry_request_type` (the request type retries
    are counted under; None: not reported).
    """

    abstract = True
    purse_options: ClassVar[dict[str, Any]] = {}
    shared_client: ClassVar[bool] = True
    retry_request_type: ClassVar[str | None] = "RETRY"

    # One client per (user class, Locust process), closed when the test stops; and the ids
    # of the shared clients whose token a user already asked for.
    _shared: ClassVar[dict[type[PurseUser], purse_sync.Purse]] = {}
    _authenticated: ClassVar[set[int]] = set()

    purse: purse_sync.Purse

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        self._reporter = _Reporter(environment, self.retry_request_type)
        self._own: purse_sync.Purse | None = None
        self._client = self._get_client()
        # Typed as the client it stands for: the same methods, the same results.
        self.purse = cast(purse_sync.Purse, _ReportingPurse(self._client, self._reporter))

    def make_client(self) -> purse_sync.Purse:
        """The client (override to build it another way): `Purse.from_env(...)`."""
        options = dict(self.purse_options)
        if self.host:
            options.setdefault("base_url", self.host)
        return purse_sync.Purse.from_env(**options)

    def _get_client(self) -> purse_sync.Purse:
        if not self.shared_client:
            self._own = self.make_client()
            return self._own
        cls = type(self)
        client = PurseUser._shared.get(cls)
        if client is None or client.is_closed:
            client = PurseUser._shared[cls] = self.make_client()
        return client

    def on_start(self) -> None:
        """Fetch the token now (reported as `POST /oauth/token` if a request was made): the
        first user of a shared client does, the others' first calls wait for that token."""
        if self._own is None:
            if id(self._client) in PurseUser._authenticated:
                return
            PurseUser._authenticated.add(id(self._client))  # before the switch: one fetch
        self._reporter.authenticate(self._client)

    def on_stop(self) -> None:
        if self._own is not None:
            self._own.close()
            self._own = None


def _close_shared_clients(**_: Any) -> None:
    clients = list(PurseUser._shared.values())
    PurseUser._shared.clear()
    PurseUser._authenticated.clear()
    for client in clients:
        client.close()


# Locust's EventHook is untyped.
cast(Any, events.test_stop).add_listener(_close_shared_clients)
