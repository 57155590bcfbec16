"""`purse.wallet`: a customer's saved payment tokens (Wallet API v3, outside `/payment/v2`).

One endpoint: `GET /wallet/v3/wallet/merchants/{merchant_id}/customers/{customer_reference}/tokens`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .. import models as _models
from .._converter import structure
from .._errors import DecodeError, ValidationError
from .._response import AsyncRawResponses, raw_response
from ._base import AsyncAPIResource, check_id

if TYPE_CHECKING:
    from ..models.wallet import WalletToken

__all__ = ["WALLET_PREFIX", "AsyncWalletTokens", "AsyncWalletTokensWithRawResponse"]

#: The Wallet API's root, beside (not under) the Payment API's `/payment/v2`.
WALLET_PREFIX = "/wallet/v3/wallet"

# Characters that could change the path or be decoded into one that does by a proxy on the way
# (`%2F` -> `/`): refused rather than escaped. Everything else is percent-encoded as needed.
_UNSAFE = frozenset("/\\?#%")
_MAX_REFERENCE = 255


def check_customer_reference(value: object) -> str:
    """`customer_reference` as a path segment. References are the merchant's own (numbers,
    `customer-123`, an email...), so more is allowed than in ids; never `/`, `\\`, `?`, `#`,
    `%`, `..`, whitespace or control characters."""
    field = "customer_reference"
    if not isinstance(value, str) or not value:
        raise ValidationError(
            f"{field} must be a non-empty string, got {value!r:.80}", field=field, value=value
        )
    bad = (
        len(value) > _MAX_REFERENCE
        or ".." in value
        or value == "."
        or any(ch in _UNSAFE or ch.isspace() or not ch.isprintable() for ch in value)
    )
    if bad:
        raise ValidationError(
            f"{field} {value!r:.80} cannot be sent in a URL path: up to {_MAX_REFERENCE} "
            "printable characters without '/', '\\', '?', '#', '%', '..' or spaces",
            field=field,
            value=value,
        )
    # RFC 3986 pchar: unreserved, sub-delims, ':' and '@' stay; the rest (non-ASCII) is encoded.
    return quote(value, safe="!$&'()*+,;=:@~")


def decode_tokens(data: Any) -> tuple[WalletToken, ...]:
    """The tokens of an answer shaped `{"integrated_tokens": [...]}` (the glossary's) or a bare
    array (what Purse's demo reads). Any other shape is a `DecodeError`, never an empty list."""
    if isinstance(data, list):
        try:
            listed = structure({"integrated_tokens": data}, _models.WalletTokenList)
        except DecodeError as exc:
            # The wrapper was ours, not Purse's: the path must name the array itself.
            path = exc.path.replace("$.integrated_tokens", "$", 1) if exc.path else exc.path
            message = str(exc).replace("$.integrated_tokens", "$")
            raise DecodeError(message, path=path, body=data) from None
        return listed.integrated_tokens
    if not isinstance(data, dict) or "integrated_tokens" not in data:
        kind = "an object without integrated_tokens" if isinstance(data, dict) else "this"
        raise DecodeError(
            f"cannot decode the wallet tokens: expected {{'integrated_tokens': [...]}} or an "
            f"array, got {kind} ({type(data).__name__})",
            path="$",
            body=data,
        )
    return structure(data, _models.WalletTokenList).integrated_tokens


class AsyncWalletTokens(AsyncAPIResource):
    """Saved payment tokens (Wallet API v3): `GET /wallet/v3/wallet/merchants/{merchant_id}/
    customers/{customer_reference}/tokens`."""

    @property
    def with_raw_response(self) -> AsyncWalletTokensWithRawResponse:
        """These methods returning an `APIResponse` (status, headers, request id, attempts,
        idempotency key, elapsed time) around their result, `.parsed`."""
        return AsyncWalletTokensWithRawResponse(self)

    async def list_tokens(
        self,
        customer_reference: str,
        *,
        merchant_id: str | None = None,
        timeout: float | None = None,
        deadline: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> tuple[WalletToken, ...]:
        """The saved tokens of one customer (the `customer.reference` the card was saved with),
        as `WalletToken`s; pay with one by naming its `id` as a split item's `wallet_token`.

        `merchant_id` defaults to the client's (`merchant_id=` / `PURSE_MERCHANT_ID`); without
        one, `ValidationError` names it. A reference that cannot travel in a URL path (`/`,
        `..`, spaces...) is refused before anything is sent. A customer with no saved token
        gives an empty tuple (the sandbox answers so; Purse documents no "unknown customer").
        """
        path = (
            f"{WALLET_PREFIX}/merchants/{check_id('merchant_id', self._merchant_id(merchant_id))}"
            f"/customers/{check_customer_reference(customer_reference)}/tokens"
        )
        result = await self._requester.request(
            "GET",
            path,
            timeout=timeout,
            deadline=deadline,
            max_retries=max_retries,
            extra_headers=extra_headers,
        )
        return decode_tokens(result)

    def _merchant_id(self, merchant_id: str | None) -> str:
        value = merchant_id if merchant_id is not None else self._settings.merchant_id
        if not isinstance(value, str) or not value.strip():
            raise ValidationError(
                "merchant_id is required: pass merchant_id=... here or to the client "
                "(or set PURSE_MERCHANT_ID)",
                field="merchant_id",
                value=value,
            )
        return value


class AsyncWalletTokensWithRawResponse(AsyncRawResponses[AsyncWalletTokens]):
    """`purse.wallet.with_raw_response`: each call returns an `APIResponse`."""

    list_tokens = raw_response(AsyncWalletTokens.list_tokens)
