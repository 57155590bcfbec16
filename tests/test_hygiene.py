"""What users get from the codebase's habits: readable tracebacks through generated decoders,
`PURSE_LOG`, and only the runtime dependencies that serve them."""

from __future__ import annotations

import importlib.metadata
import inspect
import json
import logging
import os
import subprocess
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest

from purse_async._decoder import decoder_for
from purse_async._logging import logger, setup_from_env
from purse_async.models import Payment

SEED = Path(__file__).parent / "data" / "seed_get_payment.json"


def test_generated_decoders_show_their_source() -> None:
    # As attrs and cattrs do: inspect and tracebacks read the generated code via linecache.
    decode = decoder_for(Payment)
    source = inspect.getsource(decode)
    assert source.startswith("def ") and "authorization" in source


def test_a_traceback_through_a_generated_decoder_shows_the_failing_line() -> None:
    data = json.loads(SEED.read_text())
    payment = decoder_for(Payment)(data)
    data["authorization"]["partner_transactions"] = "not a list"
    try:
        decoder_for(Payment)(data)
    except Exception as exc:
        frames = traceback.extract_tb(exc.__traceback__)
    else:  # pragma: no cover - the data is malformed on purpose
        raise AssertionError("decoding malformed data succeeded")
    generated = [f for f in frames if f.filename.startswith("<purse ")]
    assert generated and all(f.line for f in generated)
    assert payment.id


@pytest.fixture
def clean_logger() -> Iterator[None]:
    level, handlers = logger.level, list(logger.handlers)
    yield
    logger.setLevel(level)
    logger.handlers[:] = handlers


@pytest.mark.usefixtures("clean_logger")
@pytest.mark.parametrize(("value", "level"), [("debug", logging.DEBUG), ("INFO", logging.INFO)])
def test_purse_log_turns_the_logger_on_once(value: str, level: int) -> None:
    assert setup_from_env({"PURSE_LOG": value})
    assert setup_from_env({"PURSE_LOG": value})
    assert logger.level == level
    assert len([h for h in logger.handlers if getattr(h, "_purse_env", False)]) == 1


@pytest.mark.usefixtures("clean_logger")
def test_without_purse_log_the_application_decides() -> None:
    before = list(logger.handlers)
    assert not setup_from_env({})
    assert not setup_from_env({"PURSE_LOG": "loud"})
    assert logger.handlers == before


def test_purse_log_reaches_stderr_in_a_fresh_process(tmp_path: Path) -> None:
    script = (
        "import asyncio, purse_async\n"
        "from purse_async.testing import Sandbox\n"
        "async def main():\n"
        "    async with Sandbox() as box, box.client() as purse:\n"
        "        await purse.signing_keys.retrieve()\n"
        "asyncio.run(main())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={**_env(), "PURSE_LOG": "debug"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "DEBUG purse: GET /payment/v2/signing-jwks -> 200" in done.stderr


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "PURSE_LOG"}


IMPORTS_ANYIO = "import sys, purse_async, purse_sync; print('anyio' in sys.modules)"


def test_runtime_dependencies_are_the_ones_the_sdk_uses() -> None:
    runtime = {
        req.split(";")[0].split("[")[0].split(">")[0].split("=")[0].strip().lower()
        for req in importlib.metadata.requires("purse-sdk") or []
        if "extra ==" not in req
    }
    # cryptography: PyJWT's RSA keys, the sandbox's signing key and encrypted Redis tokens.
    assert runtime == {"aiohttp", "attrs", "cattrs", "pyjwt", "cryptography"}
    done = subprocess.run(
        [sys.executable, "-c", IMPORTS_ANYIO],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() == "False"


async def test_to_dict_refuses_what_holds_credentials() -> None:
    """`to_dict` serializes purse_async models only: the client's settings and a token are attrs
    classes too, and would be written out with their secrets."""
    import purse_async
    from purse_async._auth import AccessToken

    async with purse_async.AsyncPurse(
        client_id="c", client_secret="s3cr3t-value", api_key="k3y-value"
    ) as purse:
        settings = purse.settings
    for holder in (settings, AccessToken(value="t0ken-value", expires_at=1.0)):
        with pytest.raises(purse_async.ValidationError) as info:
            purse_async.to_dict(holder)  # type: ignore[arg-type]
        assert info.value.field == "model"
        assert not any(s in str(info.value) for s in ("s3cr3t", "k3y-value", "t0ken"))
