"""Typed models of the Purse Payment API v2: frozen attrs classes, decoded from the API's JSON.

Every model keeps unknown JSON members in `extra`; unknown enum values keep their raw string.
A response is type-checked whole when it arrives (a misfit is a `DecodeError` naming its JSON
path); its nested models are built on first read and then kept.
"""

from ._enums import (
    AuthorizationStatus,
    CaptureMode,
    ChallengeIndicator,
    ClientSessionStatus,
    IntegrationMode,
    OperationStatus,
    OverviewStatus,
    PurseEnum,
)
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
from .redirection import RedirectionResult

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
    "Priority",
    "PurseEnum",
    "Redirection",
    "RedirectionResult",
    "Shipment",
    "SplitItem",
    "ThreeDs",
    "ThreeDsAuthenticationOptions",
    "Wallet",
    "Webhook",
    "Widget",
]
