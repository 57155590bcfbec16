"""Settings of the example shop. Purse is configured by the PURSE_* settings below (read here
from the environment variables of the same names); tests point them at the embedded sandbox."""

import os

SECRET_KEY = "example-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "shop.urls"
INSTALLED_APPS = ["django.contrib.contenttypes", "shop.apps.ShopConfig"]
MIDDLEWARE: list[str] = []
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
USE_TZ = True

# purse_sync.Purse(client_id=PURSE_CLIENT_ID, ...): each PURSE_<NAME> setting that is not None
# becomes the keyword argument <name> (see shop/purse.py).
PURSE_CLIENT_ID = os.environ.get("PURSE_CLIENT_ID")
PURSE_CLIENT_SECRET = os.environ.get("PURSE_CLIENT_SECRET")
PURSE_API_KEY = os.environ.get("PURSE_API_KEY")
PURSE_ENTITY_ID = os.environ.get("PURSE_ENTITY_ID")
PURSE_ENVIRONMENT = os.environ.get("PURSE_ENVIRONMENT", "sandbox")
PURSE_BASE_URL = os.environ.get("PURSE_BASE_URL")
PURSE_TIMEOUT = 30.0

SHOP_RETURN_URL = "https://shop.example/payment/return/"

# The webhook view (shop/views.py purse_webhook): the x-purse-signature secret, if Purse signs
# your webhooks (None: no signature check), and the addresses webhooks may come from (None:
# Purse's documented ones for PURSE_ENVIRONMENT).
SHOP_WEBHOOK_SECRET = os.environ.get("SHOP_WEBHOOK_SECRET") or None
SHOP_WEBHOOK_ALLOWLIST: list[str] | None = None
