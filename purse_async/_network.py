"""Network options of a client: their checks, and which proxy each origin goes through.

Pure functions and frozen values, no I/O: `_transport.py` asks them once per client (and once
per origin), never per request.

Proxies from the environment (`trust_env=True`, the default), as requests and httpx read them:
`HTTPS_PROXY` for https:// origins, `HTTP_PROXY` for http:// ones, `ALL_PROXY` for either when
its own is unset; lower-case names win over upper-case ones; `HTTP_PROXY` is ignored when
`REQUEST_METHOD` is set (a CGI request could set it: "httpoxy"); a value without a scheme is an
http:// proxy. `NO_PROXY` lists hosts to reach directly: `*`, domain names (`example.com` and
`.example.com` both match `example.com` and its subdomains, on a dot boundary), IP addresses,
CIDR networks (`10.0.0.0/8`), each optionally with `:port`.

Loopback hosts (`localhost`, `*.localhost`, 127.0.0.0/8, ::1) never go through a proxy from the
environment, as Go's net/http decides: a proxy elsewhere cannot reach this machine's sandbox.
An explicit `proxy=` applies to every host, loopback included, and `NO_PROXY` does not limit it.
Credentials are never read from `~/.netrc`.
"""

from __future__ import annotations

import base64
import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from ssl import CERT_NONE, SSLContext
from urllib.parse import unquote, urlsplit

import attrs

from ._config import is_loopback
from ._errors import ConfigurationError

__all__ = [
    "EnvProxies",
    "NetworkOptions",
    "ProxyRoute",
    "ProxyRouter",
    "bypasses_proxy",
    "check_network_options",
    "origin_of",
    "parse_proxy",
    "redact_url",
    "unverified_hosts",
]


def redact_url(url: str) -> str:
    """`url` with any `user:password@` replaced by `***@` (for messages, reprs and logs)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    authority, slash, path = rest.partition("/")
    if "@" in authority:
        authority = "***@" + authority.rpartition("@")[2]
    return f"{scheme}{sep}{authority}{slash}{path}"


@attrs.frozen(repr=False)
class ProxyRoute:
    """A proxy to send requests through: its URL without credentials, and the
    `Proxy-Authorization` value made from the credentials the URL carried (or None)."""

    url: str
    authorization: str | None = None
    #: Where it came from: "proxy=" or the environment variable's name.
    source: str = "proxy="

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every form of the credentials, to scrub from any text that could quote them."""
        if self.authorization is None:
            return ()
        encoded = self.authorization.partition(" ")[2]
        decoded = base64.b64decode(encoded).decode("utf-8")
        password = decoded.partition(":")[2]
        return tuple(s for s in (self.authorization, encoded, decoded, password) if len(s) >= 4)

    def __str__(self) -> str:
        auth = "***@" if self.authorization else ""
        scheme, _, rest = self.url.partition("://")
        where = "" if self.source == "proxy=" else f" (from {self.source})"
        return f"{scheme}://{auth}{rest}{where}"

    def __repr__(self) -> str:
        return f"ProxyRoute({self})"


