"""Network options on both faces: proxies (explicit and from the environment) through a real
forward proxy on 127.0.0.1, TLS with a private CA made here, unverified TLS only for loopback
or with a loud opt-in, connect timeouts as "not sent", pool options, and a caller-owned aiohttp
session. The routing and checks themselves (`_network`) are tested without I/O first."""

from __future__ import annotations

import asyncio
import base64
import errno
import inspect
import logging
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from aiohttp import web
from yarl import URL

import purse_async
import purse_sync
from purse_async import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    ClientClosedError,
    ConfigurationError,
    OutcomeUnknownError,
)
from purse_async._network import (
    EnvProxies,
    ProxyRouter,
    bypasses_proxy,
    check_network_options,
    origin_of,
    parse_proxy,
    redact_url,
)
from purse_async.testing import ThreadedSandbox
from purse_async.testing._tls import private_ca

FACES = ["async", "sync"]
USER, PASSWORD = "shop-user", "p@ss:w0rd/S3CRET"
AUTH = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
ORDER = {"reference": "NET-1", "net_amount": 1000}


@pytest.fixture(autouse=True)
def clean_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever the machine running the tests has set, each test sets its own."""
    for name in ("http", "https", "all", "no"):
        monkeypatch.delenv(f"{name}_proxy", raising=False)
        monkeypatch.delenv(f"{name.upper()}_PROXY", raising=False)
    monkeypatch.delenv("REQUEST_METHOD", raising=False)


# -- routing and checks, no I/O -------------------------------------------------------------


def test_a_proxy_url_s_credentials_become_a_header_and_are_never_shown() -> None:
    route = parse_proxy(f"http://{USER}:{quote(PASSWORD, safe='')}@proxy.corp:3128")
    assert route.url == "http://proxy.corp:3128"
    assert route.authorization == AUTH
    for text in (repr(route), str(route)):
        assert "***@proxy.corp:3128" in text
        assert PASSWORD not in text and quote(PASSWORD, safe="") not in text
    assert PASSWORD in route.secrets and AUTH in route.secrets
    assert parse_proxy("https://[::1]:8443").url == "https://[::1]:8443"
    assert parse_proxy("http://proxy.corp").authorization is None


@pytest.mark.parametrize(
    "value",
    [
        f"socks5://{USER}:{PASSWORD}@proxy.corp:1080",
        f"http://{USER}:{PASSWORD}@proxy.corp:3128/path",
        f"http://{USER}:{PASSWORD}@proxy.corp:99999",
        "proxy.corp:3128",  # an explicit proxy= needs its scheme
        "",
    ],
)
def test_bad_proxy_urls_are_refused_without_echoing_credentials(value: str) -> None:
    with pytest.raises(ConfigurationError, match="proxy") as caught:
        parse_proxy(value)
    assert PASSWORD not in str(caught.value)


def test_redact_url() -> None:
    assert redact_url("http://u:p@h:1/x") == "http://***@h:1/x"
    assert redact_url("u:p@h:1") == "***@h:1"
    assert redact_url("http://h:1") == "http://h:1"


def test_origin_of_is_a_slice() -> None:
    assert origin_of("https://api.example:8443/payment/v2/x") == "https://api.example:8443"
    assert origin_of("https://auth.example") == "https://auth.example"


def test_environment_variables_read_like_requests_and_httpx() -> None:
    env = EnvProxies.from_environ(
        {"HTTPS_PROXY": "http://upper:3128", "https_proxy": "lower:3128", "NO_PROXY": "a, b"}
    )
    assert env is not None
    assert env.https == ("https_proxy", "lower:3128")  # lower case wins
    assert env.no_proxy == ("a", "b")
    route = env.route("https://api.purse-live.com")
    assert route is not None and route.url == "http://lower:3128"  # no scheme: http://
    assert route.source == "https_proxy"
    assert str(route) == "http://lower:3128 (from https_proxy)"
    # An empty lower-case variable unsets the upper-case one.
    assert EnvProxies.from_environ({"HTTPS_PROXY": "http://p:1", "https_proxy": ""}) is None
    # httpoxy: in a CGI request, HTTP_PROXY may have come from a request header.
    assert EnvProxies.from_environ({"HTTP_PROXY": "http://p:1", "REQUEST_METHOD": "GET"}) is None
    assert EnvProxies.from_environ({"NO_PROXY": "*"}) is None


def test_each_scheme_takes_its_own_variable_then_all_proxy() -> None:
    env = EnvProxies.from_environ({"HTTP_PROXY": "http://h:1", "ALL_PROXY": "http://a:2"})
    assert env is not None
    plain, secure = env.route("http://api.example"), env.route("https://api.example")
    assert plain is not None and plain.url == "http://h:1"
    assert secure is not None and secure.url == "http://a:2" and secure.source == "ALL_PROXY"


@pytest.mark.parametrize(
    "origin",
    ["http://127.0.0.1:8080", "https://localhost", "http://sandbox.localhost", "http://[::1]:80"],
)
def test_loopback_hosts_never_take_a_proxy_from_the_environment(origin: str) -> None:
    env = EnvProxies.from_environ({"ALL_PROXY": "http://proxy.corp:3128"})
    assert env is not None and env.route(origin) is None
    # ... but an explicit proxy= carries them (that is how these tests reach the sandbox).
    router = ProxyRouter(parse_proxy("http://proxy.corp:3128"), env)
    assert router.route(origin + "/x") is not None


@pytest.mark.parametrize(
    ("host", "port", "no_proxy", "bypass"),
    [
        ("api.purse-live.com", 443, ["*"], True),
        ("api.purse-live.com", 443, ["purse-live.com"], True),
        ("api.purse-live.com", 443, [".purse-live.com"], True),
        ("api.purse-live.com", 443, ["*.purse-live.com"], True),
        ("purse-live.com", 443, [".purse-live.com"], True),
        ("api.purse-live.com", 443, ["API.Purse-Live.com."], True),
        ("notpurse-live.com", 443, ["purse-live.com"], False),  # dot boundary
        ("api.purse-live.com", 443, ["purse-live.com:443"], True),
        ("api.purse-live.com", 443, ["purse-live.com:8443"], False),
        ("10.1.2.3", 443, ["10.0.0.0/8"], True),
        ("10.1.2.3", 443, ["10.1.2.3"], True),
        ("10.1.2.4", 443, ["10.1.2.3", "192.168.0.0/16"], False),
        ("2001:db8::1", 443, ["2001:db8::/32"], True),
        ("2001:db8::1", 443, ["[2001:db8::1]:443"], True),
        ("api.purse-live.com", 443, ["10.0.0.0/8", "", " "], False),
        ("api.purse-live.com", 443, ["not a /network"], False),
    ],
)
def test_no_proxy(host: str, port: int, no_proxy: list[str], bypass: bool) -> None:
    assert bypasses_proxy(host, port, no_proxy) is bypass


def test_the_environment_is_asked_once_per_origin(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []
    original = EnvProxies.route

    def counting(self: EnvProxies, origin: str) -> Any:
        asked.append(origin)
        return original(self, origin)

    monkeypatch.setattr(EnvProxies, "route", counting)
    options = check_network_options(urls=[])
    urls = ["https://api.example/oauth/token", "https://api.example/payment/v2/payments/1"]
    router = ProxyRouter.build(options, {"HTTPS_PROXY": "http://proxy.corp:3128"}, urls)
    assert router is not None and asked == ["https://api.example"]
    for _ in range(100):
        route = router.route("https://api.example/payment/v2/payments/1")
        assert route is not None and route.url == "http://proxy.corp:3128"
    router.route("https://auth.example/token")
    assert asked == ["https://api.example", "https://auth.example"]


def test_no_proxy_at_all_keeps_the_plain_path() -> None:
    options = check_network_options(urls=[])
    assert ProxyRouter.build(options, {}, ["https://api.example"]) is None
    off = check_network_options(urls=[], trust_env=False)
    assert ProxyRouter.build(off, {"HTTPS_PROXY": "http://p:1"}, ["https://api.example"]) is None
    purse = purse_async.AsyncPurse(client_id="i", client_secret="s", api_key="k")
    assert purse._transport._plain  # the request the SDK always made, nothing added


def test_an_unusable_proxy_variable_fails_the_client_s_creation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", f"socks5://{USER}:{PASSWORD}@proxy.corp:1080")
    with pytest.raises(ConfigurationError, match="HTTPS_PROXY") as caught:
        purse_async.AsyncPurse(client_id="i", client_secret="s", api_key="k")
    assert PASSWORD not in str(caught.value)
    purse_async.AsyncPurse(client_id="i", client_secret="s", api_key="k", trust_env=False)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"connect_timeout": 0}, "connect_timeout"),
        ({"connect_timeout": "5"}, "connect_timeout"),
        ({"max_connections_per_host": 0}, "max_connections_per_host"),
        ({"max_connections_per_host": 2.5}, "max_connections_per_host"),
        ({"keepalive_timeout": -1}, "keepalive_timeout"),
        ({"trust_env": "yes"}, "trust_env"),
        ({"ssl": "verify"}, "ssl"),
        ({"allow_unverified_tls": 1}, "allow_unverified_tls"),
    ],
)
def test_bad_values_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        check_network_options(urls=[], **options)


def test_unverified_tls_only_for_loopback_or_with_the_opt_in() -> None:
    loopback = ["https://127.0.0.1:8443", "https://localhost:8443/oauth/token"]
    assert check_network_options(urls=loopback, ssl=False).unverified == ()
    remote = ["https://api.purse-live.com", "https://api.purse-live.com/oauth/token"]
    with pytest.raises(ConfigurationError, match="allow_unverified_tls=True"):
        check_network_options(urls=remote, ssl=False)
    lax = ssl.create_default_context()
    lax.check_hostname = False  # any CA-signed certificate for any name: no better
    with pytest.raises(ConfigurationError, match="does not verify"):
        check_network_options(urls=remote, ssl=lax)
    opted = check_network_options(urls=remote, ssl=False, allow_unverified_tls=True)
    assert opted.unverified == ("api.purse-live.com",)
    assert check_network_options(urls=remote, ssl=True).ssl is True


# -- servers: a private CA, a sandbox over TLS, forward proxies, a host that never answers ------


class PKI:
    """A CA made for this test run, and a certificate it signed for 127.0.0.1, localhost and
    purse.test (a name only the tunnel proxy below can reach)."""

    def __init__(self, directory: Path) -> None:
        files = private_ca(directory, names=("127.0.0.1", "localhost", "purse.test"))
        self.ca_pem = files.ca.read_text()
        self.server = files.server_context()

    def client(self) -> ssl.SSLContext:
        """What a merchant behind a corporate CA passes as ssl=."""
        return ssl.create_default_context(cadata=self.ca_pem)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKI:
    return PKI(tmp_path_factory.mktemp("pki"))


HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
}


class WebProxy:
    """A forward proxy (aiohttp.web) for absolute-form requests, i.e. http:// targets: it sends
    every host it is asked for to `upstream` (as if it could resolve names this machine can't)
    and records each request it forwards."""

    def __init__(self, upstream: str, *, credentials: str | None = None) -> None:
        self.upstream = URL(upstream)
        self.credentials = credentials
        self.forwarded: list[tuple[str, str, str | None]] = []
        self.refused = 0
        self.url = ""

    async def start(self) -> WebProxy:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        self._http = aiohttp.ClientSession(auto_decompress=False)
        return self

    async def close(self) -> None:
        await self._http.close()
        await self._runner.cleanup()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        target = URL(request.raw_path)
        if not target.is_absolute():
            return web.Response(status=400, text="a proxy takes absolute-form requests")
        given = request.headers.get("Proxy-Authorization")
        if self.credentials is not None and given != self.credentials:
            self.refused += 1
            return web.Response(status=407, headers={"Proxy-Authenticate": 'Basic realm="t"'})
        self.forwarded.append((request.method, str(target), given))
        upstream = self.upstream.with_path(target.raw_path, encoded=True)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        async with self._http.request(
            request.method,
            upstream,
            headers=headers,
            data=await request.read(),
            allow_redirects=False,
        ) as resp:
            body = await resp.read()
            back = {k: v for k, v in resp.headers.items() if k.lower() not in HOP_BY_HOP}
            return web.Response(status=resp.status, body=body, headers=back)


class TunnelProxy:
    """A forward proxy for https:// targets: CONNECT host:port, answered with a tunnel to
    `upstream_port` on 127.0.0.1 whatever the host; records each tunnel it opens."""

    def __init__(self, upstream_port: int, *, credentials: str | None = None) -> None:
        self.upstream_port = upstream_port
        self.credentials = credentials
        self.tunnels: list[tuple[str, str | None]] = []
        self.url = ""
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> TunnelProxy:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        return self

    async def close(self) -> None:
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            method, target, _ = head[0].split(" ", 2)
            fields = (line.partition(":") for line in head[1:] if line)
            headers = {name.strip().lower(): value.strip() for name, _, value in fields}
            given = headers.get("proxy-authorization")
            if method != "CONNECT" or (self.credentials and given != self.credentials):
                writer.write(b"HTTP/1.1 407 Proxy Authentication Required\r\n")
                writer.write(b"Content-Length: 0\r\nConnection: close\r\n\r\n")
                await writer.drain()
                return
            self.tunnels.append((target, given))
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
            self._writers.add(up_writer)
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        except (OSError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()


class Net:
    """Servers on one loop thread: a plain sandbox, a TLS sandbox and the proxies, so that
    both faces (asyncio.run here, purse_sync's bridge) reach them alike."""

    def __init__(self, pki: PKI) -> None:
        self.pki = pki
        self.box = ThreadedSandbox()
        self.tls_box = ThreadedSandbox(ssl_context=pki.server)
        self._started: list[Any] = []

    def start(self, server: Any) -> Any:
        self.box.call(server.start())
        self._started.append(server)
        return server

    def web_proxy(self, **options: Any) -> WebProxy:
        proxy: WebProxy = self.start(WebProxy(self.box.sandbox.base_url, **options))
        return proxy

    def tunnel_proxy(self, **options: Any) -> TunnelProxy:
        proxy: TunnelProxy = self.start(TunnelProxy(self.tls_box.sandbox.port, **options))
        return proxy

    def kwargs(self, *, tls: bool = False, **overrides: Any) -> dict[str, Any]:
        box = self.tls_box if tls else self.box
        return {**box.sandbox.client_kwargs(), "max_retries": 0, **overrides}

    def close(self) -> None:
        for server in self._started:
            self.box.call(server.close())
        self.box.close()
        self.tls_box.close()


@pytest.fixture
def net(pki: PKI) -> Iterator[Net]:
    servers = Net(pki)
    yield servers
    servers.close()


def run(face: str, kwargs: dict[str, Any], call: Callable[[Any], Any] | None = None) -> Any:
    """Make a client of this face, make one call (by default a client-session creation: a
    token request, then a POST), close the client; return its result or raise its error."""
    call = call or create_session
    if face == "async":

        async def main() -> Any:
            async with purse_async.AsyncPurse(**kwargs) as purse:
                return await call(purse)

        return asyncio.run(main())
    with purse_sync.Purse(**kwargs) as purse:
        return call(purse)


def error_of(face: str, kwargs: dict[str, Any], call: Callable[[Any], Any] | None = None) -> Any:
    with pytest.raises(purse_async.PurseError) as caught:
        run(face, kwargs, call)
    return caught.value


def create_session(purse: Any) -> Any:
    return purse.client_sessions.create(
        amount=1000,
        currency="EUR",
        order=ORDER,
        shopper_redirection_url="https://shop.example/back",
    )


def shown_anywhere(error: BaseException, secret: str) -> bool:
    texts = [str(error), repr(error), *map(str, error.args)]
    texts += [str(v) for v in vars(error).values()]
    chained = error.__cause__ or error.__context__
    return any(secret in t for t in texts) or (
        chained is not None and shown_anywhere(chained, secret)
    )


# -- proxies ------------------------------------------------------------------------------------


@pytest.mark.parametrize("face", FACES)
def test_an_explicit_proxy_carries_every_request(face: str, net: Net) -> None:
    proxy = net.web_proxy(credentials=AUTH)
    url = proxy.url.replace("http://", f"http://{USER}:{quote(PASSWORD, safe='')}@")
    session = run(face, net.kwargs(proxy=url))
    assert session.id
    base = net.box.sandbox.base_url
    assert proxy.forwarded == [
        ("POST", f"{base}/oauth/token", AUTH),
        ("POST", f"{base}/payment/v2/client-sessions", AUTH),
    ]


@pytest.mark.parametrize("face", FACES)
def test_http_proxy_from_the_environment(
    face: str, net: Net, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = net.web_proxy()
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    # 192.0.2.1 (TEST-NET-1) is reachable only through the proxy, which sends it to the sandbox.
    base = "http://192.0.2.1:4242"
    assert run(face, net.kwargs(base_url=base, allow_insecure_http=True)).id
    assert [(m, u) for m, u, _ in proxy.forwarded] == [
        ("POST", f"{base}/oauth/token"),
        ("POST", f"{base}/payment/v2/client-sessions"),
    ]


@pytest.mark.parametrize("face", FACES)
def test_https_proxy_from_the_environment_tunnels_tls(
    face: str, net: Net, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = net.tunnel_proxy(credentials=AUTH)
    monkeypatch.setenv("https_proxy", f"{USER}:{quote(PASSWORD, safe='')}@{proxy.url[7:]}")
    # purse.test resolves nowhere: only the tunnel reaches it (the TLS sandbox, whose
    # certificate names it), and TLS is verified end to end with the private CA.
    kwargs = net.kwargs(tls=True, base_url="https://purse.test:8443", ssl=net.pki.client())
    assert run(face, kwargs).id
    assert proxy.tunnels and set(proxy.tunnels) == {("purse.test:8443", AUTH)}


@pytest.mark.parametrize("face", FACES)
@pytest.mark.parametrize("why", ["trust_env=False", "NO_PROXY", "loopback"])
def test_the_environment_s_proxy_is_not_used(
    face: str, why: str, net: Net, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = net.web_proxy()
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "localhost, 192.0.2.0/24" if why == "NO_PROXY" else "x.test")
    if why == "loopback":
        assert run(face, net.kwargs()).id  # straight to the sandbox on 127.0.0.1
    else:
        direct = net.kwargs(base_url="http://192.0.2.1:9", allow_insecure_http=True)
        if why == "trust_env=False":
            direct["trust_env"] = False
        error = error_of(face, {**direct, "connect_timeout": 1.0})
        assert isinstance(error, APIConnectionError)
        assert error.request_sent is False and "192.0.2.1" in str(error)
    assert proxy.forwarded == []


@pytest.mark.parametrize("face", FACES)
def test_netrc_is_never_read(
    face: str, net: Net, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # aiohttp's own trust_env would read these credentials for 127.0.0.1 (and then refuse our
    # Authorization header beside them): the SDK's environment support never reads ~/.netrc.
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine 127.0.0.1 login {USER} password {PASSWORD}\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")  # trust_env has work to do
    assert run(face, net.kwargs()).id


@pytest.mark.parametrize("face", FACES)
def test_proxy_credentials_never_shown(
    face: str, net: Net, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="purse")
    wrong = f"http://{USER}:{quote(PASSWORD, safe='')}@"
    # Refused by an absolute-form proxy: its 407 is the answer (nothing reached Purse).
    web_proxy = net.web_proxy(credentials="Basic other")
    error = error_of(face, net.kwargs(proxy=web_proxy.url.replace("http://", wrong)))
    assert isinstance(error, APIStatusError) and error.status == 407
    assert web_proxy.refused == 1 and not shown_anywhere(error, PASSWORD)
    # Refused by a tunnel proxy: the tunnel never opened, so the request was not sent.
    tunnel = net.tunnel_proxy(credentials="Basic other")
    kwargs = net.kwargs(tls=True, ssl=net.pki.client())
    error = error_of(face, {**kwargs, "proxy": tunnel.url.replace("http://", wrong)})
    assert isinstance(error, APIConnectionError) and error.request_sent is False
    assert "refused to open a tunnel (407" in str(error) and "***@127.0.0.1" in str(error)
    # A proxy that is not there.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"{wrong}127.0.0.1:{sock.getsockname()[1]}"
    error = error_of(face, net.kwargs(proxy=closed))
    assert isinstance(error, APIConnectionError) and error.request_sent is False
    assert "cannot connect to the proxy" in str(error)
    for secret in (PASSWORD, quote(PASSWORD, safe=""), AUTH.split()[1]):
        assert not shown_anywhere(error, secret)
        assert not any(secret in r.getMessage() for r in caplog.records)
    if face == "async":
        purse = purse_async.AsyncPurse(**net.kwargs(proxy=closed))
        network = purse._transport._network
    else:
        purse = purse_sync.Purse(**net.kwargs(proxy=closed))
        network = purse._current()._transport._network
    texts = [repr(purse), repr(purse.settings), repr(network)]
    assert not any(PASSWORD in t or quote(PASSWORD, safe="") in t for t in texts)
    if face == "sync":
        purse.close()


# -- TLS ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("face", FACES)
def test_a_private_ca_is_refused_without_it_and_accepted_with_it(face: str, net: Net) -> None:
    kwargs = net.kwargs(tls=True)
    assert kwargs["base_url"].startswith("https://127.0.0.1:")
    error = error_of(face, kwargs)
    assert isinstance(error, APIConnectionError)
    assert "TLS certificate verification failed" in str(error)
    assert "ssl=" in str(error)  # says what to do
    assert error.request_sent is False and error.may_have_been_applied is False
    assert run(face, {**kwargs, "ssl": net.pki.client()}).id


@pytest.mark.parametrize("face", FACES)
def test_unverified_tls_to_loopback_is_allowed_quietly(
    face: str, net: Net, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="purse")
    assert run(face, net.kwargs(tls=True, ssl=False)).id
    assert not caplog.records


@pytest.mark.parametrize("face", FACES)
def test_unverified_tls_elsewhere_needs_the_opt_in_and_logs_a_warning(
    face: str, net: Net, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    tunnel = net.tunnel_proxy()
    monkeypatch.setenv("HTTPS_PROXY", tunnel.url)
    kwargs = net.kwargs(tls=True, base_url="https://purse.test:8443", ssl=False)
    error = error_of(face, kwargs)
    assert isinstance(error, ConfigurationError)
    assert "purse.test" in str(error) and "allow_unverified_tls=True" in str(error)
    assert tunnel.tunnels == []
    caplog.set_level(logging.WARNING, logger="purse")
    assert run(face, {**kwargs, "allow_unverified_tls": True}).id
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and warnings[0].name == "purse"
    assert "verification is OFF for purse.test" in warnings[0].getMessage()
    assert tunnel.tunnels


# -- connect timeouts ---------------------------------------------------------------------------


@pytest.fixture
def unanswered() -> Iterator[int]:
    """A port on 127.0.0.1 whose SYNs go unanswered: a listening socket that never accepts,
    its accept queue filled. (Loopback has no address that drops SYNs; with a full queue,
    Linux drops them, and the client retries its SYN until its own timeout.)"""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    for _ in range(64):
        filler = socket.socket()
        filler.setblocking(False)
        fillers.append(filler)
        if filler.connect_ex(("127.0.0.1", port)) not in (0, errno.EINPROGRESS):
            break
        time.sleep(0.02)
        try:
            filler.getpeername()
        except OSError:
            break  # this one's SYN went unanswered: the queue is full
    else:  # pragma: no cover - depends on the kernel
        pytest.skip("could not fill a listen queue on this system")
    yield port
    for filler in fillers:
        filler.close()
    server.close()


@pytest.mark.parametrize("face", FACES)
def test_a_connect_timeout_means_the_request_was_not_sent(
    face: str, net: Net, unanswered: int
) -> None:
    # Tokens from the sandbox; the API on a host that never answers the connection.
    token_url = f"{net.box.sandbox.base_url}/oauth/token"
    kwargs = net.kwargs(
        base_url=f"http://127.0.0.1:{unanswered}",
        token_url=token_url,
        connect_timeout=0.2,
        max_retries=1,
    )
    started = time.monotonic()
    error = error_of(face, kwargs)
    assert time.monotonic() - started < 5
    # A creation is not re-sent once it may have arrived (OutcomeUnknownError); this one
    # never left, so it was tried again, and the error says it certainly did not happen.
    assert isinstance(error, APITimeoutError) and not isinstance(error, OutcomeUnknownError)
    assert error.request_sent is False and error.may_have_been_applied is False
    assert error.attempts == 2
    assert "cannot connect within connect_timeout (0.2s)" in str(error)


@pytest.mark.parametrize("face", FACES)
def test_a_tls_handshake_that_never_ends_is_a_connect_timeout(face: str, net: Net) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # accepts the TCP connection, never answers the ClientHello
        writer.close()

    server = net.box.call(asyncio.start_server(silent, "127.0.0.1", 0))
    port = server.sockets[0].getsockname()[1]
    try:
        error = error_of(
            face, net.kwargs(base_url=f"https://127.0.0.1:{port}", connect_timeout=0.2)
        )
        assert isinstance(error, APITimeoutError) and error.request_sent is False
    finally:
        net.box.loop.call_soon_threadsafe(server.close)


def test_without_connect_timeout_an_attempt_timeout_cannot_tell(net: Net, unanswered: int) -> None:
    kwargs = net.kwargs(base_url=f"http://127.0.0.1:{unanswered}", timeout=0.2)
    error = error_of("async", kwargs)
    assert isinstance(error, APITimeoutError) and error.request_sent is True


# -- pool options -------------------------------------------------------------------------------


async def test_pool_options_reach_the_connector(net: Net) -> None:
    kwargs = net.kwargs(max_connections_per_host=3, keepalive_timeout=2.5, max_connections=7)
    async with purse_async.AsyncPurse(**kwargs) as purse:
        await purse.signing_keys.retrieve()
        session = purse._transport._session
        assert session is not None and session.connector is not None
        assert session.connector.limit == 7 and session.connector.limit_per_host == 3
        assert session.connector._keepalive_timeout == 2.5
        assert session.trust_env is False  # aiohttp's own per-request look-ups stay off


# -- a caller-owned aiohttp session -------------------------------------------------------------


async def test_a_caller_s_session_is_used_and_left_open(net: Net) -> None:
    seen: list[str] = []

    async def on_start(_: Any, __: Any, params: aiohttp.TraceRequestStartParams) -> None:
        seen.append(f"{params.method} {params.url.path}")

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_start)
    # raise_for_status=True on the session: the SDK still maps statuses itself.
    async with aiohttp.ClientSession(trace_configs=[trace], raise_for_status=True) as http:
        purse = purse_async.AsyncPurse(**net.kwargs(http_session=http))
        assert (await purse.signing_keys.retrieve()).keys
        with pytest.raises(purse_async.NotFoundError):
            await purse.payments.retrieve("no-such-payment")
        assert seen[:2] == ["POST /oauth/token", "GET /payment/v2/signing-jwks"]
        await purse.aclose()
        assert purse.is_closed and not http.closed
        with pytest.raises(ClientClosedError):
            await purse.signing_keys.retrieve()
        async with http.get(net.box.sandbox.base_url + "/payment/v2/signing-jwks") as resp:
            assert resp.status == 200  # still the caller's, still working
        other = purse_async.AsyncPurse(**net.kwargs(http_session=http))
    with pytest.raises(ClientClosedError, match="http_session is closed"):
        await other.signing_keys.retrieve()


@pytest.mark.parametrize(
    "conflict",
    [
        {"proxy": "http://127.0.0.1:3128"},
        {"ssl": False},
        {"trust_env": False},
        {"max_connections": 5},
        {"max_connections_per_host": 2},
        {"keepalive_timeout": 3.0},
    ],
    ids=lambda c: next(iter(c)),
)
async def test_a_caller_s_session_with_our_network_options_is_refused(
    conflict: dict[str, Any],
) -> None:
    async with aiohttp.ClientSession() as http:
        kwargs = {"client_id": "i", "client_secret": "s", "api_key": "k", "http_session": http}
        with pytest.raises(ConfigurationError, match="http_session= cannot be combined with "):
            purse_async.AsyncPurse(**kwargs, **conflict)
        with pytest.raises(ConfigurationError, match=next(iter(conflict))):
            purse_async.AsyncPurse(**kwargs, **conflict)
        # connect_timeout is per request: it applies to the caller's session too.
        purse_async.AsyncPurse(**kwargs, connect_timeout=2.0)


def test_http_session_must_be_an_aiohttp_session() -> None:
    with pytest.raises(ConfigurationError, match=r"aiohttp\.ClientSession"):
        purse_async.AsyncPurse(client_id="i", client_secret="s", api_key="k", http_session=object())


def test_http_session_is_asyncio_only() -> None:
    async_params = inspect.signature(purse_async.AsyncPurse).parameters
    sync_params = inspect.signature(purse_sync.Purse).parameters
    assert "http_session" in async_params and "http_session" not in sync_params
    assert set(async_params) - set(sync_params) == {"http_session"}
    for name in ("proxy", "trust_env", "ssl", "connect_timeout", "keepalive_timeout"):
        assert sync_params[name].default == async_params[name].default
