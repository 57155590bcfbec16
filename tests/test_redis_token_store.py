"""`RedisTokenStore` against a real redis-server: one token request for a fleet of processes,
one refresh fleet-wide after a revocation, calls that never fail because of Redis (down, slow,
refusing), encryption at rest, ACL users, TLS, and what the store keeps out of logs and reprs.

The session starts `redis-server` on a free port (Debian's package; `.ci/run` installs it);
without it these tests skip. Fleets are `python -c` processes running purse_sync or purse_async
against one `ThreadedSandbox` in this process, started together at each phase's "go".
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("redis", reason="the redis extra is not installed (pip install -e '.[dev]')")

import redis.asyncio as aioredis
from cryptography.fernet import Fernet

import purse_async as pa
import purse_sync
from purse_async._auth import LockingTokenStore, MemoryTokenStore
from purse_async.contrib.redis import RedisTokenStore, _digest
from purse_async.testing import Sandbox, ThreadedSandbox
from purse_async.testing._tls import private_ca

ROOT = Path(__file__).resolve().parent.parent
REDIS_SERVER = shutil.which("redis-server")
SESSION = {
    "amount": 1000,
    "currency": "EUR",
    "shopper_redirection_url": "https://shop.example/back",
    "order": {"reference": "FLEET-1"},
}

# -- a real redis-server ------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RedisServer:
    """`redis-server` on a free port of 127.0.0.1, no persistence; `stop()` ends it."""

    def __init__(self, folder: Path, *args: str, tls: bool = False) -> None:
        assert REDIS_SERVER is not None
        self.port = _free_port()
        self.log = folder / f"redis-{self.port}.log"
        ports = ("--port", "0", "--tls-port", str(self.port)) if tls else ("--port", str(self.port))
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    REDIS_SERVER,
                    *ports,
                    *("--bind", "127.0.0.1", "--save", "", "--appendonly", "no"),
                    *("--dir", str(folder), "--daemonize", "no"),
                    *args,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 10
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server did not start:\n{self.log.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(
                        f"redis-server is not listening:\n{self.log.read_text()}"
                    ) from None
                time.sleep(0.02)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:  # pragma: no cover - a stuck server
                self.process.kill()
                self.process.wait()


@pytest.fixture(scope="session")
def redis_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if REDIS_SERVER is None:
        pytest.skip(
            "redis-server is not installed (Debian: apt-get install redis-server; .ci/run "
            "installs it when it runs as root)"
        )
    return tmp_path_factory.mktemp("redis")


@pytest.fixture(scope="session")
def redis_server(redis_folder: Path) -> Iterator[RedisServer]:
    server = RedisServer(redis_folder)
    yield server
    server.stop()


@pytest.fixture
def prefix() -> str:
    """Keys of their own for each test on the shared server."""
    return f"t-{uuid.uuid4().hex[:8]}:"


@asynccontextmanager
async def admin(url: str, **options: Any) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(url, **options)
    try:
        yield client
    finally:
        await client.aclose()


def purse_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.name == "purse" and r.levelno >= logging.WARNING
    ]


# -- fleets of processes --------------------------------------------------------------------

WORKER = r"""
import asyncio, json, logging, sys
from concurrent.futures import ThreadPoolExecutor

import purse_async, purse_sync
from purse_async.contrib.redis import RedisTokenStore

config = json.loads(sys.argv[1])
warnings = []


class Collect(logging.Handler):
    def emit(self, record):
        if record.levelno >= logging.WARNING:
            warnings.append(record.getMessage())


logging.getLogger("purse").addHandler(Collect())
store = RedisTokenStore(config["redis_url"], **config["store"])
session = config["session"]
ok, errors = 0, []


def wait_for_go():
    print("ready", flush=True)
    assert sys.stdin.readline().strip() == "go"


def tally(outcomes):
    global ok
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            errors.append(repr(outcome))
        else:
            ok += 1


if config["face"] == "sync":
    purse = purse_sync.Purse(**config["client"], token_store=store)

    def call(_):
        try:
            return purse.client_sessions.create(**session)
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(4) as pool:
        for calls in config["phases"]:
            wait_for_go()
            tally(pool.map(call, range(calls)))
    token_requests = purse.token_requests
    purse.close()
    store.close()
