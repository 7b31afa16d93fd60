"""The API's one error body, for the answers the gateway gives itself."""

from typing import Any

import orjson

JSON_HEADERS: list[tuple[bytes, bytes]] = [(b"content-type", b"application/json")]


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> bytes:
    """`{"error": {"code", "message", "details"}}`, as the backend writes it."""
    return orjson.dumps({"error": {"code": code, "message": message, "details": details or {}}})


class BackendError(Exception):
    """The backend could not be reached or did not answer in time: a 5xx for the client."""

    status = 502
    code = "bad_gateway"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BackendUnavailable(BackendError):
    status = 503
    code = "backend_unavailable"


class BackendTimeout(BackendError):
    status = 504
    code = "backend_timeout"
