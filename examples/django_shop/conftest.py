"""Lets plain pytest (no pytest-django) run the shop's Django tests:
`pytest examples/django_shop` from the repository root, or `python manage.py test shop` here."""

from __future__ import annotations

import os
from collections.abc import Iterator

import django
import pytest
from django.test.utils import setup_test_environment, teardown_test_environment

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
django.setup()


@pytest.fixture(scope="session", autouse=True)
def django_test_environment() -> Iterator[None]:
    setup_test_environment()
    yield
    teardown_test_environment()
