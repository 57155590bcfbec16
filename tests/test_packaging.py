"""Packaging and start-up costs, as a user meets them.

- `import purse_async, purse_sync` loads neither PyJWT nor cryptography (they load on the first
  redirection check), nor the sandbox.
- `import purse_async` (and `from purse_async import AsyncPurse`) builds no model class, imports
  no cattrs and no retry machinery: they load on first use (benchmarks/README.md, "Import
  time"); the lazy names resolve, unpickle in a fresh process, and mypy sees them. The same
  holds for `import purse_sync` (and `from purse_sync import Purse`): its re-exports of
  purse_async's names are lazy and are purse_async's very objects, and its generated modules
  import the names they use only in annotations under `TYPE_CHECKING`.
- pytest's start-up (the plugin is an entry point, loaded by every run) imports no sandbox.
- The built wheel and sdist hold both packages, both `py.typed`, the plugin's entry point and
  the metadata; the wheel installed in a fresh venv, outside this repository, runs the demo
  with the runtime dependencies only, then the README's testing snippet, as written, with the
  `testing` extra (the `packaging` marker: it needs the package index; `-m "not packaging"`
  leaves it out).
"""

from __future__ import annotations

import ast
import base64
import json
import os
import pickle
import re
import subprocess
import sys
import tarfile
import textwrap
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("jwt", "cryptography", "aiohttp.web", "purse_async.testing")
#: At pytest's start-up the plugin module (purse_async.testing._plugin) itself is loaded.
SANDBOX = ("jwt", "cryptography", "aiohttp.web", "purse_async.testing._sandbox")
THIS_CHECKOUT = f"import sys; sys.path.insert(0, {str(ROOT)!r})"


def _clean_env() -> dict[str, str]:
    """This environment less what would point a child at this checkout or its settings."""
    drop = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTEST_ADDOPTS", "COVERAGE_PROCESS_START")
    return {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("PURSE_")}


