"""Tasks: `nox` runs lint, typecheck and tests (as .ci/run does); also `demo`, `bench`, `django`,
`soak`, `lowest` (the tests on the lowest versions pyproject.toml allows) and `build`."""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_existing_virtualenvs = True

PYTHONS = ["3.10", "3.11", "3.12", "3.13"]


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The test suite (warnings are errors; only loopback traffic)."""
    session.install("-e", ".[dev]")
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff, and the generated sync facade being up to date."""
    session.install("-e", ".[dev]")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("python", "-m", "purse_sync._generate", "--check")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on both packages."""
    session.install("-e", ".[dev]")
    session.run("mypy", "--strict", "purse_async", "purse_sync", "tests/typing_sync_usage.py")


@nox.session
def soak(session: nox.Session) -> None:
    """The reliability fault campaign (tests/reliability) at 10x its CI size, table printed."""
    session.install("-e", ".[dev]")
    session.run(
        "python",
        "-m",
        "pytest",
        "-s",
        "-p",
        "no:cacheprovider",
        "tests/reliability",
        *session.posargs,
        env={"PURSE_SOAK_SCALE": "10"},
    )


def _floors() -> list[str]:
    """`name==version` for every runtime dependency and the `testing` extra: the lowest
    versions pyproject.toml allows (each is declared as `name>=version`)."""
    from packaging.requirements import Requirement

    project = nox.project.load_toml("pyproject.toml")["project"]
    pins = []
    for text in [*project["dependencies"], *project["optional-dependencies"]["testing"]]:
        req = Requirement(text)
        (spec,) = req.specifier  # one bound, a floor: the pin is that version
        if spec.operator != ">=":
            raise ValueError(f"{text}: expected name>=version")
        extras = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
        pins.append(f"{req.name}{extras}=={spec.version}")
    return pins


@nox.session
def lowest(session: nox.Session) -> None:
    """The tests on exactly the lowest versions pyproject.toml allows (docs/testing.md)."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    pins = _floors()
    # One resolution: the dev tools must accept the floors too.
    session.install("-e", ".[dev]", *pins)
    freeze = session.run("python", "-m", "pip", "freeze", silent=True)
    if isinstance(freeze, str):  # None under --install-only / --no-install
        installed = {
            canonicalize_name(name): version
            for name, _, version in (line.partition("==") for line in freeze.splitlines())
        }
        wrong = [
            f"{pin} (installed: {installed.get(canonicalize_name(Requirement(pin).name))})"
            for pin in pins
            if installed.get(canonicalize_name(Requirement(pin).name)) != pin.split("==")[1]
        ]
        if wrong:
            session.error("not the floors: " + ", ".join(wrong))
        session.log("floors installed: " + " ".join(pins))
    # The wheel test (tests/test_packaging.py) installs the newest versions: not this session's.
    session.run(
        "python",
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "-m",
        "not packaging",
        *session.posargs,
    )


@nox.session
def build(session: nox.Session) -> None:
    """The wheel and the sdist in dist/ (tests/test_packaging.py installs and runs the wheel)."""
    session.install("build")
    session.run("python", "-m", "build", "--outdir", "dist", ".")


@nox.session
def demo(session: nox.Session) -> None:
    """The main job: the first-payment walk-through against the embedded sandbox."""
    session.install("-e", ".")
    session.run("python", "-m", "purse_async", "demo")


@nox.session
def django(session: nox.Session) -> None:
    """The Django example's tests (Django's test client against the embedded sandbox)."""
    session.install("-e", ".", "django")
    session.chdir("examples/django_shop")
    session.run("python", "-W", "error", "manage.py", "test", "shop")


@nox.session
def bench(session: nox.Session) -> None:
    """The benchmarks (loopback only, bounded): ratios against baselines measured side by side."""
    session.install("-e", ".[bench]")
    for script in ("overhead.py", "decode.py", "token_storm.py", "bridge_overhead.py", "load.py"):
        session.run("python", f"benchmarks/{script}", *session.posargs)