else:
    async def main():
        async with purse_async.AsyncPurse(**config["client"], token_store=store) as purse:
            for calls in config["phases"]:
                await asyncio.to_thread(wait_for_go)
                tally(
                    await asyncio.gather(
                        *(purse.client_sessions.create(**session) for _ in range(calls)),
                        return_exceptions=True,
                    )
                )
            requests = purse.token_requests
        await store.aclose()
        return requests

    token_requests = asyncio.run(main())
print(json.dumps({"ok": ok, "errors": errors, "token_requests": token_requests,
                  "warnings": warnings}), flush=True)
"""


class Fleet:
    """Worker processes (half purse_sync, half purse_async) driven phase by phase."""

    def __init__(
        self,
        box: ThreadedSandbox,
        redis_url: str,
        folder: Path,
        *,
        processes: int,
        phases: list[int],
        store: dict[str, Any],
    ) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PURSE_")}
        self.phases = phases
        self.logs: list[Path] = []
        self.processes: list[subprocess.Popen[str]] = []
        for i in range(processes):
            config = {
                "face": "sync" if i % 2 else "async",
                "client": box.sandbox.client_kwargs(),
                "redis_url": redis_url,
                "store": store,
                "phases": phases,
                "session": SESSION,
            }
            log = folder / f"worker-{i}.log"
            self.logs.append(log)
            with log.open("w") as stderr:
                self.processes.append(
                    subprocess.Popen(
                        [sys.executable, "-c", WORKER, json.dumps(config)],
                        stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE,
                        stderr=stderr,
                        text=True,
                        cwd=ROOT,
                        env=env,
                    )
                )

    def _line(self, i: int) -> str:
        process = self.processes[i]
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line, f"worker {i} ended early:\n{self.logs[i].read_text()}"
        return line.strip()

    def ready(self) -> None:
        """Wait until every worker has finished its phase (or started) and waits for "go"."""
        for i in range(len(self.processes)):
            assert self._line(i) == "ready", self.logs[i].read_text()

    def start(self) -> None:
        """Start the next phase in every worker at once."""
        for process in self.processes:
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()

    def results(self) -> list[dict[str, Any]]:
        """Each worker's report, once its last phase is done."""
        found = []
        for i, process in enumerate(self.processes):
            line = self._line(i)
            assert line != "ready", "results() before the last phase"
            found.append(json.loads(line))
            assert process.wait(timeout=30) == 0, self.logs[i].read_text()
        return found

    def kill(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait()
            for pipe in (process.stdin, process.stdout):
                if pipe is not None:
                    pipe.close()


@pytest.fixture
def box() -> Iterator[ThreadedSandbox]:
    sandbox = ThreadedSandbox()
    yield sandbox
    sandbox.close()


@pytest.fixture
def fleet_factory(box: ThreadedSandbox, tmp_path: Path) -> Iterator[Any]:
    fleets: list[Fleet] = []

    def make(redis_url: str, *, processes: int, phases: list[int], **store: Any) -> Fleet:
        fleet = Fleet(box, redis_url, tmp_path, processes=processes, phases=phases, store=store)
        fleets.append(fleet)
        return fleet

    yield make
    for fleet in fleets:
        fleet.kill()


def checked(results: list[dict[str, Any]], calls: int) -> None:
    for report in results:
        assert report["errors"] == [], report["errors"]
        assert report["ok"] == calls


@pytest.mark.timeout(60)
def test_eight_processes_fetch_one_token(
    box: ThreadedSandbox, redis_server: RedisServer, prefix: str, fleet_factory: Any
) -> None:
    fleet = fleet_factory(redis_server.url, processes=8, phases=[50], prefix=prefix)
    fleet.ready()
    fleet.start()
    results = fleet.results()
    checked(results, 50)
    assert box.sandbox.stats.token_requests == 1
    assert sum(r["token_requests"] for r in results) == 1
    assert all(r["warnings"] == [] for r in results)


@pytest.mark.timeout(60)
def test_a_revoked_token_is_refreshed_once_fleet_wide(
    box: ThreadedSandbox, redis_server: RedisServer, prefix: str, fleet_factory: Any
) -> None:
    fleet = fleet_factory(redis_server.url, processes=6, phases=[10, 20, 20], prefix=prefix)
    fleet.ready()
    for revocations in range(3):
        fleet.start()
        if revocations < 2:
            fleet.ready()  # the phase is over: nothing in flight
        else:
            results = fleet.results()
        assert box.sandbox.stats.token_requests == 1 + revocations
        # Every process still holds the revoked token and meets a 401 with it at once.
        box.sandbox.expire_all_tokens()
    checked(results, 50)
    assert sum(r["token_requests"] for r in results) == 3
    assert all(r["warnings"] == [] for r in results)


@pytest.mark.timeout(60)
def test_calls_succeed_when_redis_stops_in_the_middle(
    box: ThreadedSandbox, redis_folder: Path, prefix: str, fleet_factory: Any
) -> None:
    server = RedisServer(redis_folder)
    try:
        fleet = fleet_factory(
            server.url, processes=4, phases=[10, 10, 10], prefix=prefix, retry_interval=0
        )
        fleet.ready()
        fleet.start()
        fleet.ready()
        assert box.sandbox.stats.token_requests == 1
        server.stop()
        box.sandbox.expire_all_tokens()
        fleet.start()
        fleet.ready()
        # A second revocation, Redis still down: asked again (retry_interval=0), not logged.
        box.sandbox.expire_all_tokens()
        fleet.start()
        results = fleet.results()
    finally:
        server.stop()
    checked(results, 30)
    # Once Redis is gone each process fetches its own token, each time it needs one.
    assert box.sandbox.stats.token_requests == 1 + 4 + 4
    assert sum(r["token_requests"] for r in results) == 1 + 4 + 4
    for report in results:
        assert len(report["warnings"]) == 1, report["warnings"]
        assert "is unavailable" in report["warnings"][0]


# -- in one process -------------------------------------------------------------------------


def store_for(url: str, prefix: str, **options: Any) -> RedisTokenStore:
    return RedisTokenStore(url, prefix=prefix, **options)


async def create_with(sandbox: Sandbox, store: Any, clients: int = 3) -> list[int]:
    """`clients` AsyncPurse clients sharing `store`, three concurrent calls each; their token
    requests."""
    purses = [sandbox.client(token_store=store) for _ in range(clients)]
    try:
        await asyncio.gather(
            *(p.client_sessions.create(**SESSION) for p in purses for _ in range(3))
        )
        return [p.token_requests for p in purses]
    finally:
        for purse in purses:
            await purse.aclose()


async def test_clients_share_one_token_and_a_401_is_refreshed_once(
    purse_sandbox: Sandbox, redis_server: RedisServer, prefix: str
) -> None:
    async with store_for(redis_server.url, prefix) as store:
        assert isinstance(store, LockingTokenStore)
        purses = [purse_sandbox.client(token_store=store) for _ in range(5)]
        try:
            await asyncio.gather(*(p.client_sessions.create(**SESSION) for p in purses))
            assert purse_sandbox.stats.token_requests == 1
            purse_sandbox.expire_all_tokens()
            await asyncio.gather(
                *(p.client_sessions.create(**SESSION) for p in purses for _ in range(4))
            )
            assert purse_sandbox.stats.token_requests == 2
        finally:
            for purse in purses:
                await purse.aclose()


async def test_the_key_names_no_credential(
    purse_sandbox: Sandbox, redis_server: RedisServer, prefix: str
) -> None:
    async with store_for(redis_server.url, prefix) as store:
        await create_with(purse_sandbox, store, clients=1)
    async with admin(redis_server.url) as r:
        keys = [k.decode() for k in await r.keys(f"{prefix}*")]
        assert len(keys) == 1 and keys[0].startswith(f"{prefix}token:")
        creds = purse_sandbox.credentials
        for secret in (creds.client_id, creds.client_secret, creds.api_key):
            assert secret not in keys[0]
        ttl = await r.pttl(keys[0])
        assert 3_500_000 < ttl <= 3_600_000  # the token's own lifetime


async def test_the_token_is_encrypted_at_rest(
    purse_sandbox: Sandbox,
    redis_server: RedisServer,
    prefix: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    key = RedisTokenStore.generate_key()
    async with store_for(redis_server.url, prefix, encryption_key=key) as store:
        assert sum(await create_with(purse_sandbox, store)) == 1
    (token,) = purse_sandbox.state.tokens
    async with admin(redis_server.url) as r:
        (name,) = await r.keys(f"{prefix}*")
        raw = await r.get(name)
    assert token.encode() not in raw and b"sbx_" not in raw
    assert token.encode() in Fernet(key).decrypt(raw.split(b"|", 2)[2])

    # Rotation: a store whose first key is new still reads what the old key wrote.
    rotated = [RedisTokenStore.generate_key(), key]
    async with store_for(redis_server.url, prefix, encryption_key=rotated) as store:
        assert sum(await create_with(purse_sandbox, store)) == 0

    # Another key, then no key: the record is ignored (never used), logged once each; the
    # process fetches its own token (its three clients share it through the store).
    for other in (RedisTokenStore.generate_key(), None):
        caplog.clear()
        async with store_for(redis_server.url, prefix, encryption_key=other) as store:
            assert sum(await create_with(purse_sandbox, store)) == 1
        (warning,) = purse_warnings(caplog)
        assert "ignored" in warning
    assert purse_sandbox.stats.token_requests == 3

    # A plaintext record planted by someone without the key is not trusted...
    caplog.clear()
    expires_at = time.time() + 60
    async with store_for(redis_server.url, prefix) as plain:
        await plain.set("planted", "sbx_planted", expires_at)
        assert await plain.get("planted") == ("sbx_planted", expires_at)
    async with store_for(redis_server.url, prefix, encryption_key=key) as store:
        assert await store.get("planted") is None
        # ...nor a record of ours copied under another client's key.
        with pytest.raises(Exception, match="does not belong"):
            store._decode(raw, "0" * 32)
    (warning,) = purse_warnings(caplog)
    assert "not encrypted" in warning

    # Records this store never writes are ignored too.
    async with admin(redis_server.url) as r, store_for(redis_server.url, prefix) as plain:
        for junk in (b"junk", b"0|p1|{not json", b"0|p1|{}", b"0|x9|{}"):
            await r.set(f"{prefix}token:{_digest('junk')}", junk)
            assert await plain.get("junk") is None


async def test_compare_and_delete_keeps_a_newer_token(
    redis_server: RedisServer, prefix: str
) -> None:
    async with store_for(redis_server.url, prefix) as store:
        await store.set("k", "old", time.time() + 60)
        await store.set("k", "new", time.time() + 60)
        await store.delete("k", "old")  # a late 401 on the old token
        assert (await store.get("k") or ("",))[0] == "new"
        await store.delete("k", "new")
        assert await store.get("k") is None
        await store.set("gone", "tok", time.time() - 1)  # already expired: not stored
        assert await store.get("gone") is None


async def test_the_refresh_lock_waits_for_the_holder_then_gives_up(
    redis_server: RedisServer, prefix: str
) -> None:
    async with (
        store_for(redis_server.url, prefix) as one,
        store_for(redis_server.url, prefix, lock_wait=0.3) as impatient,
        store_for(redis_server.url, prefix, lock_wait=30) as patient,
    ):
        async with one.refresh_lock("k") as held:
            assert held
            started = time.monotonic()
            async with impatient.refresh_lock("k") as also:  # gives up: fetches on its own
                assert not also
            assert 0.25 < time.monotonic() - started < 5

            async def store_soon() -> None:
                await asyncio.sleep(0.1)
                await one.set("k", "fresh", time.time() + 60)

            setter = asyncio.ensure_future(store_soon())
            started = time.monotonic()
            async with patient.refresh_lock("k") as also:  # a token appeared: read it
                assert not also
            assert time.monotonic() - started < 10  # long before lock_wait
            await setter
        async with patient.refresh_lock("k") as held:  # released: free again
            assert held


async def test_acl_user_and_no_password_in_logs_or_reprs(
    purse_sandbox: Sandbox,
    redis_server: RedisServer,
    prefix: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    user, password = f"purse-{uuid.uuid4().hex[:6]}", f"pw-{uuid.uuid4().hex}"
    caplog.set_level(logging.DEBUG, logger="purse")
    async with admin(redis_server.url) as r:
        # The least the store needs (docs/fleets.md).
        await r.execute_command(
            "ACL", "SETUSER", user, "on", f">{password}", f"~{prefix}*", "-@all",
            "+get", "+set", "+del", "+eval", "+evalsha",
        )  # fmt: skip
        try:
            url = f"redis://{user}:{password}@127.0.0.1:{redis_server.port}/0"
            async with store_for(url, prefix) as store:
                assert sum(await create_with(purse_sandbox, store)) == 1
            shown = repr(store)
            assert (
                shown == f"RedisTokenStore(host='127.0.0.1:{redis_server.port}', prefix={prefix!r})"
            )
            assert purse_warnings(caplog) == []
            # A wrong password, or keys outside the user's pattern: the calls go on, each
            # client with a token of its own, logged once.
            wrong = url.replace(password, "wrong-" + password)
            for bad in (store_for(wrong, prefix), store_for(url, "elsewhere:")):
                caplog.clear()
                async with bad as store:
                    assert sum(await create_with(purse_sandbox, store)) == 3
                (warning,) = purse_warnings(caplog)
                assert "is unavailable" in warning
            assert purse_sandbox.stats.token_requests == 1 + 3 + 3
        finally:
            await r.execute_command("ACL", "DELUSER", user)
    shown = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert password not in shown
    for token in purse_sandbox.state.tokens:
        assert token not in shown


async def test_an_outage_is_logged_once_and_its_end_too(
    redis_server: RedisServer, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="purse")
    user, password = f"purse-{uuid.uuid4().hex[:6]}", uuid.uuid4().hex
    url = f"redis://{user}:{password}@127.0.0.1:{redis_server.port}/0"
    async with admin(redis_server.url) as r:

        async def allow(pattern: str) -> None:
            await r.execute_command(
                "ACL", "SETUSER", user, "on", f">{password}", "resetkeys", pattern, "+@all"
            )

        await allow(f"~{prefix}*")
        try:
            async with store_for(url, prefix, retry_interval=0) as store:
                for outage in range(2):
                    await store.set("k", "tok", time.time() + 60)
                    assert (await store.get("k") or ("",))[0] == "tok"
                    await allow("~nothing-of-ours")  # Redis refuses every command now
                    for _ in range(3):
                        assert await store.get("k") is None
                        await store.set("k", "tok", time.time() + 60)
                    assert len(purse_warnings(caplog)) == outage + 1
                    await allow(f"~{prefix}*")
                    assert (await store.get("k") or ("",))[0] == "tok"
        finally:
            await r.execute_command("ACL", "DELUSER", user)
    back = [m.getMessage() for m in caplog.records if "answers again:" in m.getMessage()]
    assert len(back) == 2


async def test_slow_redis_is_bounded(
    purse_sandbox: Sandbox, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Accepts connections and never answers.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    try:
        async with store_for(f"redis://127.0.0.1:{port}/0", prefix, timeout=0.1) as store:
            started = time.monotonic()
            assert sum(await create_with(purse_sandbox, store)) == 3
            assert time.monotonic() - started < 2
    finally:
        listener.close()
    (warning,) = purse_warnings(caplog)
    assert "is unavailable" in warning


async def test_redis_down_from_the_start_logs_once(
    purse_sandbox: Sandbox, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"redis://127.0.0.1:{_free_port()}/0"
    async with store_for(url, prefix, retry_interval=0) as store:
        assert sum(await create_with(purse_sandbox, store)) == 3
        purse_sandbox.expire_all_tokens()
        assert sum(await create_with(purse_sandbox, store)) == 3
    assert len(purse_warnings(caplog)) == 1


def tls_files(folder: Path) -> dict[str, str]:
    """A private CA and a certificate for 127.0.0.1 that it signed."""
    files = private_ca(folder)
    return {"ca": str(files.ca), "cert": str(files.cert), "key": str(files.key)}


async def test_rediss_with_a_private_ca(
    purse_sandbox: Sandbox, redis_folder: Path, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    files = tls_files(redis_folder)
    tls_args = (
        *("--tls-cert-file", files["cert"], "--tls-key-file", files["key"]),
        *("--tls-ca-cert-file", files["ca"], "--tls-auth-clients", "no"),
    )
    try:
        server = RedisServer(redis_folder, *tls_args, tls=True)
    except RuntimeError as exc:
        if "tls" in str(exc).lower():
            pytest.skip(f"this redis-server was built without TLS: {exc}")
        raise
    try:
        url = f"rediss://127.0.0.1:{server.port}/0"
        async with store_for(url, prefix, ssl_ca_certs=files["ca"]) as store:
            assert sum(await create_with(purse_sandbox, store)) == 1
        assert purse_warnings(caplog) == []
        # Without the CA the certificate is refused: calls go on, logged once.
        async with store_for(url, prefix) as store:
            assert sum(await create_with(purse_sandbox, store)) == 3
        (warning,) = purse_warnings(caplog)
        assert "is unavailable" in warning
    finally:
        server.stop()


# -- both faces, ownership, closing -------------------------------------------------------


async def connections_named(url: str, name: str, *, settle: int | None = None) -> int:
    """How many connections named `name` Redis has (waiting, if `settle`, until it has
    seen the count drop to that: a closed socket takes Redis a moment to notice)."""
    async with admin(url) as r:
        deadline = time.monotonic() + 3
        while True:
            count = sum(1 for c in await r.client_list() if c.get("name") == name)
            if settle is None or count <= settle or time.monotonic() > deadline:
                return count
            await asyncio.sleep(0.02)


async def test_both_faces_share_one_store_that_their_clients_do_not_close(
    purse_sandbox: Sandbox, redis_server: RedisServer, prefix: str
) -> None:
    name = f"purse-test-{uuid.uuid4().hex[:6]}"
    store = store_for(redis_server.url, prefix, client_name=name)
    kwargs = purse_sandbox.client_kwargs()

    def blocking() -> int:
        # purse_sync: the store's pool for its loop thread is made there, on first use.
        with purse_sync.Purse(**kwargs, token_store=store) as purse:
            purse.client_sessions.create(**SESSION)
            return purse.token_requests

    async with pa.AsyncPurse(**kwargs, token_store=store) as purse:
        await purse.client_sessions.create(**SESSION)
    assert await asyncio.to_thread(blocking) == 0  # the token the async client stored
    async with pa.AsyncPurse(**kwargs, token_store=store) as purse:  # the store is still open
        await purse.client_sessions.create(**SESSION)
        assert purse.token_requests == 0
    assert purse_sandbox.stats.token_requests == 1
    assert await connections_named(redis_server.url, name) == 2  # one pool per loop
    await store.aclose()  # closes both: this loop's pool, and the loop thread's
    assert await connections_named(redis_server.url, name, settle=0) == 0
    await store.aclose()  # idempotent

    # close() on the loop itself cannot wait: it closes the pool in the background.
    store = store_for(redis_server.url, prefix, client_name=name)
    assert await store.get("nothing") is None
    assert await connections_named(redis_server.url, name) == 1
    store.close()
    assert await connections_named(redis_server.url, name, settle=0) == 0


def test_close_from_a_thread_releases_purse_syncs_pool(
    box: ThreadedSandbox, redis_server: RedisServer, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    name = f"purse-test-{uuid.uuid4().hex[:6]}"
    with store_for(redis_server.url, prefix, client_name=name) as store:
        for _ in range(2):
            with purse_sync.Purse(**box.sandbox.client_kwargs(), token_store=store) as purse:
                purse.client_sessions.create(**SESSION)
        assert box.sandbox.stats.token_requests == 1
        assert asyncio.run(connections_named(redis_server.url, name)) == 1
    assert asyncio.run(connections_named(redis_server.url, name, settle=0)) == 0
    # Used after close(): the calls still work; the store behaves as empty (said once).
    with purse_sync.Purse(**box.sandbox.client_kwargs(), token_store=store) as purse:
        purse.client_sessions.create(**SESSION)
        purse.client_sessions.create(**SESSION)
    assert box.sandbox.stats.token_requests == 2
    (warning,) = purse_warnings(caplog)
    assert "after close()" in warning


def test_a_store_made_outside_any_loop_serves_each_loop_in_turn(
    box: ThreadedSandbox, redis_server: RedisServer, prefix: str
) -> None:
    name = f"purse-test-{uuid.uuid4().hex[:6]}"
    store = store_for(redis_server.url, prefix, client_name=name)  # nothing connected yet

    async def one_loop() -> int:
        async with box.sandbox.client(token_store=store) as purse:
            await purse.client_sessions.create(**SESSION)
            return purse.token_requests

    results: list[int] = []
    thread = threading.Thread(target=lambda: results.append(asyncio.run(one_loop())))
    thread.start()
    thread.join()
    results.append(asyncio.run(one_loop()))
    assert results == [1, 0]
    # Each asyncio.run closed its loop's pool on its way out (the loop's async generators are
    # shut down): nothing leaks even though the store was never closed.
    assert asyncio.run(connections_named(redis_server.url, name, settle=0)) == 0
    store.close()

    # A loop of one's own, not running when the store is closed.
    store = store_for(redis_server.url, prefix, client_name=name)
    loop = asyncio.new_event_loop()
    try:
        assert loop.run_until_complete(one_loop()) == 0
        assert asyncio.run(connections_named(redis_server.url, name)) == 1
        store.close()
        assert asyncio.run(connections_named(redis_server.url, name, settle=0)) == 0
    finally:
        loop.close()


# -- configuration --------------------------------------------------------------------------


def test_bad_settings_are_refused_without_echoing_them() -> None:
    with pytest.raises(pa.ConfigurationError) as err:
        RedisTokenStore("http://user:hunter2@host:6379")
    assert "hunter2" not in str(err.value)
    with pytest.raises(pa.ConfigurationError) as err:
        RedisTokenStore("redis://h:6379", encryption_key="not-a-fernet-key-hunter2")
    assert "hunter2" not in str(err.value)
    with pytest.raises(pa.ConfigurationError):
        RedisTokenStore("redis://h:6379", encryption_key=[])
    for bad in ({"timeout": 0}, {"lock_ttl": -1}, {"lock_wait": -1}, {"retry_interval": -1}):
        with pytest.raises(pa.ConfigurationError):
            RedisTokenStore("redis://h:6379", **bad)
    with pytest.raises(pa.ConfigurationError) as err:
        RedisTokenStore("redis://u:hunter2@h:port/0")
    assert "hunter2" not in str(err.value)
    store = RedisTokenStore("rediss://u:hunter2@[::1]:6380/2", prefix="p:")
    assert repr(store) == "RedisTokenStore(host='[::1]:6380', prefix='p:')"
    unix = RedisTokenStore("unix://:hunter2@/run/redis.sock?db=1")
    assert repr(unix) == "RedisTokenStore(host='/run/redis.sock', prefix='purse:')"


# -- the protocol hook, without Redis ------------------------------------------------------


class CountingLockStore(MemoryTokenStore):
    """A MemoryTokenStore with the optional refresh lock (one asyncio lock per key)."""

    def __init__(self) -> None:
        super().__init__()
        self.locks: dict[str, asyncio.Lock] = {}
        self.entered = 0

    def refresh_lock(self, key: str) -> AbstractAsyncContextManager[object]:
        self.entered += 1
        return self.locks.setdefault(key, asyncio.Lock())


async def test_a_store_with_a_refresh_lock_makes_clients_refresh_once(
    purse_sandbox: Sandbox,
) -> None:
    store = CountingLockStore()
    assert isinstance(store, LockingTokenStore)
    assert not isinstance(MemoryTokenStore(), LockingTokenStore)
    assert sum(await create_with(purse_sandbox, store, clients=4)) == 1
    purse_sandbox.expire_all_tokens()
    # New clients read the revoked token from the store, meet a 401 each, refresh once.
    assert sum(await create_with(purse_sandbox, store, clients=4)) == 1
    assert purse_sandbox.stats.token_requests == 2
    assert store.entered >= 2


async def test_memory_store_still_replaces_a_refused_token(purse_sandbox: Sandbox) -> None:
    store = MemoryTokenStore()
    assert await create_with(purse_sandbox, store, clients=1) == [1]
    assert await create_with(purse_sandbox, store, clients=1) == [0]
    purse_sandbox.expire_all_tokens()
    assert await create_with(purse_sandbox, store, clients=1) == [1]
    assert purse_sandbox.stats.token_requests == 2
