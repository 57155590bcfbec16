"""Every code block of the documentation runs: docs/*.md and README.md, against the sandbox.

The convention (what a page's author needs to know):

- Every ```python block runs, in page order, in one namespace per page (a later block sees
  what an earlier one defined), on one event loop: top-level `await`, `async with` and
  `async for` work. A block with top-level `await` runs on the loop; any other block runs in a
  worker thread, so blocking `purse_sync` calls work as written.
- The embedded sandbox stands in for Purse: a fresh `Sandbox` per page, the `"sandbox"` and
  `"production"` environments pointed at it, the `PURSE_*` variables set to its address and to
  the placeholder credentials `"..."` (which it accepts), so `AsyncPurse.from_env()`,
  `purse_sync.Purse.from_env()` and `AsyncPurse(client_id="...", ...)` all reach it. The page's
  namespace starts with `sandbox` (that Sandbox) and `purse` (an `AsyncPurse.from_env()`),
  and `purse` is open at the start of every block: a block that closed it (`async with ...
  as purse`, `with ... as purse`) leaves the next one a fresh client of the same face.
- A block that defines a top-level `test_*` function is a pytest test module: the test writes
  it into a fresh project (one directory per page, `asyncio_mode = "auto"` unless the page
  gives its own `pyproject.toml`) and runs pytest there, with the SDK's plugin as installed.
- Markers, an HTML comment on the line(s) right before the block (invisible once rendered):
  - `<!-- not-run: REASON -->`: the block is compiled, and its framework-free parts are
    checked instead (SDK and standard-library imports are executed, `purse_async.X` /
    `purse_sync.X` names must exist): for framework snippets (Django views, FastAPI apps).
  - `<!-- setup: CODE -->` (or `<!-- setup` + lines of code + `-->`): hidden Python run just
    before the block, in the page's namespace (top-level `await` allowed): for the names a
    fragment takes for granted (`payment_id`, a request's body). Setups may use
    `await docs_pay(card=MagicCards..., amount=..., currency=..., reference=...)`: a
    `Payment` made as a shopper makes one (a session paid on the sandbox's hosted page).
  - `<!-- file: NAME -->`: in a page's pytest project, the block is the file NAME (a
    `conftest.py`, a `pyproject.toml`) instead of a test module of its own.
  - `<!-- needs: MODULE[, MODULE] -->`: the block runs when those modules are installed (the
    `dev` extra installs FastAPI and Django), and is treated as `not-run` otherwise.
  Any other comment right before a python block fails the test (a misspelt marker).
- Every python block, run or not, is also checked statically: `purse_async.X` and
  `purse_sync.X` must exist, and calls like `<client>.payments.capture(...)`,
  `<resource>.with_raw_response.<method>(...)`, `AsyncPurse(...)`, `Purse(...)`,
  `from_env(...)` and `with_options(...)` may only pass keyword arguments the SDK accepts.
- ```toml blocks are parsed (Python 3.11+). Shell blocks are not run.
"""

from __future__ import annotations

import ast
import asyncio
import builtins
import functools
import importlib
import importlib.util
import inspect
import os
import re
import subprocess
import sys
import textwrap
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import purse_async
import purse_sync
from purse_async import _config
from purse_async.testing import MagicCards, Sandbox
from purse_async.testing._state import Credentials

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = [*sorted(DOCS.glob("*.md")), ROOT / "README.md"]
PLACEHOLDER = "..."
MARKERS = ("not-run", "needs", "setup", "file")

FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`]*?)[ \t]*$")


@dataclass
class Block:
    path: Path
    line: int  # 1-based line of the block's first code line in the file
    lang: str
    code: str
    markers: dict[str, str] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    @property
    def is_test_module(self) -> bool:
        if self.lang != "python":
            return False
        tree = ast.parse(self.code)
        return any(
            isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.name.startswith("test_")
            for node in tree.body
        )


MARKER = re.compile(r"(?P<word>[\w-]+)[ \t]*:?(?P<rest>.*)", re.S)


def _markers(lines: list[str], fence_index: int, path: Path) -> dict[str, str]:
    """The marker comments that end on the non-blank lines right before a fence."""
    text = "\n".join(lines[:fence_index]).rstrip()
    found: dict[str, str] = {}
    while text.endswith("-->"):
        start = text.rfind("<!--")
        assert start != -1, f"{path}: unbalanced HTML comment before line {fence_index + 1}"
        match = MARKER.match(text[start + 4 : -3].strip())
        assert match is not None, f"{path}: empty comment before line {fence_index + 1}"
        rest = match["rest"]
        # `<!-- setup` + lines of code + `-->`: keep the lines' indentation for dedent.
        found[match["word"]] = rest.strip("\n").rstrip() if rest.startswith("\n") else rest.strip()
        text = text[:start].rstrip()
    return found


def blocks(path: Path) -> list[Block]:
    """The fenced code blocks of a Markdown file, with their markers."""
    lines = path.read_text(encoding="utf-8").split("\n")
    found: list[Block] = []
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if match is None:
            i += 1
            continue
        indent, fence = match["indent"], match["fence"]
        lang = (match["info"].split() or [""])[0].strip("{}.").lower()
        body: list[str] = []
        j = i + 1
        while j < len(lines):
            closing = lines[j].strip()
            if closing.startswith(fence) and set(closing) == {fence[0]}:
                break
            body.append(lines[j][len(indent) :] if lines[j].startswith(indent) else lines[j])
            j += 1
        if lang in ("py", "python3"):
            lang = "python"
        found.append(Block(path, i + 2, lang, "\n".join(body) + "\n", _markers(lines, i, path)))
        i = j + 1
    return found


def python_blocks(path: Path) -> list[Block]:
    return [b for b in blocks(path) if b.lang == "python"]


# -- static checks (every python block) ---------------------------------------------------


def _resource_classes() -> dict[str, list[type]]:
    """Resource attribute name -> its classes on both faces (`payments` -> AsyncPayments...)."""
    found: dict[str, list[type]] = {}
    for client in (purse_async.AsyncPurse, purse_sync.Purse):
        hints = typing.get_type_hints(client)
        for name, cls in hints.items():
            if isinstance(cls, type) and not name.startswith("_"):
                found.setdefault(name, []).append(cls)
    return found


RESOURCES = _resource_classes()
CLIENT_CALLS = {"AsyncPurse", "Purse", "from_env", "with_options"}


def _accepts(func: Any, keyword: str) -> bool:
    try:
        signature = func if isinstance(func, inspect.Signature) else inspect.signature(func)
    except (TypeError, ValueError):  # pragma: no cover - builtins
        return True
    params = signature.parameters
    if keyword in params:
        return True
    return any(p.kind is p.VAR_KEYWORD for p in params.values())


def _client_targets(func: ast.expr) -> list[Any]:
    """What a call of `AsyncPurse(...)`, `Purse(...)`, `X.from_env(...)` or
    `X.with_options(...)` passes its keywords to, on the face the code names (both faces when
    the receiver is a variable: then either may accept them)."""
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    receiver = ast.unparse(func.value) if isinstance(func, ast.Attribute) else ""
    faces = {"AsyncPurse": purse_async.AsyncPurse, "Purse": purse_sync.Purse}
    if name in faces:
        return [faces[name].__init__]
    named = [cls for key, cls in faces.items() if receiver.split(".")[-1] == key]
    targets: list[Any] = []
    for client in named or faces.values():
        if name == "from_env":
            # from_env(**overrides) passes them to the constructor.
            targets.append(client.__init__)
        elif name == "with_options" and hasattr(client, name):
            # with_options(**overrides) takes the names purse_async lists (on both faces).
            allowed = getattr(sys.modules[purse_async.AsyncPurse.__module__], "WITH_OPTIONS", None)
            if allowed is None:
                targets.append(client.with_options)
            else:
                kind = inspect.Parameter.KEYWORD_ONLY
                targets.append(inspect.Signature([inspect.Parameter(n, kind) for n in allowed]))
    return targets


def static_problems(block: Block) -> list[str]:
    """Keyword arguments the SDK does not accept; `purse_async.X` / `purse_sync.X` that do not
    exist. Names only: what the code does is for running it."""
    tree = ast.parse(block.code)
    problems: list[str] = []
    modules = {"purse_async": purse_async, "purse_sync": purse_sync}
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in modules
            and not hasattr(modules[node.value.id], node.attr)
        ):
            try:
                importlib.import_module(f"{node.value.id}.{node.attr}")
            except ImportError:
                problems.append(f"line {node.lineno}: {node.value.id}.{node.attr} does not exist")
        if not isinstance(node, ast.Call):
            continue
        keywords = [k.arg for k in node.keywords if k.arg is not None]
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if name in CLIENT_CALLS:
            targets = _client_targets(func)
            for kw in keywords:
                if targets and not any(_accepts(target, kw) for target in targets):
                    problems.append(f"line {node.lineno}: {name}() takes no {kw}=")
            continue
        if not isinstance(func, ast.Attribute):
            continue
        # <anything>.<resource>[.with_raw_response].<method>(...)
        owner = func.value
        if isinstance(owner, ast.Attribute) and owner.attr == "with_raw_response":
            owner = owner.value
        if not (isinstance(owner, ast.Attribute) and owner.attr in RESOURCES):
            continue
        for cls in RESOURCES[owner.attr]:
            method = getattr(cls, func.attr, None)
            if method is None:
                problems.append(f"line {node.lineno}: {cls.__name__}.{func.attr} does not exist")
                continue
            for kw in keywords:
                if not _accepts(method, kw):
                    problems.append(
                        f"line {node.lineno}: {cls.__name__}.{func.attr}() takes no {kw}="
                    )
    return sorted(set(problems))


def _import_framework_free_parts(block: Block) -> None:
    """Run a not-run block's imports of the SDK and the standard library."""
    tree = ast.parse(block.code)
    stdlib = getattr(sys, "stdlib_module_names", frozenset())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots = [alias.name.split(".")[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots = [node.module.split(".")[0]]
        else:
            continue
        if all(root in ("purse_async", "purse_sync") or root in stdlib for root in roots):
            statement = ast.Module(body=[node], type_ignores=[])
            exec(compile(statement, block.where, "exec"), {})


# -- running a page -----------------------------------------------------------------------


def _compile(block: Block) -> types.CodeType:
    # Padded so that line numbers in tracebacks are the Markdown file's own.
    return compile(
        "\n" * (block.line - 1) + block.code,
        str(block.path),
        "exec",
        flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT,
        dont_inherit=True,
    )


def _compile_setup(block: Block) -> types.CodeType:
    return compile(
        textwrap.dedent(block.markers["setup"]),
        f"<setup of the block at {block.where}>",
        "exec",
        flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT,
        dont_inherit=True,
    )


async def _run(code: types.CodeType, namespace: dict[str, Any]) -> None:
    if code.co_flags & inspect.CO_COROUTINE:
        await asyncio.wait_for(eval(code, namespace), 60)
    else:
        await asyncio.to_thread(exec, code, namespace)


def _missing(needs: str | None) -> list[str]:
    """The modules a `<!-- needs: a, b -->` block names that are not installed."""
    names = [name.strip() for name in (needs or "").split(",") if name.strip()]
    return [name for name in names if importlib.util.find_spec(name) is None]


def _clients(namespace: dict[str, Any]) -> list[Any]:
    return [
        value
        for value in namespace.values()
        if isinstance(value, (purse_async.AsyncPurse, purse_sync.Purse))
    ]


async def _close_clients(clients: list[Any]) -> None:
    for client in clients:
        if isinstance(client, purse_async.AsyncPurse):
            if not client.is_closed:
                await client.aclose()
        else:
            await asyncio.to_thread(client.close)


async def _pay(
    sandbox: Sandbox,
    card: str = MagicCards.AUTHORIZED,
    *,
    amount: int = 12000,
    currency: str = "EUR",
    reference: str | None = None,
) -> purse_async.Payment:
    """For setups: a payment made the way a shopper makes one (a session paid on the sandbox's
    hosted page), read back through the SDK."""
    async with sandbox.client() as purse:
        session = await purse.client_sessions.create(
            amount=amount,
            currency=currency,
            shopper_redirection_url="https://shop.example/payment/return",
            order={"reference": reference or f"DOCS-{len(sandbox.state.sessions) + 1}"},
        )
        redirect = await purse.redirections.verify(await sandbox.checkout(session.id, card=card))
        assert redirect.payment_id is not None
        return await purse.payments.retrieve(redirect.payment_id)


async def _reopen_purse(namespace: dict[str, Any]) -> None:
    """`purse` is open at the start of every block: an earlier block's `async with ... as
    purse` (or `with`) closed it, so the next one gets a fresh client of the same face."""
    purse = namespace.get("purse")
    if isinstance(purse, purse_async.AsyncPurse) and purse.is_closed:
        namespace["purse"] = purse_async.AsyncPurse.from_env()
    elif isinstance(purse, purse_sync.Purse) and purse.is_closed:
        namespace["purse"] = await asyncio.to_thread(purse_sync.Purse.from_env)


@pytest.fixture
def placeholder_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The `PURSE_*` variables a page's examples see: the placeholders, nothing else."""
    for name in list(os.environ):
        if name.startswith("PURSE_"):
            monkeypatch.delenv(name)
    for name in ("CLIENT_ID", "CLIENT_SECRET", "API_KEY", "ENTITY_ID"):
        monkeypatch.setenv(f"PURSE_{name}", PLACEHOLDER)
    monkeypatch.setenv("PURSE_ENVIRONMENT", "sandbox")


def _stand_in() -> Sandbox:
    """A Sandbox that accepts the placeholder credentials (not started yet)."""
    sandbox = Sandbox()
    sandbox.state.credentials = Credentials(
        client_id=PLACEHOLDER,
        client_secret=PLACEHOLDER,
        api_key=PLACEHOLDER,
        entity_id=PLACEHOLDER,
    )
    return sandbox


def _point_environments_at(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    for environment in list(_config.ENVIRONMENTS):
        monkeypatch.setitem(_config.ENVIRONMENTS, environment, sandbox.base_url)  # type: ignore[index]


PAGES_WITH_CODE = [p for p in PAGES if any(not b.is_test_module for b in python_blocks(p))]


# Starlette >= 1.x would rather its TestClient ran on httpx2: the page's advice stands either way.
@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient` is deprecated")
@pytest.mark.parametrize("page", PAGES_WITH_CODE, ids=lambda p: str(p.relative_to(ROOT)))
@pytest.mark.usefixtures("placeholder_env")
async def test_page_code_runs(page: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType(f"docs_{page.stem.replace('-', '_').lower()}")
    module.__file__ = str(page)
    namespace = module.__dict__
    namespace["__builtins__"] = builtins
    monkeypatch.setitem(sys.modules, module.__name__, module)
    async with _stand_in() as sandbox:
        _point_environments_at(sandbox, monkeypatch)
        namespace["sandbox"] = sandbox
        namespace["purse"] = purse_async.AsyncPurse.from_env()
        namespace["docs_pay"] = functools.partial(_pay, sandbox)
        clients: list[Any] = []  # every client a block left in the namespace, closed at the end
        try:
            for block in python_blocks(page):
                if block.is_test_module or "file" in block.markers:
                    continue  # run by test_pytest_blocks_pass
                problems = static_problems(block)
                assert not problems, f"{block.where}: " + "; ".join(problems)
                if "not-run" in block.markers or _missing(block.markers.get("needs")):
                    _compile(block)
                    _import_framework_free_parts(block)
                    continue
                await _reopen_purse(namespace)
                if "setup" in block.markers:
                    await _run(_compile_setup(block), namespace)
                try:
                    await _run(_compile(block), namespace)
                except Exception as exc:
                    if hasattr(exc, "add_note"):
                        exc.add_note(f"in the code block at {block.where}")
                    raise
                finally:
                    clients += [c for c in _clients(namespace) if c not in clients]
        finally:
            await _close_clients([*clients, *_clients(namespace)])


def test_pytest_blocks_pass(tmp_path: Path) -> None:
    """The blocks that are test modules pass under pytest, with the installed plugin."""
    expected = 0
    for page in PAGES:
        project = tmp_path / page.stem.replace("-", "_").lower()
        for block in blocks(page):
            name = block.markers.get("file")
            if name is None and not block.is_test_module:
                continue
            if block.lang == "python":
                problems = static_problems(block)
                assert not problems, f"{block.where}: " + "; ".join(problems)
            if name is None:
                name = f"test_docs_{project.name}_{block.line}.py"
                expected += sum(
                    isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                    and node.name.startswith("test_")
                    for node in ast.parse(block.code).body
                )
            project.mkdir(exist_ok=True)
            (project / name).write_text(block.code, encoding="utf-8")
        if project.exists() and not any(
            (project / config).exists() for config in ("pyproject.toml", "pytest.ini")
        ):
            (project / "pytest.ini").write_text(
                "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
            )
    if not expected:
        pytest.skip("no page has a test module")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PURSE_", "PYTEST_"))}
    projects = sorted(p for p in tmp_path.iterdir() if p.is_dir())
    # One pytest per page's project (each has its own configuration), all at once.
    runs = {
        project.name: subprocess.Popen(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
            cwd=project,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for project in projects
    }
    outputs = []
    for name, run in runs.items():
        output, _ = run.communicate(timeout=120)
        outputs.append(output)
        assert run.returncode == 0, f"{name}: pytest failed\n{output}"
    passed = sum(int(m) for m in re.findall(r"(\d+) passed", "\n".join(outputs)))
    assert passed >= expected, "\n".join(outputs)
    assert " skipped" not in "\n".join(outputs), "\n".join(outputs)


def test_markers_are_known() -> None:
    for page in PAGES:
        for block in python_blocks(page):
            unknown = set(block.markers) - set(MARKERS)
            assert not unknown, f"{block.where}: unknown marker(s) {sorted(unknown)}"
            assert block.markers.get("not-run", "-"), f"{block.where}: not-run needs a reason"


def test_toml_blocks_parse() -> None:
    tomllib = pytest.importorskip("tomllib")
    for page in PAGES:
        for block in blocks(page):
            if block.lang == "toml":
                tomllib.loads(block.code)


# -- the convention itself, and references that must list everything ---------------------


def test_blocks_are_found(tmp_path: Path) -> None:
    assert len(python_blocks(ROOT / "README.md")) >= 3
    assert all(b.code.strip() for page in PAGES for b in python_blocks(page))
    page = tmp_path / "p.md"
    page.write_text(
        "x\n\n<!-- not-run: needs X -->\n```python\nimport x\n```\n\n"
        "1. item\n\n   ```py\n   a = 1\n   ```\n\n```bash\nls\n```\n"
    )
    found = blocks(page)
    assert [(b.lang, b.line, b.code, b.markers) for b in found] == [
        ("python", 5, "import x\n", {"not-run": "needs X"}),
        ("python", 11, "a = 1\n", {}),
        ("bash", 15, "ls\n", {}),
    ]


def test_setup_marker_keeps_its_lines(tmp_path: Path) -> None:
    page = tmp_path / "p.md"
    page.write_text("<!-- setup\nx = 1\ny = 2\n-->\n```python\nprint(x + y)\n```\n")
    (block,) = blocks(page)
    assert block.markers == {"setup": "x = 1\ny = 2"}
    page.write_text("<!-- setup: x = 1 -->\n<!-- file: conftest.py -->\n```python\nx\n```\n")
    assert blocks(page)[0].markers == {"setup": "x = 1", "file": "conftest.py"}
    assert block.line == 6


def test_static_check_catches_unknown_keywords(tmp_path: Path) -> None:
    page = tmp_path / "p.md"
    page.write_text(
        "```python\nawait purse.payments.retrieve(pid, nope=1)\n"
        "purse_sync.Purse(colour='red')\npurse_async.NoSuchThing\n```\n"
    )
    problems = " ".join(static_problems(blocks(page)[0]))
    assert "AsyncPayments.retrieve() takes no nope=" in problems
    assert "Purse() takes no colour=" in problems
    assert "purse_async.NoSuchThing does not exist" in problems


def _nav() -> set[str]:
    text = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    nav = text[text.index("\nnav:") :]
    return set(re.findall(r"([\w./-]+\.md)\b", nav))


def test_every_page_is_in_the_nav() -> None:
    pages = {p.name for p in DOCS.glob("*.md")}
    nav = _nav()
    assert pages - nav == set(), "pages missing from mkdocs.yml's nav"
    assert nav - pages == set(), "mkdocs.yml's nav names pages that do not exist"


def test_configuration_reference_lists_every_argument_and_variable() -> None:
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    params = inspect.signature(purse_async.AsyncPurse.__init__).parameters
    missing = [name for name in params if name != "self" and f"`{name}`" not in text]
    assert not missing, f"docs/configuration.md does not document {missing}"
    sources = "\n".join(
        p.read_text(encoding="utf-8")
        for p in (ROOT / "purse_async").rglob("*.py")
        if "testing" not in p.parts
    )
    variables = set(re.findall(r"\"(PURSE_[A-Z_]+)\"", sources))
    assert variables, "no PURSE_* variable found in the sources"
    missing = sorted(v for v in variables if f"`{v}`" not in text)
    assert not missing, f"docs/configuration.md does not document {missing}"


def test_error_reference_lists_every_error() -> None:
    text = (DOCS / "errors.md").read_text(encoding="utf-8")
    errors = {
        name
        for module in (purse_async, purse_sync)
        for name in dir(module)
        if isinstance(getattr(module, name), type)
        and issubclass(getattr(module, name), purse_async.PurseError)
    }
    missing = sorted(name for name in errors if f"`{name}`" not in text)
    assert not missing, f"docs/errors.md does not document {missing}"
    # The tree drawn on the page is the one in purse_async/_errors.py's docstring.
    from purse_async import _errors

    doc = _errors.__doc__ or ""
    source_tree = textwrap.dedent(doc.split("::\n\n", 1)[1].split("\n\n", 1)[0]).strip()
    page_tree = next(b.code for b in blocks(DOCS / "errors.md") if b.lang == "text").strip()
    assert page_tree == source_tree


def test_sync_api_reference_lists_the_names_purse_sync_adds() -> None:
    """docs/api-sync.md documents what purse_sync adds (the rest is purse_async's, re-exported
    and documented on docs/api-async.md, which renders purse_async's `__all__` itself)."""
    text = (DOCS / "api-sync.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^ {8}- (\w+)$", text, re.M))
    own = set(purse_sync.__all__) - set(purse_async.__all__)
    assert listed == own