def parse_proxy(value: object, *, source: str = "proxy=") -> ProxyRoute:
    """Check an http(s) proxy URL; its credentials become a Proxy-Authorization value.
    Messages show the URL with its credentials replaced by `***`."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(f"{source}: a proxy must be an http(s) URL, got {type(value)}")
    text = value.strip()
    if source != "proxy=" and "://" not in text:
        text = "http://" + text  # as requests and httpx read `HTTPS_PROXY=proxy:3128`
    shown = redact_url(text)
    try:
        parts = urlsplit(text)
        port = parts.port
        host = parts.hostname
    except ValueError:
        raise ConfigurationError(f"{source}: not a valid proxy URL: {shown!r}") from None
    if parts.scheme not in ("http", "https") or not host:
        raise ConfigurationError(
            f"{source}: only http:// and https:// proxies are supported (with a host), got "
            f"{shown!r}"
        )
    if parts.query or parts.fragment or parts.path not in ("", "/"):
        raise ConfigurationError(f"{source}: a proxy URL has no path or query, got {shown!r}")
    authorization = None
    if parts.username is not None or parts.password is not None:
        user = unquote(parts.username or "")
        password = unquote(parts.password or "")
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        authorization = f"Basic {token}"
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    return ProxyRoute(f"{parts.scheme}://{netloc}", authorization, source)


def origin_of(url: str) -> str:
    """`scheme://host[:port]` of an absolute URL, by slicing: this runs per request."""
    end = url.find("/", url.find("://") + 3)
    return url if end < 0 else url[:end]


def _host_port(entry: str) -> tuple[str, int | None]:
    """`host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6 address."""
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif entry.count(":") == 1:
        host, _, port = entry.partition(":")
    else:
        host, port = entry, ""
    return host, int(port) if port.isdigit() else None


def bypasses_proxy(host: str, port: int | None, no_proxy: Iterable[str]) -> bool:
    """Does a `NO_PROXY` entry say `host` (on `port`) is reached directly?"""
    host = host.lower().rstrip(".")
    try:
        address: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(host)
    except ValueError:
        address = None
    for raw in no_proxy:
        entry = raw.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return True
        if "/" in entry:  # a CIDR network: for IP addresses only
            if address is None:
                continue
            try:
                if address in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                pass
            continue
        name, entry_port = _host_port(entry)
        if entry_port is not None and entry_port != port:
            continue
        name = name.removeprefix("*").removeprefix(".").rstrip(".")
        if not name:
            continue
        if address is not None:
            try:
                if ipaddress.ip_address(name) == address:
                    return True
            except ValueError:
                pass
            continue
        if host == name or host.endswith("." + name):
            return True
    return False


def _env_value(environ: Mapping[str, str], name: str) -> tuple[str, str] | None:
    """(variable, value) of `name_proxy`: lower case first, then upper case; empty is unset."""
    lower = f"{name}_proxy"
    if lower in environ:
        return (lower, environ[lower]) if environ[lower].strip() else None
    upper = lower.upper()
    if name == "http" and "REQUEST_METHOD" in environ:
        return None  # httpoxy: in a CGI request, HTTP_PROXY may come from a request header
    value = environ.get(upper, "")
    return (upper, value) if value.strip() else None


@attrs.frozen
class EnvProxies:
    """The proxy variables of an environment, read once; `route()` answers per origin."""

    http: tuple[str, str] | None = None
    https: tuple[str, str] | None = None
    all: tuple[str, str] | None = None
    no_proxy: tuple[str, ...] = ()

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> EnvProxies | None:
        """The proxies `environ` sets, or None when it sets none (nothing to route)."""
        found = {name: _env_value(environ, name) for name in ("http", "https", "all")}
        if not any(found.values()):
            return None
        no = _env_value(environ, "no")
        entries = tuple(e.strip() for e in no[1].split(",") if e.strip()) if no else ()
        return cls(found["http"], found["https"], found["all"], entries)

    def route(self, origin: str) -> ProxyRoute | None:
        """The proxy for `origin` (`scheme://host[:port]`), or None to connect directly.
        Raises `ConfigurationError` naming the variable if the proxy it names is unusable."""
        try:
            parts = urlsplit(origin)
            host, port = parts.hostname, parts.port
        except ValueError:
            return None
        if not host or is_loopback(host):
            return None
        chosen = self.https if parts.scheme == "https" else self.http
        chosen = chosen or self.all
        if chosen is None:
            return None
        if port is None:
            port = 443 if parts.scheme == "https" else 80
        if bypasses_proxy(host, port, self.no_proxy):
            return None
        variable, value = chosen
        return parse_proxy(value, source=variable)


class ProxyRouter:
    """Which proxy each origin goes through: an explicit `proxy=` for all, else the
    environment's, decided once per origin and remembered (a dict look-up per request)."""

    __slots__ = ("_env", "_explicit", "_routes")

    def __init__(self, explicit: ProxyRoute | None, env: EnvProxies | None) -> None:
        self._explicit = explicit
        self._env = env
        self._routes: dict[str, ProxyRoute | None] = {}

    @classmethod
    def build(
        cls, options: NetworkOptions, environ: Mapping[str, str], urls: Iterable[str]
    ) -> ProxyRouter | None:
        """None when nothing is ever proxied (no `proxy=`, and `trust_env` off or no proxy
        variable set): the transport then sends as if proxies did not exist. The routes of
        `urls` are decided now, so an unusable proxy variable fails the client's creation."""
        env = EnvProxies.from_environ(environ) if options.trust_env else None
        if options.proxy is None and env is None:
            return None
        router = cls(options.proxy, env)
        for url in urls:
            router.route(url)
        return router

    @property
    def secrets(self) -> tuple[str, ...]:
        """The proxy credentials in use so far, in every form (to scrub from messages)."""
        found = self._explicit.secrets if self._explicit is not None else ()
        for route in self._routes.values():
            if route is not None:
                found += route.secrets
        return found

    def route(self, url: str) -> ProxyRoute | None:
        origin = origin_of(url)
        try:
            return self._routes[origin]
        except KeyError:
            pass
        route = self._explicit
        if route is None and self._env is not None:
            route = self._env.route(origin)
        if len(self._routes) < 64:
            self._routes[origin] = route
        return route


