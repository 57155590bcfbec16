"""`ENDPOINTS`: every HTTP endpoint the SDK calls, with the body members it sends, the SDK methods
that send it and how sure we are of it (documented by Purse, seen in Purse's demo code, inferred).

tests/test_endpoints.py holds this table against the SDK's requests and the sandbox's routes, and
docs/endpoints.md against `markdown_table()`. Adding an endpoint: one `Endpoint(...)` row here,
the SDK method, the sandbox route, and one call in that test's scenario.
"""

from __future__ import annotations

import functools
import json
import re
import sys
from collections.abc import Sequence
from typing import Any, Literal

import attrs

__all__ = ["ENDPOINTS", "LOCAL_METHODS", "Endpoint", "Evidence", "as_json", "markdown_table"]

#: How sure we are that Purse serves this endpoint as the SDK calls it.
Evidence = Literal["documented", "seen in demo code", "inferred"]

#: The short tags of the research notes: [C] confirmed by a Purse doc page, [D] seen in Purse's
#: demo code, [I] inferred.
TAGS: dict[str, str] = {"documented": "C", "seen in demo code": "D", "inferred": "I"}

_PARAM = re.compile(r"\{[a-z_]+\}")


@attrs.frozen(kw_only=True)
class Endpoint:
    """One endpoint the SDK calls.

    `path` is relative to `base_url` (the token endpoint: the default `token_url`), with
    `{name}` for each id; `body` the top-level members the SDK may send (empty: no body, or
    `{}`), not counting what a caller adds with `extra_body`; `sdk_methods` every SDK method
    whose call may send it (`"payments.capture"` is `purse.payments.capture(...)`, on both
    faces); `evidence` and `source` say how we know, `note` what is inferred about it.
    """

    method: str
    path: str
    body: tuple[str, ...] = ()
    sdk_methods: tuple[str, ...]
    evidence: Evidence
    source: str
    note: str = ""

    @property
    def tag(self) -> str:
        """`C`, `D` or `I`: the evidence's short tag."""
        return TAGS[self.evidence]

    def matches(self, method: str, path: str) -> bool:
        """Whether a request `method path` (ids filled in, no query) is this endpoint."""
        return method.upper() == self.method and _pattern(self.path).fullmatch(path) is not None

    def as_dict(self) -> dict[str, Any]:
        """This row as JSON-able data (lists for tuples, plus its `tag`)."""
        return {
            "method": self.method,
            "path": self.path,
            "body": list(self.body),
            "sdk_methods": list(self.sdk_methods),
            "evidence": self.evidence,
            "tag": self.tag,
            "source": self.source,
            "note": self.note,
        }


@functools.cache
def _pattern(path: str) -> re.Pattern[str]:
    # Compiled on first use: importing the SDK compiles nothing for this table.
    parts = _PARAM.split(path)
    return re.compile("[^/]+".join(re.escape(part) for part in parts))


