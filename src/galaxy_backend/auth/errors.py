"""What sign-in and sessions refuse, each with its stable code."""

from galaxy_backend.kernel.errors import Forbidden, NotFound, RateLimited, Unauthenticated


class TooManyCodeRequests(RateLimited):
    code = "rate_limited"
    summary = "too many codes requested; try again after Retry-After seconds"


class TooManyGuesses(RateLimited):
    code = "too_many_guesses"
    summary = "too many wrong codes from this network, or from strangers for this email today"


class CodeAttemptsSpent(Unauthenticated):
    code = "too_many_attempts"
    summary = "too many wrong codes for this sign-in; ask for a new code"


class ChallengeExpired(Unauthenticated):
    code = "challenge_expired"
    summary = "the code has expired or was already used; ask for a new one"


class InvalidCode(Unauthenticated):
    code = "invalid_code"
    summary = "the code is not correct (`details.attempts_left` says how many tries remain)"


class InvalidSession(Unauthenticated):
    code = "invalid_session"
    summary = "invalid or expired session"


class SessionNotFound(NotFound):
    code = "session_not_found"
    summary = "no such live session"


class AccountBlocked(Forbidden):
    code = "account_blocked"
    summary = "this account is blocked (`details.kind`, `details.until`)"
