"""Command line: `python -m purse_async demo [--live]`, `... sandbox [--port N]` and `... endpoints
[--json | --markdown]` (every endpoint the SDK calls, with its evidence tag).

The demo walks the whole first-payment guide against an embedded sandbox (no credentials needed).
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    command, rest = (args[0], args[1:]) if args else ("", [])
    if command == "demo":
        from ._demo import main as demo_main

        return demo_main(rest)
    if command == "sandbox":
        from .testing._cli import main as sandbox_main

        return sandbox_main(rest)
    if command == "endpoints":
        from ._endpoints import main as endpoints_main

        return endpoints_main(rest)
    print(
        "usage: python -m purse_async demo [--live]\n"
        "       python -m purse_async sandbox [--host HOST] [--port PORT] [--env-file PATH]"
        " [--quiet]\n"
        "       python -m purse_async endpoints [--json | --markdown [--write PAGE]]",
        file=sys.stderr,
    )
    return 0 if command in ("-h", "--help") else 2


if __name__ == "__main__":
    sys.exit(main())
