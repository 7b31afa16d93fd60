"""One transaction with a list of what to do once it has committed.

Caches are written and events published only after a commit succeeds (never for a change
that rolled back); a service that joins a caller's transaction registers its follow-up
here instead of doing it early.
"""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from galaxy_backend.postgres.faults import breaks_connection
from galaxy_backend.postgres.pool import Connection, PoolProvider
from galaxy_backend.telemetry import get_logger

_log = get_logger(__name__)


class Tx:
    """A connection inside an open transaction, and the actions queued for after its commit."""

    __slots__ = ("_after", "conn")

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._after: list[Callable[[], object]] = []

    def after_commit(self, action: Callable[[], object]) -> None:
        self._after.append(action)

    def _committed(self) -> None:
        for action in self._after:
            try:
                action()
            except Exception as exc:
                # The change is committed; a failed follow-up must not turn it into an error.
                _log.error("after-commit action failed", exc_info=exc)


@asynccontextmanager
async def transaction(database: PoolProvider) -> AsyncIterator[Tx]:
    """`async with transaction(db) as tx:` — commit on a clean exit, then run tx's actions.

    A block that failed with its connection in doubt (a statement past its bound, a lost
    connection) ends the session instead of rolling back over it: the server rolls the
    transaction back as the session ends, and no ROLLBACK waits on a peer that is gone.
    """
    async with database.pool.acquire() as conn:
        xact = conn.transaction()
        await xact.start()
        tx = Tx(conn)
        try:
            yield tx
        except BaseException as exc:
            if breaks_connection(exc):
                conn.terminate()
            else:
                await xact.rollback()
            raise
        await xact.commit()
    tx._committed()
