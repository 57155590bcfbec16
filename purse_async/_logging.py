"""The `purse` logger, and `PURSE_LOG=info|debug` turning it on with a handler of its own.

Nothing the SDK logs may contain a secret, an api key or a bearer token (none is ever passed in).
"""

from __future__ import annotations

import logging
import os

__all__ = ["logger", "setup_from_env"]

logger = logging.getLogger("purse")

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}


def setup_from_env(environ: os._Environ[str] | dict[str, str] | None = None) -> bool:
    """Honour `PURSE_LOG` (debug, info or warning): give the `purse` logger that level and a
    stderr handler, once. Without the variable the application's logging config decides."""
    env = os.environ if environ is None else environ
    level = _LEVELS.get(env.get("PURSE_LOG", "").strip().lower())
    if level is None:
        return False
    logger.setLevel(level)
    if not any(getattr(h, "_purse_env", False) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler._purse_env = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    return True
