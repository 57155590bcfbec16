"""Blocking facade of the Purse SDK for threaded code (Django, scripts): `purse_sync.Purse`.

Generated from `purse_async` by `python -m purse_sync._generate`; work in progress.
"""

__all__: list[str] = []
