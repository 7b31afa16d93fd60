"""Which errors mean "the database is not answering now", and which leave a connection in doubt.

A database that is gone, restarting, unreachable or too slow raises these; a query that
is simply wrong does not (a bad query stays a bug, and a 500). The edge turns the first
kind into 503 `database_unavailable`; the pool drops a connection that saw the second.
"""

import asyncio

import asyncpg
from asyncpg import exceptions as pg

# Raised when PostgreSQL cannot be reached or stopped answering, or asks us to go away.
UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (
    OSError,  # refused, reset, unreachable, and start-up's ConnectionError
    TimeoutError,  # an acquire, a connect or a statement past its bound
    asyncpg.InterfaceError,  # "connection is closed", "pool is closing", ...
    pg.InternalClientError,  # a query on a connection the server has just ended
    pg.PostgresConnectionError,  # class 08, connection_lost among them
    pg.OperatorInterventionError,  # class 57: shutdown, restart, statement_timeout
    pg.InsufficientResourcesError,  # class 53: too many connections, out of memory
    pg.ReadOnlySQLTransactionError,  # a primary that became a replica
    pg.IdleInTransactionSessionTimeoutError,
)

# After these a connection may be mid-statement, mid-cancel or dead: never reuse it.
_BREAKS_CONNECTION: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncio.CancelledError,
    asyncpg.InterfaceError,
    pg.InternalClientError,
    pg.PostgresConnectionError,
    pg.AdminShutdownError,
    pg.CrashShutdownError,
    pg.CannotConnectNowError,
    pg.IdleInTransactionSessionTimeoutError,
)


def database_unavailable(exc: BaseException) -> bool:
    """True when `exc` (or every error of a group) says the database is not answering now."""
    if isinstance(exc, BaseExceptionGroup):
        return all(database_unavailable(inner) for inner in exc.exceptions)
    return isinstance(exc, UNAVAILABLE_ERRORS)


def breaks_connection(exc: BaseException) -> bool:
    """True when the connection that raised `exc` must be dropped rather than reused."""
    return isinstance(exc, _BREAKS_CONNECTION)
