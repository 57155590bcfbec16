"""Purse Payment API v2 SDK, asyncio-native: `AsyncPurse`, typed models and the exception tree.

The blocking twin is `purse_sync.Purse`; the emulated API for tests is `purse_async.testing`.
"""

from ._auth import AccessToken, MemoryTokenStore, TokenStore
from ._client import AsyncPurse
from ._config import RetryPolicy, Settings
from ._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    DecodeError,
    FieldError,
    IdempotencyConflictError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    Problem,
    PurseError,
    RateLimitError,
    SignatureVerificationError,
    UnprocessableEntityError,
    ValidationError,
    WebhookError,
)
from ._version import __version__
from .resources import (
    AsyncClientSessions,
    AsyncEligibleSolutions,
    AsyncPayments,
    AsyncRedirections,
    AsyncSigningKeys,
    AsyncWebhooks,
)

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AccessToken",
    "AsyncClientSessions",
    "AsyncEligibleSolutions",
    "AsyncPayments",
    "AsyncPurse",
    "AsyncRedirections",
    "AsyncSigningKeys",
    "AsyncWebhooks",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ConflictError",
    "DecodeError",
    "FieldError",
    "IdempotencyConflictError",
    "InternalServerError",
    "MemoryTokenStore",
    "NotFoundError",
    "PermissionDeniedError",
    "Problem",
    "PurseError",
    "RateLimitError",
    "RetryPolicy",
    "Settings",
    "SignatureVerificationError",
    "TokenStore",
    "UnprocessableEntityError",
    "ValidationError",
    "WebhookError",
    "__version__",
]