_DOCS = "https://docs.purse.tech/docs"
_REFERENCE = "https://docs.purse.tech/openapi/payment-api-v2"
_OPERATIONS = f"{_DOCS}/references/glossary/payment/operations"
_OPERATION_BODY = ("amount", "priorities")
_OPERATION_NOTE = (
    "Purse documents the operation and its priority list; the path is inferred from the "
    "documented capture path, and the `priorities` member name is inferred."
)

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        method="POST",
        path="/oauth/token",
        body=("grant_type", "scope"),
        sdk_methods=("authenticate",),
        evidence="inferred",
        source=_REFERENCE,
        note=(
            "The OAuth2 client-credentials operation is documented (form body "
            "`grant_type=client_credentials`), its path is not shown: `/oauth/token` is what "
            "Purse's legacy v1 plugin calls; set `token_url` if yours differs. `scope` is sent "
            "only when the client has one. Also sent before any other call when no valid "
            "token is cached."
        ),
    ),
    Endpoint(
        method="GET",
        path="/payment/v2/signing-jwks",
        sdk_methods=("redirections.verify", "signing_keys.retrieve"),
        evidence="documented",
        source=f"{_DOCS}/references/glossary/payment/redirection",
        note="`redirections.verify` fetches it when its cached keys lack the token's `kid`.",
    ),
    Endpoint(
        method="POST",
        path="/payment/v2/client-sessions",
        body=(
            "allow_future_usage",
            "amount",
            "capture_delay",
            "capture_mode",
            "currency",
            "customer",
            "entity_id",
            "integration_mode",
            "order",
            "shopper_redirection_url",
            "three_ds_authentication_options",
            "webhook",
        ),
        sdk_methods=("client_sessions.create", "client_sessions.create_for_future_usage"),
        evidence="documented",
        source=f"{_DOCS}/integrate/purse-api/tutorials/simple-payment",
    ),
    Endpoint(
        method="GET",
        path="/payment/v2/client-sessions/{client_session_id}",
        sdk_methods=(
            "client_sessions.abort",
            "client_sessions.create",
            "client_sessions.create_for_future_usage",
            "client_sessions.retrieve",
        ),
        evidence="inferred",
        source=f"{_DOCS}/references/glossary/api/client-session",
        note=(
            "The reference says sessions give the authorization status; the GET path is "
            "inferred. `create` reads back the session an idempotency replay names; `abort` "
            "reads the session when the abort answer has none."
        ),
    ),
    Endpoint(
        method="POST",
        path="/payment/v2/client-sessions/{client_session_id}/abort",
        sdk_methods=("client_sessions.abort",),
        evidence="documented",
        source=f"{_DOCS}/integrate/purse-checkout/hosted-page",
        note="The request body is not documented: the SDK sends `{}`.",
    ),
    Endpoint(
        method="POST",
        path="/payment/v2/eligible-solutions",
        body=("allow_future_usage", "amount", "currency", "customer", "entity_id", "order"),
        sdk_methods=(
            "eligible_solutions.list",
            "payments.authorize_with_retry",
            "payments.create",
            "payments.retry_decision",
        ),
        evidence="documented",
        source=f"{_DOCS}/integrate/purse-api/additional-features/advanced-flow/complete-payment-flow",
        note=(
            "The authorization retry (`authorize_with_retry`, `create(retry=...)`, "
            "`retry_decision`) asks it which partner to try next after an MIT decline."
        ),
    ),
    Endpoint(
        method="POST",
        path="/payment/v2/payments",
        body=(
            "allow_future_usage",
            "amount",
            "browser",
            "capture_mode",
            "currency",
            "customer",
            "entity_id",
            "order",
            "shopper_redirection_url",
            "split",
            "webhook",
        ),
        sdk_methods=(
            "payments.authorize_with_retry",
            "payments.charge_saved_card",
            "payments.create",
            "payments.create_for_future_usage",
        ),
        evidence="documented",
        source=f"{_DOCS}/integrate/purse-api/additional-features/advanced-flow/create-payment",
        note=(
            "`capture_mode`, `allow_future_usage` and `webhook` are inferred members. "
            "`charge_saved_card` sends the merchant-initiated shape the docs do not show "
            "(assumption, docs/saved-cards.md): one split item `{wallet_token, amount}`, no "
            "`browser`."
        ),
    ),
    Endpoint(
        method="GET",
        path="/payment/v2/payments/{payment_id}",
        sdk_methods=(
            "payments.authorize_with_retry",
            "payments.capture",
            "payments.charge_saved_card",
            "payments.create",
            "payments.create_for_future_usage",
            "payments.refund",
            "payments.retrieve",
            "payments.retry_decision",
            "payments.void",
            "payments.wait_for_authorization",
            "payments.watch",
            "webhooks.process",
            "webhooks.process_any",
        ),
        evidence="inferred",
        source=f"{_DOCS}/understand/payment-concepts",
        note=(
            "A Get Payment endpoint is documented (its answer is the webhook body), its path "
            "is inferred. Writes read back what an idempotency replay names; "
            "`webhooks.process` and `process_any` read it with `refetch=True`."
        ),
    ),
    Endpoint(
        method="POST",
        path="/payment/v2/payments/{payment_id}/captures",
        body=_OPERATION_BODY,
        sdk_methods=("payments.capture",),
        evidence="inferred",
        source=f"{_DOCS}/references/glossary/payment/idempotency",
        note=(
            "Purse's idempotency page shows `POST /v2/payments/{payment-id}/captures` with "
            '`{"amount": 5000}`; the `/payment` prefix of the other documented paths is '
            "inferred, as is the `priorities` member name."
        ),
    ),
    Endpoint(
        method="POST",
        path="/payment/v2/payments/{payment_id}/refunds",
        body=_OPERATION_BODY,
        sdk_methods=("payments.refund",),
        evidence="inferred",
        source=_OPERATIONS,
        note=_OPERATION_NOTE,
    ),
    Endpoint(
        method="POST",
        path="/payment/v2/payments/{payment_id}/voids",
        body=_OPERATION_BODY,
        sdk_methods=("payments.void",),
        evidence="inferred",
        source=_OPERATIONS,
        note=_OPERATION_NOTE,
    ),
    Endpoint(
        method="POST",
        path="/payment/v2/payment-links",
        body=(
            "amount",
            "capture_mode",
            "currency",
            "customer",
            "entity_id",
            "order",
            "shopper_redirection_url",
            "three_ds_authentication_options",
            "webhook",
        ),
        sdk_methods=("payment_links.create",),
        evidence="documented",
        source=f"{_DOCS}/integrate/purse-checkout/pay-by-link",
        note=(
            "The path and its required members (`entity_id`, `amount`, `currency`, "
            "`shopper_redirection_url`, `order`) are documented; `customer`, `capture_mode`, "
            "`webhook` and `three_ds_authentication_options` are inferred (as on a client "
            "session), as is the answer's shape (docs/payment-links.md)."
        ),
    ),
    Endpoint(
        method="GET",
        path="/payment/v2/payment-links/{payment_link_id}",
        sdk_methods=("payment_links.create", "payment_links.retrieve", "webhooks.process_any"),
        evidence="inferred",
        source=f"{_DOCS}/integrate/purse-checkout/pay-by-link",
        note=(
            "Link statuses are documented, a GET path is not: inferred from the create path. "
            "`create` reads back the link an idempotency replay names; `webhooks.process_any` "
            "reads it with `refetch=True`."
        ),
    ),
    Endpoint(
        method="GET",
        path="/wallet/v3/wallet/merchants/{merchant_id}/customers/{customer_reference}/tokens",
        sdk_methods=("wallet.list_tokens",),
        evidence="documented",
        source=f"{_DOCS}/integrate/purse-checkout/advanced-flow/token-payment",
        note=(
            'The Wallet API v3, outside `/payment/v2`. The answer `{"integrated_tokens": '
            "[...]}` is documented (tokenization glossary); a bare array, which Purse's demo "
            "reads, is decoded too."
        ),
    ),
)

