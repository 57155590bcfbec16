"""Pure decline classification: is a failed partner transaction a soft, hard or technical decline?

Purse normalizes a PSP's answer to `REFUSED` or `ERROR` and keeps the PSP's raw code in
`partner_status` ("05", "51", "Refused", "Not enough balance"...). Whether a new authorization
may follow depends on that raw code, so the classification is a table keyed by
`(partner, partner_status)`, with a wildcard partner `"*"` for codes any partner may answer (the
ISO 8583 response codes). Merchants extend or override it (`AuthorizationRetry(declines=...)`).
No I/O here.

Kinds (`DeclineKind`):
- `SOFT`: the issuer cannot approve *now* (funds, limits): a later attempt may succeed;
- `HARD`: the issuer will never approve this card for this merchant as it is (lost, stolen,
  closed, expired, fraud, "do not honor", "do not try again" advice): never retried;
- `TECHNICAL`: nobody decided (acquirer, switch or issuer unavailable, system malfunction);
- `UNKNOWN`: not in the table. Treated with caution: a merchant-initiated payment is not
  retried unattended, a shopper may be asked to try again.

How the defaults were chosen (card-scheme rules, as published by the schemes and PSPs):

- Visa sorts declines in four categories. Category 1 "issuer will never approve" (04, 07, 12,
  14, 15, 41, 43, 46, 57, R0, R1, R3) forbids any reattempt: HARD. Category 3 "data quality"
  (54 expired, 82/N7 CVV...) may be retried only with corrected data, which a stored credential
  cannot provide: HARD. Category 2 "cannot approve at this time" (51, 61, 65, 91, 96...)
  allows reattempts, at most 15 in 30 days: 51/61/65 SOFT (funds, limits), 91/92/96/19
  TECHNICAL (issuer or switch inoperative, system malfunction, re-enter). 59 (suspected fraud)
  and 62 (restricted card) are category 2 for Visa, but a fraud suspicion or a restriction does
  not lift by retrying: HARD (the issue's conservative choice).
- "05" do not honor is Visa category 4 (generic): reattempts are allowed but count against
  Visa's excessive-reattempt limits and fees, and the issuer's answer is a refusal without a
  reason. The SDK's first rule is never to authorize twice or pay a scheme fine by guessing, so
  it is HARD by default; merchants who want Visa's latitude override `("*", "05")` to SOFT.
- Mastercard merchant advice codes (MAC) 03 "do not try again" and 21 "payment cancelled"
  forbid reattempts whatever the response code: a transaction carrying one is HARD
  (`AuthorizationRetry.do_not_retry_advice_codes`). Purse documents no field for the MAC: it is
  read from `merchant_advice_code` in the transaction's or its `partner_additional_data`'s
  extra members, when a PSP passes it through (an assumption).
- ingenico answers ISO 8583 codes ("05", "51", "54", "96"): the wildcard rows cover it.
- adyen answers refusal reasons (matched without regard to case): "Not enough balance" and
  the withdrawal limits SOFT; "Acquirer Error", "Issuer Unavailable", "Not Submitted"
  TECHNICAL; "Refused" (Adyen's generic, like "05"), "Expired Card", "Blocked Card",
  "Stolen Card", "Fraud", "Restricted Card", "Declined Non Generic" (Adyen: will not be
  approved on retry) and the others below HARD.

Lookups ignore the case and surrounding spaces of both the partner and the code.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Set
from types import MappingProxyType
from typing import TYPE_CHECKING

from .models._enums import AuthorizationStatus

if TYPE_CHECKING:
    from .models.partner_transaction import PartnerTransaction

__all__ = [
    "DEFAULT_DECLINES",
    "WILDCARD",
    "DeclineKind",
    "advice_code",
    "classify",
    "normalize_table",
    "worst",
]

WILDCARD = "*"


class DeclineKind(str, enum.Enum):
    """What a failed authorization means for the next attempt (see `purse_async._declines`)."""

    SOFT = "SOFT"
    HARD = "HARD"
    TECHNICAL = "TECHNICAL"
    UNKNOWN = "UNKNOWN"

    def __str__(self) -> str:
        return str(self.value)


_S, _H, _T = DeclineKind.SOFT, DeclineKind.HARD, DeclineKind.TECHNICAL

_ISO: dict[str, DeclineKind] = {
    # Visa category 1 (never approve) and lost/stolen/closed: never again.
    "04": _H,  # pick up card
    "07": _H,  # pick up card, special conditions
    "12": _H,  # invalid transaction
    "14": _H,  # invalid card number
    "15": _H,  # no such issuer
    "41": _H,  # lost card
    "43": _H,  # stolen card
    "46": _H,  # closed account
    "57": _H,  # transaction not permitted to cardholder
    "R0": _H,  # stop payment order
    "R1": _H,  # revocation of authorization order
    "R3": _H,  # revocation of all authorizations order
    # Visa category 3 (data quality): a stored credential cannot be corrected.
    "54": _H,  # expired card
    "82": _H,  # CVV incorrect
    "N7": _H,  # CVV2 mismatch
    # Conservative choices (see the module docstring).
    "05": _H,  # do not honor (Visa category 4, generic)
    "59": _H,  # suspected fraud
    "62": _H,  # restricted card
    # Visa category 2 (cannot approve now): retry later, within the caps.
    "51": _S,  # insufficient funds
    "61": _S,  # exceeds amount limit
    "65": _S,  # exceeds frequency limit
    # Nobody decided: at once, once.
    "19": _T,  # re-enter transaction
    "91": _T,  # issuer or switch inoperative
    "92": _T,  # unable to route
    "96": _T,  # system malfunction
}

_ADYEN: dict[str, DeclineKind] = {
    "Not enough balance": _S,
    "Withdrawal amount exceeded": _S,
    "Withdrawal count exceeded": _S,
    "Acquirer Error": _T,
    "Issuer Unavailable": _T,
    "Not Submitted": _T,
    "Refused": _H,
    "Referral": _H,
    "Expired Card": _H,
    "Blocked Card": _H,
    "Stolen Card": _H,
    "Fraud": _H,
    "Acquirer Fraud": _H,
    "Issuer Suspected Fraud": _H,
    "Invalid Card Number": _H,
    "Restricted Card": _H,
    "Transaction Not Permitted": _H,
    "Revocation Of Auth": _H,
    "Declined Non Generic": _H,
    "CVC Declined": _H,
    "Not supported": _H,
    "Transaction blocked by Adyen to prevent excessive retry fees": _H,
}


def _key(partner: str, status: str) -> tuple[str, str]:
    return partner.strip().casefold(), status.strip().casefold()


def normalize_table(
    table: Mapping[tuple[str, str], DeclineKind | str],
) -> Mapping[tuple[str, str], DeclineKind]:
    """A read-only copy of `table` with its keys normalized (case, spaces) and its values made
    `DeclineKind`s; `ValueError` naming the first entry that is not `(partner, code) -> kind`."""
    out: dict[tuple[str, str], DeclineKind] = {}
    for key, kind in table.items():
        if not (
            isinstance(key, tuple)
            and len(key) == 2
            and all(isinstance(part, str) and part.strip() for part in key)
        ):
            raise ValueError(f"decline table keys are (partner, partner_status) pairs, got {key!r}")
        try:
            out[_key(*key)] = DeclineKind(kind)
        except ValueError:
            raise ValueError(
                f"decline table value for {key!r} must be one of "
                f"{', '.join(k.value for k in DeclineKind)}, got {kind!r}"
            ) from None
    return MappingProxyType(out)


#: The default classification: ISO 8583 codes for any partner, adyen's refusal reasons.
DEFAULT_DECLINES: Mapping[tuple[str, str], DeclineKind] = normalize_table(
    {
        **{(WILDCARD, code): kind for code, kind in _ISO.items()},
        **{("adyen", reason): kind for reason, kind in _ADYEN.items()},
    }
)


def advice_code(transaction: PartnerTransaction) -> str | None:
    """The Mastercard merchant advice code a PSP passed through, if any ("03", "21"...).

    Read from `merchant_advice_code` among the transaction's extra members or its
    `partner_additional_data`'s (not documented by Purse: an assumption); "03: Do not try
    again" gives "03".
    """
    sources = [transaction.extra]
    if transaction.partner_additional_data is not None:
        sources.append(transaction.partner_additional_data.extra)
    for source in sources:
        raw = source.get("merchant_advice_code")
        if isinstance(raw, (str, int)) and not isinstance(raw, bool):
            code = str(raw).split(":", 1)[0].strip()
            if code:
                return code.zfill(2) if code.isdigit() else code
    return None


def classify(
    transaction: PartnerTransaction,
    table: Mapping[tuple[str, str], DeclineKind],
    *,
    do_not_retry_advice_codes: Set[str] = frozenset(),
) -> DeclineKind:
    """The kind of one failed partner transaction.

    A "do not retry" advice code makes it HARD; then `(partner, partner_status)`, then
    `("*", partner_status)` in the (normalized) table; else TECHNICAL for an `ERROR` (nobody
    decided) and UNKNOWN for anything else.
    """
    code = advice_code(transaction)
    if code is not None and code in do_not_retry_advice_codes:
        return DeclineKind.HARD
    status = transaction.partner_status
    if isinstance(status, str) and status.strip():
        partner = transaction.partner or ""
        for who in (partner, WILDCARD) if partner.strip() else (WILDCARD,):
            found = table.get(_key(who, status))
            if found is not None:
                return found
    if transaction.status == AuthorizationStatus.ERROR:
        return DeclineKind.TECHNICAL
    return DeclineKind.UNKNOWN


#: The kind that decides when an attempt holds several failed transactions: HARD first (a card
#: refused for good anywhere is refused), then UNKNOWN (caution), SOFT (an issuer's answer),
#: TECHNICAL (nobody answered).
_SEVERITY = (DeclineKind.HARD, DeclineKind.UNKNOWN, DeclineKind.SOFT, DeclineKind.TECHNICAL)


def worst(kinds: Iterable[DeclineKind]) -> DeclineKind | None:
    """The kind that decides among several (None if there are none)."""
    found = set(kinds)
    return next((kind for kind in _SEVERITY if kind in found), None)