def unverified_hosts(urls: Iterable[str]) -> list[str]:
    """The hosts among `urls` that are not this machine (where unverified TLS is exposed)."""
    hosts = []
    for url in urls:
        host = urlsplit(url).hostname
        if not is_loopback(host) and host not in hosts:
            hosts.append(str(host))
    return hosts


def _verifies(context: SSLContext) -> bool:
    return context.verify_mode != CERT_NONE and context.check_hostname


@attrs.frozen(repr=False)
class NetworkOptions:
    """The checked network options of one client (the transport's configuration)."""

    proxy: ProxyRoute | None = None
    trust_env: bool = True
    #: True: default verification; an SSLContext; False: no verification.
    ssl: SSLContext | bool = True
    connect_timeout: float | None = None
    max_connections: int = 100
    max_connections_per_host: int | None = None
    keepalive_timeout: float | None = None
    #: Hosts reached without verifying their certificate (ssl=False or a context that does
    #: not verify) that are not this machine: the client logs a warning naming them.
    unverified: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return (
            f"NetworkOptions(proxy={self.proxy!r}, trust_env={self.trust_env}, "
            f"ssl={self.ssl!r}, connect_timeout={self.connect_timeout}, "
            f"max_connections={self.max_connections}, "
            f"max_connections_per_host={self.max_connections_per_host}, "
            f"keepalive_timeout={self.keepalive_timeout})"
        )


def _positive(name: str, value: object, *, integer: bool = False) -> None:
    if value is None:
        return
    kinds: tuple[type[int] | type[float], ...] = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or not value > 0:
        what = "an int" if integer else "a number"
        raise ConfigurationError(f"{name} must be {what} > 0 or None, got {value!r}")


def check_network_options(
    *,
    urls: Sequence[str],
    proxy: str | None = None,
    trust_env: bool = True,
    ssl: SSLContext | bool | None = None,
    allow_unverified_tls: bool = False,
    connect_timeout: float | None = None,
    max_connections: int = 100,
    max_connections_per_host: int | None = None,
    keepalive_timeout: float | None = None,
    http_session: bool = False,
) -> NetworkOptions:
    """Check the options together: `urls` are the client's base and token URLs (checked
    already); `http_session` says whether the caller brings their own aiohttp session."""
    for name, flag in (("trust_env", trust_env), ("allow_unverified_tls", allow_unverified_tls)):
        if not isinstance(flag, bool):
            raise ConfigurationError(f"{name} must be True or False, got {flag!r}")
    if ssl is not None and not isinstance(ssl, (bool, SSLContext)):
        raise ConfigurationError(
            f"ssl must be None, an ssl.SSLContext, or False, got {type(ssl).__name__}"
        )
    _positive("connect_timeout", connect_timeout)
    _positive("max_connections_per_host", max_connections_per_host, integer=True)
    _positive("keepalive_timeout", keepalive_timeout)
    if http_session:
        conflicts = [
            name
            for name, is_set in (
                ("proxy", proxy is not None),
                ("ssl", ssl is not None and ssl is not True),
                ("trust_env", trust_env is not True),
                ("max_connections", max_connections != 100),
                ("max_connections_per_host", max_connections_per_host is not None),
                ("keepalive_timeout", keepalive_timeout is not None),
            )
            if is_set
        ]
        if conflicts:
            raise ConfigurationError(
                f"http_session= cannot be combined with {', '.join(conflicts)}: the session you "
                "pass brings its own connector, proxy, TLS and environment settings; set them "
                "on it, or let the client make its own session"
            )
    route = None if proxy is None else parse_proxy(proxy)
    context: SSLContext | bool = True if ssl is None else ssl
    unverified: tuple[str, ...] = ()
    if context is False or (isinstance(context, SSLContext) and not _verifies(context)):
        unverified = tuple(unverified_hosts(urls))
        if unverified and not allow_unverified_tls:
            what = "ssl=False" if context is False else "an ssl context that does not verify"
            raise ConfigurationError(
                f"{what} turns TLS certificate verification off, and {', '.join(unverified)} "
                "is not this machine: anyone on the way could read and change every request "
                "(client secret and bearer tokens included). Pass ssl=<an ssl.SSLContext "
                "trusting your CA> instead, or allow_unverified_tls=True if this is deliberate"
            )
    return NetworkOptions(
        proxy=route,
        trust_env=trust_env,
        ssl=context,
        connect_timeout=None if connect_timeout is None else float(connect_timeout),
        max_connections=max_connections,
        max_connections_per_host=max_connections_per_host,
        keepalive_timeout=None if keepalive_timeout is None else float(keepalive_timeout),
        unverified=unverified,
    )
