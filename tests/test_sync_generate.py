"""The sync facade's generator: drift detection, layout by ruff, and every kind of member it
mirrors (coroutines, async iterators, async context managers, plain methods, properties)."""

from __future__ import annotations

import asyncio
import importlib.util
import inspect
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import ModuleType

import pytest

import purse_sync
from purse_async import AsyncPayments, AsyncPurse, Payment
from purse_async._response import AsyncRawResponses, raw_response
from purse_sync import _generate
from purse_sync._generate import GenerationError, format_source

ROOT = Path(__file__).resolve().parent.parent
RENDERED = _generate.render_all()
GENERATED = sorted(RENDERED)


def render_resource_module(name: str, classes: list[type[object]], attrs: dict[str, str]) -> str:
    """The module as the generator writes it: laid out by ruff."""
    text = _generate.render_resource_module(name, classes, attrs)
    return format_source(text, f"resources/{name}.py")


def render_client() -> str:
    return format_source(_generate.render_client(), "_client.py")


def _write_generated(root: Path) -> None:
    for rel, text in RENDERED.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def test_check_names_stale_and_leftover_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write_generated(tmp_path)
    assert _generate.main(["--check"], root=tmp_path) == 0

    (tmp_path / "resources/_payments.py").write_text("# edited by hand\n")
    (tmp_path / "resources/_gone.py").write_text(_generate.HEADER + "'''old'''\n")
    (tmp_path / "resources/_handwritten.py").write_text("'''not generated: left alone'''\n")
    capsys.readouterr()
    assert _generate.main(["--check"], root=tmp_path) == 1
    err = capsys.readouterr().err
    assert "stale: purse_sync/resources/_payments.py" in err
    assert "no longer generated: purse_sync/resources/_gone.py" in err
    assert "python -m purse_sync._generate" in err
    assert (tmp_path / "resources/_gone.py").exists()  # --check writes nothing

    assert _generate.main([], root=tmp_path) == 0
    assert not (tmp_path / "resources/_gone.py").exists()
    assert (tmp_path / "resources/_handwritten.py").exists()
    assert _generate.main(["--check"], root=tmp_path) == 0


def test_generated_files_start_with_the_header() -> None:
    for rel in GENERATED:
        text = (ROOT / "purse_sync" / rel).read_text()
        assert text.startswith(_generate.HEADER), rel
        assert "python -m purse_sync._generate" in text.splitlines()[1]


