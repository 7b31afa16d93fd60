"""What the operators' API refuses, each with its stable code."""

from galaxy_backend.kernel.errors import (
    Conflict,
    NotFound,
    RateLimited,
    Unauthenticated,
    Unavailable,
)


class UsernameTaken(Conflict):
    code = "username_taken"
    summary = "that username is taken"


class OperatorNotFound(NotFound):
    code = "operator_not_found"
    summary = "no such operator"


class LastAdmin(Conflict):
    code = "last_admin"
    summary = "at least one enabled admin must remain"


class LoginInProgress(RateLimited):
    code = "too_many_attempts"
    summary = "a login from this address is being checked; try again in a moment"


class InvalidCredentials(Unauthenticated):
    code = "invalid_credentials"
    summary = "wrong username or password"


class TooManyFailedLogins(RateLimited):
    code = "too_many_failed_logins"
    summary = "too many failed logins from this address; try again later"


class InvalidAdminSession(Unauthenticated):
    code = "invalid_session"
    summary = "invalid or expired admin session"


class PasswordChecksBusy(Unavailable):
    code = "busy"
    summary = "too many sign-ins are being checked; try again shortly"
