"""Tasks: `nox` runs lint, typecheck and tests (as .ci/run does); also `demo`, `bench`, `django`,
`soak`."""

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
