"""The one door to aiohttp: the client session on the right event loop, one HTTP attempt,
and the mapping of aiohttp's exceptions to the SDK's (nothing else imports aiohttp; other
modules name its session type through `HTTPSession`)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, TypeAlias

import aiohttp
import attrs

from . import _watchdog
from ._errors import (
    APIConnectionError,
    APITimeoutError,
    ClientClosedError,
    ConfigurationError,
    PurseError,
    ResponseTooLargeError,
)
from ._json import DEFAULT_MAX_RESPONSE_SIZE
from ._network import NetworkOptions, ProxyRoute, ProxyRouter

__all__ = ["HTTPResponse", "HTTPSession", "Transport"]

#: The type of a caller-owned session (`AsyncPurse(http_session=...)`).
HTTPSession: TypeAlias = aiohttp.ClientSession

_NO_TIMEOUT = aiohttp.ClientTimeout(total=None)
_CONTENT_ENCODING = aiohttp.hdrs.CONTENT_ENCODING

#: asyncio's transports read up to 256 KiB at a time, into a new bytes object per read (and
#: TLS ones per decrypted chunk). glibc serves a block that large with mmap, and the bytes are
#: shrunk (mremap) and freed (munmap) again: three system calls per response, and in a process
#: with threads every munmap interrupts each CPU running one of them to flush its TLB. 64 KiB
#: blocks come from the heap and are reused; API answers are a few KiB, so nothing is lost.
ASYNCIO_READ_SIZE = 256 * 1024
READ_SIZE = 64 * 1024


def right_size_reads(transport: object) -> None:
    """Lower the per-read size of an asyncio socket (or TLS) transport to READ_SIZE.

    Only a transport still at asyncio's known default is touched: `max_size` is an asyncio
    implementation detail (stable since 3.4), so anything else is left as it is.
    """
    # A TLS transport reads through its SSLProtocol (Python 3.11+ keeps the size there).
    reader = getattr(transport, "_ssl_protocol", transport)
    if getattr(reader, "max_size", None) == ASYNCIO_READ_SIZE:
        reader.max_size = READ_SIZE  # type: ignore[attr-defined]


class _Connector(aiohttp.TCPConnector):
    """aiohttp's TCP connector, with right-sized reads on every connection it opens."""

    # The hook runs once per new connection; the public `connect` would add a coroutine to
    # every request (about 2% of throughput on loopback). tests/test_transport_reads.py fails
    # if aiohttp stops calling it.
    async def _create_connection(self, *args: Any, **kwargs: Any) -> Any:
        protocol = await super()._create_connection(*args, **kwargs)
        right_size_reads(protocol.transport)
        return protocol


#: Header values never repeated in an error message, whatever a dependency put in its own.
_SECRET_HEADERS = ("authorization", "x-api-key", "proxy-authorization")


def _describe(exc: BaseException, headers: Mapping[str, str], secrets: tuple[str, ...] = ()) -> str:
    """`Type: message` of a dependency's exception, with every credential we sent removed
    (`secrets`: the proxy credentials, in every form)."""
    text = f"{type(exc).__name__}: {exc}"
    for secret in secrets:
        text = text.replace(secret, "***")
    for name, value in headers.items():
        if name.lower() in _SECRET_HEADERS and value:
            credential = value.partition(" ")[2] or value
            text = text.replace(value, "***").replace(credential, "***")
            # aiohttp quotes an over-long line cut at 100 bytes ("b'...api-key-3c8a6f2...'"):
            # what is left of a credential is still too much, so the message goes.
            if any(credential[i : i + 8] in text for i in range(len(credential) - 7)):
                return f"{type(exc).__name__} (its message quoted a credential: withheld)"
    return text[:300]


@attrs.define(slots=True)
class HTTPResponse:
    """What one attempt brought back: status, headers (case-insensitive) and the raw body."""

    status: int
    headers: Mapping[str, str]
    body: bytes


