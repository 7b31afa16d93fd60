"""Domain errors with stable codes; the HTTP and gRPC edges map them to statuses once.

A domain names each of its errors as a class under one of the kinds below, with the
code (part of the API contract) and a summary (the default message, and what OpenAPI
says of it)::

    class GameNotFound(NotFound):
        code = "game_not_found"
        summary = "no such game, or a private game the caller may not see"

    raise GameNotFound()
    raise GameNotFound(details={"game_id": str(game_id)})

and a route lists what it may raise with `server.errors.errors_of(GameNotFound, ...)`.
"""

from typing import Any, ClassVar


class DomainError(Exception):
    """Base of every error a service raises on purpose; `code` is part of the API contract."""

    code: str = "error"
    # The default message, and the error's line in a route's OpenAPI responses.
    summary: ClassVar[str] = "the request was refused"

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        text = message if message is not None else self.summary
        super().__init__(text)
        self.message = text
        # Per instance, for codes that come from elsewhere (an engine's refusal).
        if code is not None:
            self.code = code
        self.details = details or {}


class InvalidInput(DomainError):
    code = "invalid_input"
    summary = "invalid input"

    def __init__(
        self,
        message: str | None = None,
        *,
        field: str | None = None,
        code: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        merged = dict(details or {})
        if field is not None:
            merged.setdefault("field", field)
        super().__init__(message, code=code, details=merged)


class NotFound(DomainError):
    code = "not_found"
    summary = "not found"


class Conflict(DomainError):
    code = "conflict"
    summary = "refused by the current state"


class Unauthenticated(DomainError):
    code = "unauthenticated"
    summary = "missing or invalid credentials"


class Forbidden(DomainError):
    code = "forbidden"
    summary = "not allowed"


class RateLimited(DomainError):
    code = "rate_limited"
    summary = "too many requests; try again after Retry-After seconds"

    def __init__(
        self,
        message: str | None = None,
        *,
        retry_after_seconds: int,
        code: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        merged = {**(details or {}), "retry_after_seconds": retry_after_seconds}
        super().__init__(message, code=code, details=merged)
        self.retry_after_seconds = retry_after_seconds


class Unavailable(DomainError):
    """The service cannot take this now (shutting down, a queue full); maybe try again."""

    code = "unavailable"
    summary = "cannot take this now; try again later"

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        retry_after_seconds: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        merged = dict(details or {})
        if retry_after_seconds is not None:
            merged["retry_after_seconds"] = retry_after_seconds
        super().__init__(message, code=code, details=merged)
        self.retry_after_seconds = retry_after_seconds


class BadGateway(DomainError):
    """A service we depend on (a game's engine) failed or answered nonsense."""

    code = "bad_gateway"
    summary = "a service this depends on failed"


class GatewayTimeout(DomainError):
    """A service we depend on did not answer in time."""

    code = "gateway_timeout"
    summary = "a service this depends on did not answer in time"


# What a client is told to wait before trying again while the database is away.
DATABASE_RETRY_AFTER_SECONDS = 5


class DatabaseUnavailable(Unavailable):
    """PostgreSQL is gone, restarting or not answering in time: nothing was done, or what
    was done is not confirmed; the same request may be tried again shortly."""

    code = "database_unavailable"
    summary = "the database is not available; try again shortly"

    def __init__(self) -> None:
        super().__init__(retry_after_seconds=DATABASE_RETRY_AFTER_SECONDS)