def _loaded(
    python: str | os.PathLike[str], code: str, cwd: Path, prefixes: tuple[str, ...] = HEAVY
) -> list[str]:
    """The modules named by `prefixes` (HEAVY) loaded after running `code` in a fresh
    interpreter."""
    probe = "\n".join(
        [
            "import json, sys",
            textwrap.dedent(code).strip(),
            f"print(json.dumps(sorted(m for m in sys.modules if m.startswith({prefixes!r}))))",
        ]
    )
    out = subprocess.run(
        [os.fspath(python), "-c", probe],
        cwd=cwd,
        env=_clean_env(),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    loaded: list[str] = json.loads(out.strip().splitlines()[-1])
    return loaded


def test_import_loads_no_jwt_cryptography_or_sandbox(tmp_path: Path) -> None:
    code = f"{THIS_CHECKOUT}\nimport purse_async, purse_sync"
    assert _loaded(sys.executable, code, tmp_path) == []


def test_first_redirection_check_loads_jwt(tmp_path: Path) -> None:
    """The lazy import happens where it is needed."""
    header = base64.urlsafe_b64encode(b'{"alg":"RS256","kid":"k1"}').decode().rstrip("=")
    code = f"""
        from purse_async import _jws
        assert _jws.read_header("{header}.e30.c2ln") == ("RS256", "k1")
        """
    code = f"{THIS_CHECKOUT}\n{textwrap.dedent(code)}"
    assert {"jwt", "cryptography"} <= set(_loaded(sys.executable, code, tmp_path))


def test_pytest_start_up_imports_no_sandbox(tmp_path: Path) -> None:
    """The plugin is loaded by every pytest run where the SDK is installed: it must import the
    sandbox only when a test asks for a fixture."""
    (tmp_path / "conftest.py").write_text(
        f"import json, sys\nSANDBOX = {SANDBOX!r}\n"
        "print('LOADED', json.dumps(sorted(m for m in sys.modules if m.startswith(SANDBOX))))\n"
        "def pytest_configure(config):\n"
        "    print('PLUGIN', config.pluginmanager.has_plugin('purse_sandbox'))\n"
    )
    (tmp_path / "test_nothing.py").write_text("def test_nothing():\n    pass\n")
    env = _clean_env()
    env["PYTHONPATH"] = str(ROOT)  # this checkout's plugin, whatever is installed
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PLUGIN True" in result.stdout, result.stdout  # it is loaded...
    (line,) = [x for x in result.stdout.splitlines() if x.startswith("LOADED ")]
    assert json.loads(line.removeprefix("LOADED ")) == []  # ...and imported no sandbox


# -- what keeps `import purse_async` cheap ----------------------------------------------------

#: What `import purse_async` leaves for later: cattrs (the converter that explains a misfit and
#: unstructures, built on first use), every model module (building the attrs classes was half of
#: the import), the retry machinery (loaded by a client or `authorize_with_retry`), difflib.
DEFERRED = (
    "cattrs",
    "purse_async.models.",
    "purse_async._attempts",
    "purse_async._authorization_retry",
    "purse_async._declines",
    "purse_async.resources._authorize",
    "purse_async._endpoints",
    "difflib",
)
#: Loaded at import on purpose: the enums (cheap, and the client's modules compare statuses).
EAGER = {"purse_async.models._enums"}


@pytest.mark.parametrize(
    "code",
    [
        "import purse_async",
        "from purse_async import AsyncPurse",
        "import purse_sync",
        "from purse_sync import Purse",
    ],
)
def test_import_builds_no_model_and_loads_no_cattrs(code: str, tmp_path: Path) -> None:
    loaded = _loaded(sys.executable, f"{THIS_CHECKOUT}\n{code}", tmp_path, DEFERRED)
    assert set(loaded) - EAGER == set()


def test_lazy_names_resolve_in_a_fresh_process(tmp_path: Path) -> None:
    """Every public name of `purse_async` and `purse_async.models` is there on first use, as
    the very object its module defines; `dir()` lists them; a wrong name is an AttributeError."""
    code = f"""
        {THIS_CHECKOUT}
        import importlib
        import purse_async, purse_async.models as models
        for name in purse_async.__all__:
            value = getattr(purse_async, name)
            assert getattr(purse_async, name) is value, name
            if name in models.__all__:
                assert getattr(models, name) is value, name
        for module, names in models._MODULES.items():
            home = importlib.import_module(f"purse_async.models.{{module}}")
            for name in names:
                assert getattr(models, name) is getattr(home, name), name
        assert purse_async.Payment.__module__ == "purse_async.models.payment"
        assert set(purse_async.__all__) <= set(dir(purse_async))
        assert set(models.__all__) <= set(dir(models))
        for module, name in ((purse_async, "Paymnt"), (models, "Paymnt"), (purse_async, "payment")):
            try:
                getattr(module, name)
            except AttributeError:
                pass
            else:
                raise AssertionError(name)
        print("OK")
        """
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=tmp_path,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.stdout.strip() == "OK", out.stderr


def _type_checking_imports(path: Path) -> dict[str, set[str]]:
    """The names imported under `if TYPE_CHECKING:` in a module, by relative module."""
    found: dict[str, set[str]] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for item in node.body:
                assert isinstance(item, ast.ImportFrom), ast.unparse(item)
                module = "." * item.level + (item.module or "")
                found.setdefault(module, set()).update(a.name for a in item.names)
    return found


def test_mypy_sees_what_the_lazy_names_resolve_to() -> None:
    """The `if TYPE_CHECKING:` imports (what mypy and IDEs read) are the lazy tables' twins: a
    model added to one list and not the other would type-check and fail at run time, or the
    reverse."""
    import purse_async
    import purse_async.models as models

    typed = _type_checking_imports(ROOT / "purse_async" / "models" / "__init__.py")
    assert typed == {f".{m}": set(names) for m, names in models._MODULES.items()}
    enums = {n for n in models.__all__ if n not in models._HOME}
    assert all(isinstance(getattr(models, n), type) for n in enums)
    assert set(models._HOME) | enums == set(models.__all__)

    typed = _type_checking_imports(ROOT / "purse_async" / "__init__.py")
    names = set().union(*typed.values())
    lazy = set(purse_async._LAZY) | (set(purse_async.__all__) & set(models._HOME))
    assert lazy <= names
    for name, module in purse_async._LAZY.items():
        assert name in typed[module], name


def test_models_unpickle_in_a_fresh_process(tmp_path: Path) -> None:
    """Pickles name a model's module, not the lazy table: a process that never touched the
    name reads them back (a task queue's worker, a cache)."""
    from purse_async import DeclineKind, ItemLine, Order, ValidationError
    from purse_async._converter import structure
    from purse_async.models import Payment

    seed = json.loads((ROOT / "tests" / "data" / "seed_get_payment.json").read_text())
    values = [
        Order(reference="r-1", net_amount=1250, item_lines=(ItemLine(name="tea", quantity=2),)),
        structure(seed, Payment),
        DeclineKind.SOFT,
        ValidationError("bad", field="amount", value=-1),
    ]
    blob = base64.b64encode(pickle.dumps(values)).decode()
    code = f"""
        {THIS_CHECKOUT}
        import base64, pickle, sys
        values = pickle.loads(base64.b64decode({blob!r}))
        print("|".join(repr(v) for v in values[:3]))
        print(values[3].field, values[3].value)
        """
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=tmp_path,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.splitlines()
    assert out == ["|".join(repr(v) for v in values[:3]), "amount -1"]


def test_purse_sync_reexports_are_purse_async_objects(tmp_path: Path) -> None:
    """Every purse_async name purse_sync re-exports (lazily) is purse_async's very object, so
    one `except` or `isinstance` serves both faces; `from purse_sync import *` and `dir()` see
    them all; the sync twins stay purse_sync's own; a wrong name is an AttributeError."""
    code = f"""
        {THIS_CHECKOUT}
        import purse_sync
        import purse_async
        names = [n for n in purse_async.__all__ if not n.startswith("Async")]
        for name in names:
            assert getattr(purse_sync, name) is getattr(purse_async, name), name
        own = set(purse_sync.__all__) - set(names)
        assert own == {{"Purse", "BlockingCallWarning", "BridgeError"}} | {{
            n.removeprefix("Async") for n in purse_async.__all__ if n.startswith("Async")
        }}, own
        for name in own:
            assert getattr(purse_sync, name).__module__.startswith("purse_sync."), name
        star = {{}}
        exec("from purse_sync import *", star)
        assert set(purse_sync.__all__) <= set(star), set(purse_sync.__all__) - set(star)
        assert all(star[n] is getattr(purse_sync, n) for n in purse_sync.__all__)
        assert set(purse_sync.__all__) <= set(dir(purse_sync))
        for name in ("Paymnt", "AsyncPurse", "AsyncPayments", "_LAZY"):
            try:
                getattr(purse_sync, name)
            except AttributeError:
                pass
            else:
                raise AssertionError(name)
        print("OK")
        """
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=tmp_path,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.stdout.strip() == "OK", out.stderr


def test_mypy_sees_what_purse_sync_reexports() -> None:
    """purse_sync/__init__.py's `if TYPE_CHECKING:` block (what mypy and IDEs read) imports
    from purse_async exactly the names `__getattr__` resolves there."""
    import purse_async
    import purse_sync

    typed = _type_checking_imports(ROOT / "purse_sync" / "__init__.py")
    assert set(typed) == {"purse_async"}
    assert typed["purse_async"] == set(purse_sync.__all__) & set(purse_async.__all__)


def _annotation_nodes(tree: ast.AST) -> set[int]:
    """The ids of every node inside an annotation (never evaluated: `from __future__ import
    annotations`)."""
    found: set[int] = set()
    for node in ast.walk(tree):
        annotations: list[ast.expr | None] = []
        if isinstance(node, ast.arg):
            annotations.append(node.annotation)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            annotations.append(node.returns)
        elif isinstance(node, ast.AnnAssign):
            annotations.append(node.annotation)
        for annotation in annotations:
            if annotation is not None:
                found.update(id(n) for n in ast.walk(annotation))
    return found


GENERATED = sorted(
    path.relative_to(ROOT / "purse_sync").as_posix()
    for path in [*(ROOT / "purse_sync").glob("*.py"), *(ROOT / "purse_sync").glob("resources/*.py")]
    if path.read_text(encoding="utf-8").startswith("# GENERATED")
)


@pytest.mark.parametrize("rel", [r for r in GENERATED if r != "__init__.py"])
def test_generated_modules_import_annotation_only_names_for_type_checking(rel: str) -> None:
    """A generated module imports purse_async's names under `TYPE_CHECKING` (importing them
    would build the model classes), and uses those names only in annotations: one used at run
    time would be a NameError there."""
    tree = ast.parse((ROOT / "purse_sync" / rel).read_text(encoding="utf-8"))
    typed = set().union(*_type_checking_imports(ROOT / "purse_sync" / rel).values())
    if typed:
        future = {a.name for n in tree.body if isinstance(n, ast.ImportFrom) for a in n.names}
        assert "annotations" in future
    eager = {
        (node.module, alias.name)
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("purse_async")
        for alias in node.names
    }
    in_annotations = _annotation_nodes(tree)
    used_at_run_time = {
        node.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and id(node) not in in_annotations
    }
    assert typed & used_at_run_time == set()
    # What stays eager is what the code uses at run time (e.g. `Settings` in `from_env`).
    assert {name for _, name in eager} <= used_at_run_time


def test_models_pickled_via_purse_sync_unpickle_in_a_fresh_process(tmp_path: Path) -> None:
    """A model or error reached through purse_sync pickles as purse_async's class (its defining
    module): a sync-only worker that imported just purse_sync reads it back as the same class."""
    import purse_sync

    values = [
        purse_sync.Order(reference="r-2", net_amount=900),
        purse_sync.DeclineKind.HARD,
        purse_sync.ValidationError("bad", field="currency", value="EURO"),
    ]
    blob = base64.b64encode(pickle.dumps(values)).decode()
    code = f"""
        {THIS_CHECKOUT}
        import base64, pickle
        import purse_sync
        order, kind, error = pickle.loads(base64.b64decode({blob!r}))
        assert type(order) is purse_sync.Order and type(kind) is purse_sync.DeclineKind
        assert isinstance(error, purse_sync.ValidationError)
        print(repr(order), kind.name, error.field, error.value)
        """
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=tmp_path,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.stdout.split("\n")[0] == f"{values[0]!r} HARD currency EURO", out.stderr


def test_converter_is_built_on_the_first_misfit(tmp_path: Path) -> None:
    """An answer that fits never loads cattrs; the first misfit builds the converter, which
    names the JSON path (nothing falls back silently)."""
    code = f"""
        {THIS_CHECKOUT}
        import sys
        from purse_async import DecodeError, Order
        from purse_async._converter import structure

        assert structure({{"reference": "r", "net_amount": 5}}, Order).net_amount == 5
        print("cattrs" in sys.modules)
        try:
            structure({{"reference": "r", "net_amount": "5"}}, Order)
        except DecodeError as exc:
            print(exc.path)
        print("cattrs" in sys.modules)
        """
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=tmp_path,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.split()
    assert out == ["False", "$.net_amount", "True"]


def test_import_time_benchmark_runs() -> None:
    """`benchmarks/import_time.py` still runs (no timing asserted: see benchmarks/README.md)."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "import_time.py"), "--quick"],
        cwd=ROOT,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "import purse_async / import aiohttp:" in done.stdout


def test_floors_are_the_documented_lowest_versions() -> None:
    """Each floor in pyproject.toml (runtime and `testing`) is declared `name>=version`, which
    `nox -s lowest` installs as `name==version`, and docs/testing.md names that pin."""
    try:
        import tomllib
    except ImportError:  # Python 3.10 (mypy brings tomli)
        import tomli as tomllib
    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    page = (ROOT / "docs" / "testing.md").read_text(encoding="utf-8")
    required = [*project["dependencies"], *project["optional-dependencies"]["testing"]]
    for text in required:
        (spec,) = Requirement(text).specifier
        assert spec.operator == ">=", text
        assert f"`{Requirement(text).name}=={spec.version}`" in page, text
    assert "aiohttp>=3.14.0" not in required  # 3.14.0 to 3.14.2 carry advisories


# -- the built distributions ----------------------------------------------------------------


def _readme_testing_snippet() -> tuple[str, str]:
    """The README's `pyproject.toml` settings and test module, under "Testing your own
    integration", exactly as written."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Testing your own integration\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"^```(\w+)\n(.*?)^```", section, re.S | re.M)
    toml = next(code for lang, code in blocks if lang == "toml")
    python = next(code for lang, code in blocks if lang == "python")
    assert "pip install 'purse-sdk[testing]'" in section
    return toml, python


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """`python -m build`: the sdist, and the wheel built from it."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
        env=_clean_env(),
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    (wheel,) = out.glob("*.whl")
    (sdist,) = out.glob("*.tar.gz")
    return {"wheel": wheel, "sdist": sdist}


@pytest.mark.packaging
@pytest.mark.timeout(600)
def test_distributions_hold_both_packages_and_the_metadata(dists: dict[str, Path]) -> None:
    with zipfile.ZipFile(dists["wheel"]) as wheel:
        names = set(wheel.namelist())
        (meta_name,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        (eps_name,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        metadata = Parser().parsestr(wheel.read(meta_name).decode())
        entry_points = wheel.read(eps_name).decode()
    for required in (
        "purse_async/__init__.py",
        "purse_async/py.typed",
        "purse_async/testing/_plugin.py",
        "purse_sync/__init__.py",
        "purse_sync/py.typed",
    ):
        assert required in names
    assert not [n for n in names if n.startswith(("tests/", "examples/", "benchmarks/"))]
    assert [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
    assert "[pytest11]" in entry_points
    assert "purse_sandbox = purse_async.testing._plugin" in entry_points

    classifiers = set(metadata.get_all("Classifier") or [])
    assert {
        "Framework :: AsyncIO",
        "Typing :: Typed",
        *(f"Programming Language :: Python :: 3.{minor}" for minor in (10, 11, 12, 13)),
    } <= classifiers
    assert any(c.startswith("Development Status ::") for c in classifiers)
    assert metadata["License-Expression"] == "MIT"
    assert metadata.get_all("License-File") == ["LICENSE"]
    assert metadata["Requires-Python"] == ">=3.10"
    assert "testing" in (metadata.get_all("Provides-Extra") or [])
    urls = metadata.get_all("Project-URL") or []
    assert any(url.startswith("Documentation, https://") for url in urls)

    with tarfile.open(dists["sdist"]) as sdist:
        members = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    for required in (
        "pyproject.toml",
        "README.md",
        "LICENSE",
        "purse_async/py.typed",
        "purse_sync/py.typed",
        "tests/test_packaging.py",
    ):
        assert required in members
    assert not [m for m in members if m.startswith((".hypothesis", ".venv", ".nox"))]


@pytest.mark.packaging
@pytest.mark.timeout(600)
def test_wheel_in_a_fresh_venv_runs_the_demo_and_the_readme_snippet(
    dists: dict[str, Path], tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    project = tmp_path / "shop"  # a user's project: outside this repository
    project.mkdir()
    env = _clean_env()

    def run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(python), *args],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert result.returncode == 0, f"{args}:\n{result.stdout}\n{result.stderr}"
        return result

    # The quick start: the runtime dependencies only.
    run("-m", "pip", "install", "--quiet", str(dists["wheel"]))
    where = run("-c", "import purse_async; print(purse_async.__file__)").stdout
    assert str(venv) in where, where  # the wheel, not this checkout
    assert _loaded(python, "import purse_async, purse_sync", project) == []
    demo = run("-m", "purse_async", "demo", timeout=120)
    assert "Done in" in demo.stdout, demo.stdout

    # Testing one's own integration: the README's snippet as written, with the extra.
    run("-m", "pip", "install", "--quiet", f"{dists['wheel']}[testing]")
    toml, test_module = _readme_testing_snippet()
    (project / "pyproject.toml").write_text(toml)
    (project / "test_checkout.py").write_text(test_module)
    result = run("-m", "pytest", "-q", "-W", "error", "-p", "no:cacheprovider", timeout=120)
    assert re.search(r"\b1 passed\b", result.stdout), result.stdout