#: Public SDK methods that never send a request (every other one is in a row's `sdk_methods`);
#: `aclose` is the async client's, `close` the blocking one's.
LOCAL_METHODS: frozenset[str] = frozenset(
    {
        "aclose",
        "close",
        "from_env",
        "webhooks.is_trusted_source",
        "webhooks.parse",
        "webhooks.parse_any",
        "webhooks.verify_signature",
        "with_options",
    }
)


def as_json() -> list[dict[str, Any]]:
    """`ENDPOINTS` as JSON-able data, one dict per row (`Endpoint.as_dict`)."""
    return [endpoint.as_dict() for endpoint in ENDPOINTS]


def _code(items: Sequence[str]) -> str:
    return ", ".join(f"`{item}`" for item in items) or "none"


def markdown_table(endpoints: Sequence[Endpoint] = ENDPOINTS) -> str:
    """The Markdown docs/endpoints.md shows (and its test compares): a table of method, path,
    body members, SDK methods and evidence tag with its source, then each row's note."""
    lines = [
        "| Method | Path | Body members | SDK methods | Evidence |",
        "|---|---|---|---|---|",
    ]
    for e in endpoints:
        # Escaped: `[I] [inferred](...)` would read as a reference link `[I][inferred]`.
        evidence = f"\\[{e.tag}\\] [{e.evidence}]({e.source})"
        lines.append(
            f"| {e.method} | `{e.path}` | {_code(e.body)} | {_code(e.sdk_methods)} | {evidence} |"
        )
    lines += ["", "Notes:", ""]
    lines += [f"- `{e.method} {e.path}`: {e.note}" for e in endpoints if e.note]
    lines += ["", f"These methods send no request: {_code(sorted(LOCAL_METHODS))}."]
    return "\n".join(lines) + "\n"


BEGIN, END = "<!-- endpoints-table:begin -->", "<!-- endpoints-table:end -->"


def replace_table(page: str, table: str | None = None) -> str:
    """`page` with the text between its BEGIN and END markers replaced by `table` (default:
    `markdown_table()`); `ValueError` if the markers are missing."""
    start, stop = page.find(BEGIN), page.find(END)
    if start < 0 or stop < start:
        raise ValueError(f"the page has no {BEGIN} ... {END} markers")
    table = markdown_table() if table is None else table
    return f"{page[: start + len(BEGIN)]}\n{table}{page[stop:]}"


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m purse_async endpoints [--json | --markdown [--write PAGE]]`."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m purse_async endpoints",
        description="Every endpoint the SDK calls, with its evidence tag.",
    )
    form = parser.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="the table as JSON")
    form.add_argument("--markdown", action="store_true", help="the table as Markdown")
    parser.add_argument(
        "--write",
        metavar="PAGE",
        help="with --markdown: rewrite the table between the markers of PAGE "
        "(docs/endpoints.md) instead of printing it",
    )
    args = parser.parse_args(argv)
    if args.write and not args.markdown:
        parser.error("--write needs --markdown")
    if args.json:
        print(json.dumps(as_json(), indent=2))
    elif args.write:
        try:
            with open(args.write, encoding="utf-8") as f:
                page = replace_table(f.read())
            with open(args.write, "w", encoding="utf-8") as f:
                f.write(page)
        except (OSError, ValueError) as exc:
            parser.error(f"--write {args.write}: {exc}")
    elif args.markdown:
        sys.stdout.write(markdown_table())
    else:
        for e in ENDPOINTS:
            print(f"[{e.tag}] {e.method:<4} {e.path}  <- {', '.join(e.sdk_methods)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
