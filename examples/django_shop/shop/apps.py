"""The shop app: forgets its Purse client when a PURSE_* setting changes (tests override them)."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.test.signals import setting_changed


class ShopConfig(AppConfig):
    name = "shop"

    def ready(self) -> None:
        setting_changed.connect(_purse_setting_changed)


def _purse_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith("PURSE_"):
        from .purse import reset_purse

        reset_purse()
