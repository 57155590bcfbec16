"""The API's enumerations; an unknown value decodes to a pseudo-member that keeps the raw string.

Purse may add statuses at any time: decoding must never crash on one.
"""

from __future__ import annotations

import enum
from typing import Any

__all__ = [
    "AuthorizationStatus",
    "CaptureMode",
    "ChallengeIndicator",
    "ClientSessionStatus",
    "IntegrationMode",
    "OperationStatus",
    "OverviewStatus",
    "PaymentLinkStatus",
    "PurseEnum",
    "WalletTokenStatus",
]


class PurseEnum(str, enum.Enum):
    """A string enum that accepts values it does not know (`is_known` is then False)."""

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if not isinstance(value, str):
            return None
        member = str.__new__(cls, value)
        member._name_ = value
        member._value_ = value
        return member

    @property
    def is_known(self) -> bool:
        return self._name_ in type(self).__members__

    def __str__(self) -> str:
        return str(self.value)


class AuthorizationStatus(PurseEnum):
    """Status of an authorization and (normalized) of a partner transaction.

    `DECLINED` is how the first-payment guide names a refusal (redirection
    `authorization_status`): the SDK treats it exactly as `REFUSED` (a final failure that a
    retry policy may follow with a new attempt); `is_refusal` is True for both.
    """

    AUTHORIZED = "AUTHORIZED"
    PENDING = "PENDING"
    ERROR = "ERROR"
    ABORTED = "ABORTED"
    REFUSED = "REFUSED"
    DECLINED = "DECLINED"

    @property
    def is_refusal(self) -> bool:
        """REFUSED or DECLINED: the issuer or PSP said no."""
        return self._name_ in ("REFUSED", "DECLINED")


# The one definition of which authorization statuses failed and which of them a new attempt
# may follow (the models, the attempt ledger and the retry rules all use these). Members hash
# and compare as their strings, so a status kept as a plain string (AttemptRecord) matches too.
#: Final failures: no authorization came of them.
FAILED_AUTHORIZATION_STATUSES = frozenset(
    {
        AuthorizationStatus.REFUSED,
        AuthorizationStatus.DECLINED,  # the guide's name for a refusal
        AuthorizationStatus.ERROR,
        AuthorizationStatus.ABORTED,
    }
)
#: The final failures a new attempt may follow: all but ABORTED (stopped on purpose).
RETRYABLE_AUTHORIZATION_STATUSES = FAILED_AUTHORIZATION_STATUSES - {AuthorizationStatus.ABORTED}


class OperationStatus(PurseEnum):
    """Status of a capture, refund or void."""

    SUCCESS = "SUCCESS"
    PENDING = "PENDING"
    FAILURE = "FAILURE"
    CONFLICT = "CONFLICT"
    UNCERTAIN = "UNCERTAIN"


class OverviewStatus(PurseEnum):
    """How much of a payment is consumed, captured, voided or refunded."""

    NOT = "NOT"
    PARTIALLY = "PARTIALLY"
    TOTALLY = "TOTALLY"


class ClientSessionStatus(PurseEnum):
    CREATED = "CREATED"
    SUBMITTED = "SUBMITTED"
    EXPIRED = "EXPIRED"
    ABORTED_BY_CUSTOMER = "ABORTED_BY_CUSTOMER"
    ABORTED_BY_MERCHANT = "ABORTED_BY_MERCHANT"


class PaymentLinkStatus(PurseEnum):
    """Status of a payment link (Pay by Link).

    Documented: `OPENED` (payable; a failed attempt reverts the link to it) and `PAID` (one
    attempt reached AUTHORIZED: the link is locked). Inferred (docs/payment-links.md): `PENDING`,
    an attempt awaits its outcome (e.g. an asynchronous authorization) and no other may start.
    """

    OPENED = "OPENED"
    PENDING = "PENDING"
    PAID = "PAID"


class CaptureMode(PurseEnum):
    MANUAL = "MANUAL"
    AUTOMATIC = "AUTOMATIC"


class IntegrationMode(PurseEnum):
    EMBEDDED = "EMBEDDED"
    HOSTED_PAGE = "HOSTED_PAGE"


class ChallengeIndicator(PurseEnum):
    CHALLENGE_REQUESTED_BY_MERCHANT = "CHALLENGE_REQUESTED_BY_MERCHANT"
    CHALLENGE_REQUESTED_BY_MANDATE = "CHALLENGE_REQUESTED_BY_MANDATE"
    NO_CHALLENGE_REQUESTED = "NO_CHALLENGE_REQUESTED"


class WalletTokenStatus(PurseEnum):
    """Status of a saved payment token (Wallet API v3); only ACTIVE is documented."""

    ACTIVE = "ACTIVE"
