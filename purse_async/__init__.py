"""Purse Payment API v2 SDK, asyncio-native: `AsyncPurse`, typed models and the exception tree.

The blocking twin is `purse_sync.Purse`; the emulated API for tests is `purse_async.testing`.
"""

from typing import TYPE_CHECKING, Any

from . import models as _models
from ._auth import AccessToken, MemoryTokenStore, TokenStore
from ._client import AsyncPurse
from ._config import RetryPolicy, Settings
from ._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    ConfigurationError,
    ConflictError,
    DecodeError,
    FieldError,
    IdempotencyConflictError,
    InternalServerError,
    NotFoundError,
    OutcomeUnknownError,
    OutcomeUnknownTimeoutError,
    PaymentMismatchError,
    PermissionDeniedError,
    Problem,
    PurseError,
    RateLimitError,
    ResponseTooLargeError,
    SignatureVerificationError,
    UnprocessableEntityError,
    ValidationError,
    WebhookError,
)
from ._response import APIResponse
from ._to_dict import from_dict, to_dict
from ._version import __version__
from .models import (
    AuthorizationStatus,
    CaptureMode,
    ChallengeIndicator,
    ClientSessionStatus,
    IntegrationMode,
    OperationStatus,
    OverviewStatus,
    PaymentLinkStatus,
    PurseEnum,
    WalletTokenStatus,
)
from .resources import (
    AsyncClientSessions,
    AsyncEligibleSolutions,
    AsyncPaymentLinks,
    AsyncPayments,
    AsyncRedirections,
    AsyncSigningKeys,
    AsyncWalletTokens,
    AsyncWebhooks,
)
from .resources._webhook_events import (
    MemoryWebhookStore,
    PaymentLinkEvent,
    WebhookEvent,
    WebhookStore,
)

# Model classes load on first use (PEP 562, see purse_async.models): `import purse_async`
# builds none of them; with `_LAZY` below, 1.27-1.30x -> 1.09-1.14x `import aiohttp`
# (benchmarks/README.md, "Import time").
if TYPE_CHECKING:
    from ._attempts import (
        AttemptRecord,
        AttemptStore,
        AuthorizationOutcome,
        MemoryAttemptStore,
        RetryAction,
        RetryDecision,
    )
    from ._authorization_retry import AuthorizationRetry, Initiator
    from ._declines import DeclineKind
    from ._endpoints import ENDPOINTS, Endpoint
    from .models import (
        Address,
        Amounts,
        Authentication,
        Authorization,
        Browser,
        Card,
        ClientSession,
        ClientSessionLinks,
        Customer,
        CustomerAccount,
        EligibleSolution,
        EligibleSolutionList,
        GiftCard,
        ItemLine,
        JsonWebKey,
        JsonWebKeySet,
        Operation,
        OperationPartnerTransaction,
        Order,
        Overview,
        PartnerAdditionalData,
        PartnerTransaction,
        Payment,
        PaymentLink,
        PaymentLinkLinks,
        Priority,
        Redirection,
        RedirectionResult,
        Shipment,
        SplitItem,
        ThreeDs,
        ThreeDsAuthenticationOptions,
        Wallet,
        WalletToken,
        WalletTokenDescription,
        WalletTokenPaymentId,
        Webhook,
        Widget,
    )

__all__ = [
    "ENDPOINTS",
    "APIConnectionError",
    "APIResponse",
    "APIStatusError",
    "APITimeoutError",
    "AccessToken",
    "Address",
    "Amounts",
    "AsyncClientSessions",
    "AsyncEligibleSolutions",
    "AsyncPaymentLinks",
    "AsyncPayments",
    "AsyncPurse",
    "AsyncRedirections",
    "AsyncSigningKeys",
    "AsyncWalletTokens",
    "AsyncWebhooks",
    "AttemptRecord",
    "AttemptStore",
    "Authentication",
    "AuthenticationError",
    "Authorization",
    "AuthorizationOutcome",
    "AuthorizationRetry",
    "AuthorizationStatus",
    "BadRequestError",
    "Browser",
    "CaptureMode",
    "Card",
    "ChallengeIndicator",
    "ClientClosedError",
    "ClientSession",
    "ClientSessionLinks",
    "ClientSessionStatus",
    "ConfigurationError",
    "ConflictError",
    "Customer",
    "CustomerAccount",
    "DeclineKind",
    "DecodeError",
    "EligibleSolution",
    "EligibleSolutionList",
    "Endpoint",
    "FieldError",
    "GiftCard",
    "IdempotencyConflictError",
    "Initiator",
    "IntegrationMode",
    "InternalServerError",
    "ItemLine",
    "JsonWebKey",
    "JsonWebKeySet",
    "MemoryAttemptStore",
    "MemoryTokenStore",
    "MemoryWebhookStore",
    "NotFoundError",
    "Operation",
    "OperationPartnerTransaction",
    "OperationStatus",
    "Order",
    "OutcomeUnknownError",
    "OutcomeUnknownTimeoutError",
    "Overview",
    "OverviewStatus",
    "PartnerAdditionalData",
    "PartnerTransaction",
    "Payment",
    "PaymentLink",
    "PaymentLinkEvent",
    "PaymentLinkLinks",
    "PaymentLinkStatus",
    "PaymentMismatchError",
    "PermissionDeniedError",
    "Priority",
    "Problem",
    "PurseEnum",
    "PurseError",
    "RateLimitError",
    "Redirection",
    "RedirectionResult",
    "ResponseTooLargeError",
    "RetryAction",
    "RetryDecision",
    "RetryPolicy",
    "Settings",
    "Shipment",
    "SignatureVerificationError",
    "SplitItem",
    "ThreeDs",
    "ThreeDsAuthenticationOptions",
    "TokenStore",
    "UnprocessableEntityError",
    "ValidationError",
    "Wallet",
    "WalletToken",
    "WalletTokenDescription",
    "WalletTokenPaymentId",
    "WalletTokenStatus",
    "Webhook",
    "WebhookError",
    "WebhookEvent",
    "WebhookStore",
    "Widget",
    "__version__",
    "from_dict",
    "to_dict",
]


#: Names whose module loads on first use: only `authorize_with_retry` / `retry_decision` need
#: the retry machinery.
_LAZY = {
    "AttemptRecord": "._attempts",
    "AttemptStore": "._attempts",
    "AuthorizationOutcome": "._attempts",
    "MemoryAttemptStore": "._attempts",
    "RetryAction": "._attempts",
    "RetryDecision": "._attempts",
    "AuthorizationRetry": "._authorization_retry",
    "Initiator": "._authorization_retry",
    "DeclineKind": "._declines",
}


# Type checkers read the TYPE_CHECKING imports instead and do not see this `__getattr__`:
# seeing it, mypy would accept any name (a misspelt one included).
if not TYPE_CHECKING:

    def __getattr__(name: str) -> Any:
        if name in _LAZY:
            import importlib

            globals()[name] = value = getattr(importlib.import_module(_LAZY[name], __name__), name)
            return value
        if name in ("ENDPOINTS", "Endpoint"):
            # The endpoint table loads on first use too: no SDK call needs it.
            from . import _endpoints

            globals()[name] = value = getattr(_endpoints, name)
            return value
        if name not in __all__ or name not in _models._HOME:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(_models, name)
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