class Transport:
    """Owns one aiohttp ClientSession, created lazily on the loop that first uses it (or uses
    the caller's `http_session`, which it never closes).

    A session is bound to its event loop; using it from another loop would corrupt it, so that
    is refused with a clear error instead (the sync facade gives each client its own loop).
    """

    def __init__(
        self,
        *,
        max_connections: int = 100,
        user_agent: str,
        max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE,
        network: NetworkOptions | None = None,
        proxies: ProxyRouter | None = None,
        http_session: HTTPSession | None = None,
    ) -> None:
        if http_session is not None and not isinstance(http_session, aiohttp.ClientSession):
            raise ConfigurationError(
                f"http_session must be an aiohttp.ClientSession, got {type(http_session).__name__}"
            )
        self._max_connections = max_connections
        self._max_response_size = max_response_size
        self._user_agent = user_agent
        self._network = network if network is not None else NetworkOptions()
        self._proxies = proxies
        self._external = http_session
        # Without a proxy or a caller's session, `send` makes the very request it always made.
        self._plain = proxies is None and http_session is None
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self._timeouts: dict[float, aiohttp.ClientTimeout] = {}
        self._watchdog: _watchdog.Watchdog | None = None
        connect = self._network.connect_timeout
        # aiohttp's sock_connect bounds each TCP connect and TLS handshake (to the proxy too).
        self._connect_timeout = connect
        self._no_timeout = (
            _NO_TIMEOUT
            if connect is None
            else aiohttp.ClientTimeout(total=None, sock_connect=connect)
        )

    @property
    def closed(self) -> bool:
        return self._closed

    def _get_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise ClientClosedError("this Purse client is closed; create a new one")
        loop = asyncio.get_running_loop()
        session = self._session
        if session is None:
            session = self._external if self._external is not None else self._new_session()
            self._session = session
            self._loop = loop
            if _watchdog.SUPPORTED:
                self._watchdog = _watchdog.Watchdog(loop)
        elif self._loop is not loop:
            raise ConfigurationError(
                "this AsyncPurse client is bound to another event loop; create one client per "
                "loop (or use purse_sync.Purse from threads)"
            )
        return session

    def _new_session(self) -> aiohttp.ClientSession:
        network = self._network
        # No per-host limit unless asked: the API is one host, and the per-host bookkeeping
        # costs every request a few set operations.
        options: dict[str, Any] = {"limit": self._max_connections}
        if network.max_connections_per_host is not None:
            options["limit_per_host"] = network.max_connections_per_host
        if network.keepalive_timeout is not None:
            options["keepalive_timeout"] = network.keepalive_timeout
        if network.ssl is not True:
            options["ssl"] = network.ssl
        return aiohttp.ClientSession(
            connector=_Connector(**options),
            headers={"User-Agent": self._user_agent},
            # Our own timeouts are passed per attempt; the session default must not cut them.
            timeout=aiohttp.ClientTimeout(total=None),
            raise_for_status=False,
            # Proxies from the environment are routed by `_network` (once per origin, where
            # aiohttp would look them up in a thread per request), and ~/.netrc is never read.
            trust_env=False,
        )

    def _timeout(self, seconds: float) -> aiohttp.ClientTimeout:
        # ClientTimeout objects are immutable; caching them keeps allocations off the hot path.
        timeout = self._timeouts.get(seconds)
        if timeout is None:
            timeout = aiohttp.ClientTimeout(total=seconds, sock_connect=self._connect_timeout)
            if len(self._timeouts) < 64:
                self._timeouts[seconds] = timeout
        return timeout

    def _request(
        self,
        session: aiohttp.ClientSession,
        method: str,
        url: str,
        headers: Mapping[str, str],
        data: bytes | Mapping[str, str] | None,
        timeout: aiohttp.ClientTimeout,
    ) -> Any:
        """The request through a proxy, or on the caller's session (not the hot path)."""
        options: dict[str, Any] = {}
        route = self._proxies.route(url) if self._proxies is not None else None
        if route is not None:
            options["proxy"] = route.url
            if route.authorization is not None:
                if url.startswith("https:"):
                    # A CONNECT tunnel: the proxy reads only the CONNECT request's headers.
                    options["proxy_headers"] = {"Proxy-Authorization": route.authorization}
                else:
                    # Absolute-form through the proxy: it reads the request's own headers.
                    headers = {**headers, "Proxy-Authorization": route.authorization}
        if self._external is not None:
            if session.closed:
                raise ClientClosedError(
                    "the aiohttp session passed as http_session is closed; its owner closed it"
                )
            # Whatever the session's defaults, statuses are ours to map.
            options["raise_for_status"] = False
            if "User-Agent" not in session.headers:
                headers = {"User-Agent": self._user_agent, **headers}
        return session.request(
            method,
            url,
            headers=headers,
            data=data,
            timeout=timeout,
            allow_redirects=False,
            **options,
        )

    async def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        data: bytes | Mapping[str, str] | None = None,
        timeout: float,
        idempotency_key: str | None = None,
    ) -> HTTPResponse:
        """Make exactly one HTTP attempt; map every transport failure to an SDK error."""
        session = self._get_session()
        shown = url  # the SDK's URLs carry no query string, so no secret
        watchdog = self._watchdog
        task = asyncio.current_task() if watchdog is not None else None
        cancelling = 0
        if task is not None:
            assert watchdog is not None
            cancelling = watchdog.watch(task, timeout)
            aiohttp_timeout = self._no_timeout
        else:
            aiohttp_timeout = self._timeout(timeout)
        error: PurseError
        try:
            if self._plain:
                request = session.request(
                    method,
                    url,
                    headers=headers,
                    data=data,
                    timeout=aiohttp_timeout,
                    allow_redirects=False,
                )
            else:
                request = self._request(session, method, url, headers, data, aiohttp_timeout)
            async with request as resp:
                length = resp.content_length
                # Content-Length counts compressed bytes: a 200 KB gzip answer inflates to
                # 200 MB in read(). Encoded answers are capped as they are decompressed.
                if (
                    length is not None
                    and length <= self._max_response_size
                    and _CONTENT_ENCODING not in resp.headers
                ):
                    body = await resp.read()
                else:
                    body = await self._read_capped(resp, method, shown)
                return HTTPResponse(status=resp.status, headers=resp.headers, body=body)
        except asyncio.CancelledError:
            # Ours if the deadline passed, unless the caller cancelled too: theirs always wins.
            if (
                task is not None
                and watchdog is not None
                and watchdog.cancelled_by_us(task, cancelling)
            ):
                error = self._timed_out(method, shown, timeout, idempotency_key)
            else:
                raise
        except Exception as exc:
            if isinstance(exc, PurseError):
                raise
            error = self._map_failure(exc, method, shown, timeout, idempotency_key, headers)
        finally:
            if task is not None and watchdog is not None:
                watchdog.release(task)
        # Raised outside the handler on purpose: aiohttp's exceptions hold the request (its
        # headers: api key, bearer token, Basic credentials), and an exception raised inside an
        # `except` block keeps the one handled as `__context__` for anyone to print.
        # A pure-Python Task (backports.asyncio.runner, which pytest-asyncio uses on 3.10, or a
        # custom task factory) throws aiohttp's exception into this coroutine from its own
        # `except` block: whatever is raised in that step gets it as `__context__`. One loop
        # pass (failures only) raises from a clean step.
        await asyncio.sleep(0)
        raise error

    async def _read_capped(self, resp: aiohttp.ClientResponse, method: str, shown: str) -> bytes:
        """The body, refused as soon as it passes the size cap (before it is all in memory)."""
        cap = self._max_response_size
        length = resp.content_length
        if length is None or length <= cap:
            chunks: list[bytes] = []
            size = 0
            while chunk := await resp.content.readany():
                size += len(chunk)
                if size > cap:
                    break
                chunks.append(chunk)
            else:
                return b"".join(chunks)
        resp.close()  # the rest is never read: the connection can't be reused
        raise ResponseTooLargeError(
            f"{method} {shown}: the answer is larger than max_response_size ({cap} bytes)",
            path="$",
        )

    def _route(self, url: str) -> ProxyRoute | None:
        return self._proxies.route(url) if self._proxies is not None else None

    def _map_failure(
        self,
        exc: Exception,
        method: str,
        shown: str,
        timeout: float,
        idempotency_key: str | None,
        headers: Mapping[str, str],
    ) -> APIConnectionError:
        """The one table from a failed attempt to the SDK's error (see `_describe`)."""
        secrets = self._proxies.secrets if self._proxies is not None else ()

        def unsent(reason: str) -> APIConnectionError:
            # The TCP/TLS connection (or the proxy's tunnel) could not be opened: the request
            # never left this machine, so even a creation may be sent again.
            return APIConnectionError(
                f"{method} {shown}: {reason}",
                method=method,
                url=shown,
                idempotency_key=idempotency_key,
                request_sent=False,
            )

        if isinstance(exc, aiohttp.ConnectionTimeoutError):
            # Only `connect_timeout` (sock_connect) raises this: nothing was written yet.
            error = APITimeoutError(
                f"{method} {shown}: cannot connect within connect_timeout "
                f"({self._connect_timeout:.3g}s); the request was not sent",
                method=method,
                url=shown,
                idempotency_key=idempotency_key,
            )
            error.request_sent = False
            error.may_have_been_applied = False
            return error
        if isinstance(exc, (asyncio.TimeoutError, aiohttp.ServerTimeoutError)):
            return self._timed_out(method, shown, timeout, idempotency_key)
        if isinstance(exc, aiohttp.ClientConnectorCertificateError):
            cert = exc.certificate_error
            why = getattr(cert, "verify_message", None) or _describe(cert, headers, secrets)
            return unsent(
                f"cannot connect: TLS certificate verification failed ({why}); for a server "
                "whose certificate comes from a private CA, pass ssl=<an ssl.SSLContext that "
                "trusts it>"
            )
        if isinstance(exc, aiohttp.ClientConnectorSSLError):
            why = getattr(exc.os_error, "reason", None) or _describe(exc, headers, secrets)
            return unsent(f"cannot connect: TLS handshake failed ({why})")
        if isinstance(exc, aiohttp.ClientProxyConnectionError):
            reason = exc.os_error.strerror or _describe(exc, headers, secrets)
            return unsent(f"cannot connect to the proxy {self._route(shown)} ({reason})")
        if isinstance(exc, aiohttp.ClientHttpProxyError):
            reason = exc.message or _describe(exc, headers, secrets)
            return unsent(
                f"the proxy {self._route(shown)} refused to open a tunnel ({exc.status} {reason})"
            )
        if isinstance(exc, aiohttp.ClientConnectorError):
            reason = exc.os_error.strerror or _describe(exc, headers, secrets)
            return unsent(f"cannot connect ({reason})")
        if isinstance(exc, (aiohttp.ClientError, OSError)):
            return APIConnectionError(
                f"{method} {shown}: connection failed ({_describe(exc, headers, secrets)})",
                method=method,
                url=shown,
                idempotency_key=idempotency_key,
            )
        # Anything else from inside aiohttp (a ValueError on a malformed answer, ...) is a
        # failed attempt too, never a raw exception of a dependency.
        return APIConnectionError(
            f"{method} {shown}: the answer could not be read ({_describe(exc, headers, secrets)})",
            method=method,
            url=shown,
            idempotency_key=idempotency_key,
        )

    @staticmethod
    def _timed_out(
        method: str, shown: str, timeout: float | None, idempotency_key: str | None
    ) -> APITimeoutError:
        after = "" if timeout is None else f" after {timeout:.3g}s"
        return APITimeoutError(
            f"{method} {shown} timed out{after}",
            method=method,
            url=shown,
            idempotency_key=idempotency_key,
        )

    def abandon(self) -> None:
        """Forget the session without closing it: after fork() it belongs to the parent's loop
        and sockets, which the child must neither use nor shut down. Marking its connector
        closed keeps its finalizer from reporting it as leaked (a caller's session is left
        exactly as it is: it is theirs)."""
        session, self._session = self._session, None
        self._watchdog = None  # its timer is on the parent's loop as well
        self._closed = True
        if session is None or session is self._external:
            return
        connector = session.connector
        if connector is not None:
            connector._closed = True

    async def aclose(self) -> None:
        """Close the session (idempotent), unless it is the caller's `http_session`: its owner
        closes it. Must run on the loop that created it."""
        self._closed = True
        if self._watchdog is not None:
            self._watchdog.close()
        session, self._session = self._session, None
        if session is not None and session is not self._external and not session.closed:
            await session.close()