def _ruff_clean(text: str, rel: str) -> None:
    """`ruff check` and `ruff format --check` with the project's settings, as if `text` were
    purse_sync/`rel`."""
    ruff = _generate._ruff()
    name = str(ROOT / "purse_sync" / rel)
    for args in (["check", "--quiet"], ["format", "--check", "--quiet"]):
        done = subprocess.run(
            [*ruff, *args, "--stdin-filename", name, "-"],
            input=text,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, f"ruff {args[0]} on {rel}: {done.stdout}{done.stderr}"


@pytest.mark.parametrize("rel", GENERATED)
def test_generated_code_is_formatted_as_ruff_would(rel: str) -> None:
    # Laid out by ruff, and clean under every rule the project's lint selects.
    _ruff_clean(RENDERED[rel], rel)


def test_a_layout_from_another_ruff_is_not_drift(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Another ruff version may lay the same code out differently: --check compares what this
    # ruff makes of the file on disk, so only a change of code counts; writing restores the
    # pinned ruff's exact bytes.
    _write_generated(tmp_path)
    path = tmp_path / "resources/_payments.py"
    relaid = subprocess.run(
        [*_generate._ruff(), "format", "--isolated", "--line-length", "60", "-"],
        input=path.read_text(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert relaid != RENDERED["resources/_payments.py"]
    path.write_text(relaid)
    assert _generate.main(["--check"], root=tmp_path) == 0
    assert _generate.main([], root=tmp_path) == 0
    assert "wrote 1 file(s)" in capsys.readouterr().out
    assert path.read_text() == RENDERED["resources/_payments.py"]
    path.write_text(relaid)

    for edit in ("# a comment\n", "x = 1\n"):
        path.write_text(relaid + edit)
        assert _generate.main(["--check"], root=tmp_path) == 1
        assert "stale: purse_sync/resources/_payments.py" in capsys.readouterr().err
    path.write_text(relaid.replace("Get a payment", "Get one payment", 1))
    assert _generate.main(["--check"], root=tmp_path) == 1
    path.write_text("def broken(:\n")  # ruff cannot read it: stale, not a crash
    assert _generate.main(["--check"], root=tmp_path) == 1


def test_without_ruff_the_generator_stops_and_says_how_to_get_it(tmp_path: Path) -> None:
    # An environment without ruff: none beside the interpreter, none importable.
    script = (
        "import sys\n"
        f"sys.executable = {str(tmp_path / 'bin' / 'python')!r}\n"
        "sys.modules['ruff'] = None\n"
        "from purse_sync._generate import main\n"
        "sys.exit(main(['--check']))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "purse_sync._generate: ruff is not installed" in done.stderr
    assert "pip install -e '.[dev]'" in done.stderr


# -- a resource with one member of each kind ---------------------------------------------------


class AsyncWidgets:
    """Widgets of the `AsyncPurse`: a stand-in resource with every kind of member."""

    def __init__(self) -> None:
        self.threads: list[str] = []
        self.stream_closed = threading.Event()
        self.exited_with: list[type[BaseException] | None] = []

    async def fetch(self, widget_id: str, *, timeout: float | None = None) -> Payment:
        """Get a widget."""
        self.threads.append(threading.current_thread().name)
        raise LookupError(widget_id)

    async def stream(
        self, count: int, *, label: str = "w", timeout: float | None = None
    ) -> AsyncIterator[str]:
        """Yield `count` labels, one loop step each."""
        try:
            for i in range(count):
                self.threads.append(threading.current_thread().name)
                await asyncio.sleep(0)
                yield f"{label}{i}"
        finally:
            self.stream_closed.set()

    @asynccontextmanager
    async def hold(self, name: str) -> AsyncIterator[str]:
        """Hold `name` for the duration of the block."""
        self.threads.append(threading.current_thread().name)
        try:
            yield name.upper()
        except BaseException as exc:
            self.exited_with.append(type(exc))
            raise
        self.exited_with.append(None)

    def describe(self, widget_id: str, *, verbose: bool = False) -> str:
        """No I/O: delegated directly."""
        return f"widget {widget_id}{'!' if verbose else ''}"

    @property
    def kind(self) -> str:
        """A property."""
        return "widget"


def _load(tmp_path: Path, text: str) -> ModuleType:
    path = tmp_path / "widgets_sync.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location("widgets_sync", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_kind_of_member_is_mirrored(tmp_path: Path) -> None:
    text = render_resource_module("_widgets", [AsyncWidgets], {"AsyncWidgets": "widgets"})
    assert "def fetch(self, widget_id: str, *, timeout: float | None = None) -> Payment:" in text
    assert '        self, count: int, *, label: str = "w", timeout: float | None = None\n' in text
    assert "    ) -> Iterator[str]:\n" in text
    assert "def hold(self, name: str) -> AbstractContextManager[str]:" in text
    assert '"""Widgets of the `Purse`: a stand-in resource' in text  # names swapped in docs
    assert (
        "from collections.abc import Iterator\nfrom contextlib import AbstractContextManager\n"
        in text
    )
    assert "return self._root._current().widgets.describe(widget_id, verbose=verbose)" in text
    _ruff_clean(text, "resources/_widgets.py")
    sync_module = _load(tmp_path, text)
    stream = inspect.signature(sync_module.Widgets.stream)
    assert stream.return_annotation == "Iterator[str]"
    assert list(stream.parameters) == ["self", "count", "label", "timeout"]

    with purse_sync.Purse(client_id="c", client_secret="s", api_key="k") as purse:
        widgets = AsyncWidgets()
        purse._current().widgets = widgets  # type: ignore[attr-defined]
        twin = sync_module.Widgets(purse)

        with pytest.raises(LookupError, match="w-1"):
            twin.fetch("w-1")
        assert list(twin.stream(3, label="x")) == ["x0", "x1", "x2"]
        assert widgets.stream_closed.is_set()

        widgets.stream_closed.clear()
        early = twin.stream(100)
        assert next(early) == "w0"
        early.close()  # leaving early closes the async generator on the loop
        assert widgets.stream_closed.is_set()

        with twin.hold("abc") as held:
            assert held == "ABC"
        with pytest.raises(KeyError), twin.hold("abc"):
            raise KeyError("inside")
        assert widgets.exited_with == [None, KeyError]

        assert twin.describe("w-2", verbose=True) == "widget w-2!"
        assert twin.kind == "widget"
        assert set(widgets.threads) == {"purse-sync-loop"}


class AsyncOddities:
    """Members the generator cannot mirror."""

    LIMIT = 3

    async def fetch(self) -> None:
        """Fine."""


class AsyncDefaults:
    async def fetch(self, *, when: object = object()) -> None:
        """A default with no literal form."""


@pytest.mark.parametrize(
    ("cls", "message"),
    [(AsyncOddities, "LIMIT is public"), (AsyncDefaults, "default of when")],
)
def test_what_cannot_be_mirrored_stops_the_generator(cls: type[object], message: str) -> None:
    with pytest.raises(GenerationError, match=message):
        render_resource_module("_odd", [cls], {cls.__name__: "odd"})


class AsyncLeaky:
    async def sibling(self) -> AsyncWidgets:
        """Returns an async object: a sync caller could not use it."""
        return AsyncWidgets()

    async def payments(self) -> AsyncPayments:
        """Same, with a purse_async resource class."""
        raise NotImplementedError


@pytest.mark.parametrize("member", ["sibling", "payments"])
def test_async_objects_cannot_leak_through_the_facade(member: str) -> None:
    leaky = type("AsyncLeaky", (), {member: AsyncLeaky.__dict__[member]})
    leaky.__module__ = __name__
    attrs = {"AsyncLeaky": "leaky", "AsyncWidgets": "widgets"}
    with pytest.raises(GenerationError, match="passes an async object"):
        render_resource_module("_leaky", [leaky, AsyncWidgets], attrs)


def test_async_only_parameters_are_left_out_of_the_sync_client(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # http_session takes an aiohttp session, which the bridge loop could not use.
    assert set(_generate.ASYNC_ONLY_PARAMETERS) == {"http_session"}
    async_params = list(inspect.signature(AsyncPurse).parameters)
    expected = [p for p in async_params if p not in _generate.ASYNC_ONLY_PARAMETERS]
    assert list(inspect.signature(purse_sync.Purse).parameters) == expected
    text = render_client()
    assert "http_session:" not in text and "http_session=" not in text

    monkeypatch.setattr(_generate, "ASYNC_ONLY_PARAMETERS", frozenset({"no_such_option"}))
    with pytest.raises(GenerationError, match="no_such_option"):
        _generate.render_client()
    # Leaving out a parameter with a real default would change what the sync client does.
    monkeypatch.setattr(_generate, "ASYNC_ONLY_PARAMETERS", frozenset({"timeout"}))
    with pytest.raises(GenerationError, match="timeout must be keyword-only, defaulting to None"):
        _generate.render_client()


# -- wrappers returned by properties (with_raw_response), derived clients, the bridge's bound ---


class AsyncGadgets:
    """Gadgets: a stand-in resource with a raw-response wrapper."""

    @property
    def with_raw_response(self) -> AsyncGadgetsWithRawResponse:
        """These methods returning an `APIResponse`."""
        return AsyncGadgetsWithRawResponse(self)

    async def fetch(
        self, gadget_id: str, *, timeout: float | None = None, deadline: float | None = None
    ) -> Payment:
        """Get a gadget."""
        raise LookupError(gadget_id)


class AsyncGadgetsWithRawResponse(AsyncRawResponses[AsyncGadgets]):  # type: ignore[type-var]
    """`purse.gadgets.with_raw_response`."""

    fetch = raw_response(AsyncGadgets.fetch)  # type: ignore[type-var]


def test_a_property_returning_a_wrapper_gets_a_blocking_twin_of_it(tmp_path: Path) -> None:
    text = render_resource_module("_gadgets", [AsyncGadgets], {"AsyncGadgets": "gadgets"})
    assert '__all__ = ["Gadgets", "GadgetsWithRawResponse"]' in text
    assert "    def with_raw_response(self) -> GadgetsWithRawResponse:\n" in text
    assert "        return GadgetsWithRawResponse(self._root)\n" in text
    assert "class GadgetsWithRawResponse:\n" in text
    assert "from purse_async import APIResponse, Payment\n" in text  # resolved, imported
    assert ") -> APIResponse[Payment]:\n" in text
    # The wrapper's methods run on the loop through the same attribute path, and the bridge
    # waits as long as the call's deadline (purse_async enforces it).
    squashed = "".join(text.split()).replace(",)", ")")  # whatever the line breaks
    assert (
        "returnself._root._run(lambdac:c.gadgets.with_raw_response.fetch("
        "gadget_id,timeout=timeout,deadline=deadline),deadline)"
    ) in squashed
    assert (
        "returnself._root._run(lambdac:c.gadgets.fetch("
        "gadget_id,timeout=timeout,deadline=deadline),deadline)"
    ) in squashed
    _ruff_clean(text, "resources/_gadgets.py")
    module = _load(tmp_path, text)
    twin = inspect.signature(module.GadgetsWithRawResponse.fetch)
    assert list(twin.parameters) == ["self", "gadget_id", "timeout", "deadline"]
    assert twin.return_annotation == "APIResponse[Payment]"


def test_a_method_without_deadline_leaves_the_bridge_unbounded() -> None:
    text = render_resource_module("_widgets", [AsyncWidgets], {"AsyncWidgets": "widgets"})
    # `timeout` bounds one attempt: it is not what the bridge waits for.
    squashed = "".join(text.split()).replace(",)", ")")
    assert "lambdac:c.widgets.fetch(widget_id,timeout=timeout),None)" in squashed


def test_with_options_makes_a_derived_sync_client() -> None:
    text = render_client()
    assert "    def with_options(self, **overrides: Any) -> Purse:\n" in text
    assert "        return _DerivedPurse(self, lambda c: c.with_options(**overrides))\n" in text
    assert "class _DerivedPurse(Purse):\n" in text
    assert "        return self._derive(self._parent._current())\n" in text
    _ruff_clean(text, "_client.py")
