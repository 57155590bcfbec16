"""Settings of the example shop; Purse credentials come from the environment (PURSE_*)."""

import os

SECRET_KEY = "example-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "shop.urls"
INSTALLED_APPS = ["django.contrib.contenttypes", "shop"]
MIDDLEWARE: list[str] = []
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
USE_TZ = True

# One dict of purse_sync.Purse keyword arguments; tests point base_url at the sandbox.
PURSE = {
    "client_id": os.environ.get("PURSE_CLIENT_ID"),
    "client_secret": os.environ.get("PURSE_CLIENT_SECRET"),
    "api_key": os.environ.get("PURSE_API_KEY"),
    "entity_id": os.environ.get("PURSE_ENTITY_ID"),
    "environment": os.environ.get("PURSE_ENVIRONMENT", "sandbox"),
    "base_url": os.environ.get("PURSE_BASE_URL"),
}
SHOP_RETURN_URL = "https://shop.example/payment/return/"
