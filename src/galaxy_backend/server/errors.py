"""The one error body of the API and the mapping from domain errors to HTTP statuses."""

from typing import Any

import orjson
from pydantic import BaseModel

from galaxy_backend.kernel.errors import (
    BadGateway,
    Conflict,
    DomainError,
    Forbidden,
    GatewayTimeout,
    InvalidInput,
    NotFound,
    RateLimited,
    Unauthenticated,
    Unavailable,
)


class PayloadTooLarge(DomainError):
    code = "payload_too_large"
    summary = "the request body is too large"


class InsufficientRole(Forbidden):
    code = "insufficient_role"
    summary = "this needs a role the operator does not have"


class MalformedJSON(DomainError):
    code = "invalid_json"
    summary = "request body is not valid JSON"

    def __init__(self) -> None:
        super().__init__("request body is not valid JSON")


class RequestValidationFailed(DomainError):
    """A body that parsed but did not validate; rendered as 422 with the offending fields."""

    code = "validation_failed"
    summary = "request validation failed; `details.fields` names each offending field"

    def __init__(self, fields: list[dict[str, str]]) -> None:
        super().__init__("request validation failed", details={"fields": fields})


_STATUS: list[tuple[type[DomainError], int]] = [
    (InvalidInput, 422),
    (RequestValidationFailed, 422),
    (MalformedJSON, 400),
    (PayloadTooLarge, 413),
    (NotFound, 404),
    (Conflict, 409),
    (Unauthenticated, 401),
    (Forbidden, 403),
    (RateLimited, 429),
    (Unavailable, 503),
    (BadGateway, 502),
    (GatewayTimeout, 504),
]

HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
    500: "internal_error",
    502: "bad_gateway",
    503: "unavailable",
    504: "gateway_timeout",
}


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: dict[str, Any] = {}


class ErrorBody(BaseModel):
    """`{"error": {"code", "message", "details"}}`, the body of every non-2xx reply."""

    error: ErrorDetail


def status_for(error: DomainError) -> int:
    return status_of(type(error))


def status_of(error: type[DomainError]) -> int:
    """The HTTP status of an error class: its kind's, mapped here and only here."""
    for kind, status in _STATUS:
        if issubclass(error, kind):
            return status
    return 400


_ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}
_RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}}}


def errors_of(*errors: type[DomainError]) -> dict[int | str, dict[str, Any]]:
    """A route's `responses=`: each named error under its status, with an example body."""
    by_status: dict[int, list[type[DomainError]]] = {}
    for error in errors:
        by_status.setdefault(status_of(error), []).append(error)
    responses: dict[int | str, dict[str, Any]] = {}
    for status, named in sorted(by_status.items()):
        response: dict[str, Any] = {
            "description": "; ".join(f"`{e.code}`: {e.summary}" for e in named),
            "content": {
                "application/json": {
                    "schema": _ERROR_REF,
                    "examples": {
                        e.code: {
                            "summary": e.summary,
                            "value": {"error": {"code": e.code, "message": e.summary}},
                        }
                        for e in named
                    },
                }
            },
        }
        if any(issubclass(e, RateLimited | Unavailable) for e in named):
            response["headers"] = _RETRY_AFTER
        responses[status] = response
    return responses


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> bytes:
    return orjson.dumps({"error": {"code": code, "message": message, "details": details or {}}})


def headers_for(error: DomainError) -> list[tuple[bytes, bytes]]:
    headers: list[tuple[bytes, bytes]] = []
    if isinstance(error, Unauthenticated):
        headers.append((b"www-authenticate", b"Bearer"))
    if isinstance(error, RateLimited | Unavailable) and error.retry_after_seconds is not None:
        headers.append((b"retry-after", str(error.retry_after_seconds).encode()))
    return headers
