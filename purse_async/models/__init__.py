"""Typed models of the Purse Payment API v2: frozen attrs classes, decoded from the API's JSON.

Every model keeps unknown JSON members in `extra`; unknown enum values keep their raw string.
A response is type-checked whole when it arrives (a misfit is a `DecodeError` naming its JSON
path); its nested models are built on first read and then kept.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._enums import (
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

# The model classes are built when a name of their module is first used (PEP 562): building
# the attrs classes was half of `import purse_async`'s own time. With the converter and the
# retry machinery also loaded on first use, `import purse_async` / `import aiohttp` went from
# 1.27-1.30x to 1.09-1.14x (benchmarks/import_time.py; benchmarks/README.md, "Import time").
# A new model module goes in both lists below (tests/test_packaging.py holds them together).
if TYPE_CHECKING:
    from .client_session import ClientSession, ClientSessionLinks, Widget
    from .common import (
        Address,
        Browser,
        Customer,
        CustomerAccount,
        ItemLine,
        Order,
        Priority,
        Shipment,
        SplitItem,
        ThreeDsAuthenticationOptions,
        Webhook,
    )
    from .eligible import EligibleSolution, EligibleSolutionList
    from .jwks import JsonWebKey, JsonWebKeySet
    from .operation import Operation, OperationPartnerTransaction
    from .partner_transaction import (
        Card,
        GiftCard,
        PartnerAdditionalData,
        PartnerTransaction,
        ThreeDs,
        Wallet,
    )
    from .payment import Amounts, Authentication, Authorization, Overview, Payment, Redirection
    from .payment_link import PaymentLink, PaymentLinkLinks
    from .redirection import RedirectionResult
    from .wallet import WalletToken, WalletTokenDescription, WalletTokenList, WalletTokenPaymentId

#: Each model module and the names it exports.
_MODULES = {
    "client_session": ("ClientSession", "ClientSessionLinks", "Widget"),
    "common": (
        "Address",
        "Browser",
        "Customer",
        "CustomerAccount",
        "ItemLine",
        "Order",
        "Priority",
        "Shipment",
        "SplitItem",
        "ThreeDsAuthenticationOptions",
        "Webhook",
    ),
    "eligible": ("EligibleSolution", "EligibleSolutionList"),
    "jwks": ("JsonWebKey", "JsonWebKeySet"),
    "operation": ("Operation", "OperationPartnerTransaction"),
    "partner_transaction": (
        "Card",
        "GiftCard",
        "PartnerAdditionalData",
        "PartnerTransaction",
        "ThreeDs",
        "Wallet",
    ),
    "payment": ("Amounts", "Authentication", "Authorization", "Overview", "Payment", "Redirection"),
    "payment_link": ("PaymentLink", "PaymentLinkLinks"),
    "redirection": ("RedirectionResult",),
    "wallet": ("WalletToken", "WalletTokenDescription", "WalletTokenList", "WalletTokenPaymentId"),
}
_HOME = {name: module for module, names in _MODULES.items() for name in names}

__all__ = [
    "Address",
    "Amounts",
    "Authentication",
    "Authorization",
    "AuthorizationStatus",
    "Browser",
    "CaptureMode",
    "Card",
    "ChallengeIndicator",
    "ClientSession",
    "ClientSessionLinks",
    "ClientSessionStatus",
    "Customer",
    "CustomerAccount",
    "EligibleSolution",
    "EligibleSolutionList",
    "GiftCard",
    "IntegrationMode",
    "ItemLine",
    "JsonWebKey",
    "JsonWebKeySet",
    "Operation",
    "OperationPartnerTransaction",
    "OperationStatus",
    "Order",
    "Overview",
    "OverviewStatus",
    "PartnerAdditionalData",
    "PartnerTransaction",
    "Payment",
    "PaymentLink",
    "PaymentLinkLinks",
    "PaymentLinkStatus",
    "Priority",
    "PurseEnum",
    "Redirection",
    "RedirectionResult",
    "Shipment",
    "SplitItem",
    "ThreeDs",
    "ThreeDsAuthenticationOptions",
    "Wallet",
    "WalletToken",
    "WalletTokenDescription",
    "WalletTokenList",
    "WalletTokenPaymentId",
    "WalletTokenStatus",
    "Webhook",
    "Widget",
]


# Type checkers read the TYPE_CHECKING imports instead and do not see this `__getattr__`:
# seeing it, mypy would accept any name (a misspelt one included).
if not TYPE_CHECKING:

    def __getattr__(name: str) -> Any:
        module = _HOME.get(name)
        if module is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f".{module}", __name__), name)
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
