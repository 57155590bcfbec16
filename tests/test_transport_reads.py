"""Right-sized socket reads: every connection the SDK opens reads at most 64 KiB at a time (not
asyncio's 256 KiB, which costs three memory-mapping system calls per response), and answers
larger than one read still arrive whole."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
import sys
from typing import Any

import pytest

import purse_async as pa
from purse_async import _transport
from tests._scripted import ScriptedServer, reply

PAYMENT = "/payment/v2/payments/pay-1"


def pooled_read_sizes(purse: pa.AsyncPurse) -> list[int]:
    # White-box on purpose: this is where a renamed aiohttp hook would silently stop working.
    session = purse._transport._session
    assert session is not None and session.connector is not None
    pool: dict[Any, Any] = session.connector._conns  # type: ignore[attr-defined]
    return [proto.transport.max_size for entries in pool.values() for proto, _ in entries]


async def test_connections_read_64_kib_and_large_answers_arrive_whole(
    server: ScriptedServer,
) -> None:
    # Four reads' worth of JSON in one answer: split over reads, it must still decode whole.
    notes = "x" * (4 * _transport.READ_SIZE)
    server.routes[PAYMENT] = reply(
        200, {"id": "pay-1", "amount": 12000, "currency": "EUR", "notes": notes}
    )
    async with pa.AsyncPurse(
        client_id="cid", client_secret="secret", api_key="key", base_url=server.base_url
    ) as purse:
        for _ in range(2):  # a fresh connection, then the same one from the pool
            payment = await purse.payments.retrieve("pay-1")
            assert (payment.id, payment.amount, payment.currency) == ("pay-1", 12000, "EUR")
        sizes = pooled_read_sizes(purse)
    assert sizes and all(size == _transport.READ_SIZE for size in sizes)


class _Plain:
    def __init__(self, max_size: int) -> None:
        self.max_size = max_size


class _TLS:
    def __init__(self, max_size: int) -> None:
        self._ssl_protocol = _Plain(max_size)


def test_only_asyncios_default_read_size_is_lowered() -> None:
    default, custom = _Plain(_transport.ASYNCIO_READ_SIZE), _Plain(1 << 20)
    tls = _TLS(_transport.ASYNCIO_READ_SIZE)
    for transport in (default, custom, tls, object()):
        _transport.right_size_reads(transport)
    assert default.max_size == _transport.READ_SIZE
    assert custom.max_size == 1 << 20  # somebody's deliberate choice: left alone
    assert tls._ssl_protocol.max_size == _transport.READ_SIZE


def test_asyncio_still_reads_256_kib_by_default() -> None:
    # The premise of the above: if asyncio changes its read size, revisit READ_SIZE.
    from asyncio import selector_events, sslproto

    assert selector_events._SelectorSocketTransport.max_size == _transport.ASYNCIO_READ_SIZE
    if sys.version_info >= (3, 11):
        assert sslproto.SSLProtocol.max_size == _transport.ASYNCIO_READ_SIZE
    assert _transport.READ_SIZE < 128 * 1024  # below glibc's default mmap threshold


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is needed to make a throwaway certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = str(folder / "cert.pem"), str(folder / "key.pem")
    subprocess.run(
        [
            *(openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", key, "-out", cert, "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.mark.skipif(sys.version_info < (3, 11), reason="3.10 keeps the size in _SSLPipe")
async def test_a_real_tls_transport_gets_right_sized_reads(tls_files: tuple[str, str]) -> None:
    cert, key = tls_files
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    client_ctx = ssl.create_default_context(cafile=cert)

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(await reader.read(100))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0, ssl=server_ctx)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client_ctx)
    try:
        _transport.right_size_reads(writer.transport)
        protocol = writer.transport._ssl_protocol  # type: ignore[attr-defined]
        assert protocol.max_size == _transport.READ_SIZE
        writer.write(b"ping")
        assert await reader.read(100) == b"ping"  # still reads and decrypts
    finally:
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()
