"""Settings of the example shop. Purse is configured by the PURSE_* settings below, read here
from the environment variables of the same names (`eval` the exports of
`python -m purse_async sandbox` to point them at a sandbox); tests override them."""

import os

SECRET_KEY = "example-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "shop.urls"
INSTALLED_APPS = ["shop.apps.ShopConfig"]
MIDDLEWARE: list[str] = []
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
USE_TZ = True
# A failing view's traceback on runserver's console even with DEBUG = False.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django.request": {"handlers": ["console"], "level": "ERROR"}},
}

# purse_sync.Purse(client_id=PURSE_CLIENT_ID, ...): each PURSE_<NAME> setting that is not None
# becomes the keyword argument <name> (see shop/purse.py).
PURSE_CLIENT_ID = os.environ.get("PURSE_CLIENT_ID")
PURSE_CLIENT_SECRET = os.environ.get("PURSE_CLIENT_SECRET")
PURSE_API_KEY = os.environ.get("PURSE_API_KEY")
PURSE_ENTITY_ID = os.environ.get("PURSE_ENTITY_ID")
PURSE_ENVIRONMENT = os.environ.get("PURSE_ENVIRONMENT", "sandbox")
PURSE_BASE_URL = os.environ.get("PURSE_BASE_URL")
PURSE_TOKEN_URL = os.environ.get("PURSE_TOKEN_URL")
PURSE_TIMEOUT = 30.0

# Where shoppers reach this shop: the hosted page sends them back to
# SHOP_BASE_URL/payment/return/ (runserver's address by default; your public URL in production).
SHOP_BASE_URL = os.environ.get("SHOP_BASE_URL", "http://127.0.0.1:8000")

# The webhook view (shop/views.py purse_webhook): the x-purse-signature secret, if Purse signs
# your webhooks (None: no signature check), and the addresses webhooks may come from (None:
# Purse's documented ones for PURSE_ENVIRONMENT).
SHOP_WEBHOOK_SECRET = os.environ.get("SHOP_WEBHOOK_SECRET") or None
SHOP_WEBHOOK_ALLOWLIST: list[str] | None = None
