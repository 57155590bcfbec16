"""Status -> exception class, and problem+json / OAuth2 / plain-text error bodies."""

from __future__ import annotations

import json

import pytest

import purse_async as pa
from purse_async._errors import error_class_for, make_status_error, parse_problem


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, pa.BadRequestError),
        (401, pa.AuthenticationError),
        (403, pa.PermissionDeniedError),
        (404, pa.NotFoundError),
        (409, pa.ConflictError),
        (422, pa.UnprocessableEntityError),
        (429, pa.RateLimitError),
        (500, pa.InternalServerError),
        (502, pa.InternalServerError),
        (503, pa.InternalServerError),
        (504, pa.InternalServerError),
        (418, pa.APIStatusError),
    ],
)
def test_status_maps_to_its_class(status: int, cls: type[pa.APIStatusError]) -> None:
    assert error_class_for(status, parse_problem(None, status)) is cls


def test_write_conflict_is_an_idempotency_conflict() -> None:
    body = json.dumps(
        {
            "type": "urn:eu.purse:write-conflict",
            "title": "Idempotency violation",
            "status": 409,
            "instance": "/v2/payments/p1/captures",
            "resource_id": "op-1",
        }
    )
    err = make_status_error(
        status=409, body=body, method="POST", url="http://h/p", idempotency_key="k1"
    )
    assert isinstance(err, pa.IdempotencyConflictError)
    assert isinstance(err, pa.ConflictError)
    assert err.resource_id == "op-1"
    assert err.idempotency_key == "k1"
    assert "k1" in str(err) and "Idempotency violation" in str(err)


def test_problem_with_field_errors() -> None:
    body = json.dumps(
        {
            "type": "urn:x:validation",
            "title": "Invalid request",
            "status": 400,
            "detail": "2 errors",
            "errors": [{"pointer": "/amount", "detail": "must be >= 0"}],
        }
    )
    err = make_status_error(
        status=400, body=body, method="POST", url="http://h/p", request_id="req-9"
    )
    assert isinstance(err, pa.BadRequestError)
    assert err.errors == (pa.FieldError(pointer="/amount", detail="must be >= 0"),)
    assert err.request_id == "req-9"
    assert "/amount: must be >= 0" in str(err)


def test_oauth_error_body() -> None:
    problem = parse_problem(b'{"error":"invalid_client","error_description":"bad creds"}', 401)
    assert problem.type == "invalid_client"
    assert problem.detail == "bad creds"


@pytest.mark.parametrize("body", [b"<html>Bad gateway</html>", b"[1,2]", b"", b"\xff\xfe"])
def test_unreadable_bodies_never_raise(body: bytes) -> None:
    problem = parse_problem(body, 502)
    assert problem.status == 502


def test_every_public_exception_ends_in_error_and_derives_from_purse_error() -> None:
    for name in pa.__all__:
        obj = getattr(pa, name)
        if isinstance(obj, type) and issubclass(obj, BaseException):
            assert name.endswith("Error"), name
            assert issubclass(obj, pa.PurseError), name
