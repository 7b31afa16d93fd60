"""Domain errors with stable codes; the HTTP and gRPC edges map them to statuses once."""

from typing import Any


class DomainError(Exception):
    """Base of every error a service raises on purpose; `code` is part of the API contract."""

    code = "error"

    def __init__(
        self, message: str, *, code: str | None = None, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details or {}


class InvalidInput(DomainError):
    code = "invalid_input"

    def __init__(
        self,
        message: str,
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


class Conflict(DomainError):
    code = "conflict"


class Unauthenticated(DomainError):
    code = "unauthenticated"


class Forbidden(DomainError):
    code = "forbidden"


class RateLimited(DomainError):
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after_seconds: int, code: str | None = None) -> None:
        super().__init__(message, code=code, details={"retry_after_seconds": retry_after_seconds})
        self.retry_after_seconds = retry_after_seconds


class Unavailable(DomainError):
    """The service cannot take this now (shutting down, a queue full); maybe try again."""

    code = "unavailable"

    def __init__(
        self,
        message: str,
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


class GatewayTimeout(DomainError):
    """A service we depend on did not answer in time."""

    code = "gateway_timeout"


# What a client is told to wait before trying again while the database is away.
DATABASE_RETRY_AFTER_SECONDS = 5


class DatabaseUnavailable(Unavailable):
    """PostgreSQL is gone, restarting or not answering in time: nothing was done, or what
    was done is not confirmed; the same request may be tried again shortly."""

    code = "database_unavailable"

    def __init__(self) -> None:
        super().__init__(
            "the database is not available; try again shortly",
            retry_after_seconds=DATABASE_RETRY_AFTER_SECONDS,
        )
