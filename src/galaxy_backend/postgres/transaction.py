"""The unit of work: one transaction, the changes it made, and what follows its commit.

A write marks what it changed (`tx.changed(kind, key)`); before the commit each kind's
flush, registered once for the transaction by the domain that owns it, turns the marks into
what must go with them (a version counted, other replicas told) and registers what must
wait for the commit (caches written, events pushed, follow-up reports). So a change cannot
be committed without its effects, and no effect runs for a change that rolled back.
"""

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Mapping
from contextlib import asynccontextmanager
from typing import Any

from galaxy_backend.postgres.faults import breaks_connection
from galaxy_backend.postgres.pool import Connection, PoolProvider
from galaxy_backend.telemetry import get_logger

_log = get_logger(__name__)

# A kind's flush: the keys marked (with the last value given for each) -> each key's result.
Flush = Callable[["Tx", Mapping[Hashable, Any]], Awaitable[Mapping[Hashable, Any]]]
AfterCommit = Callable[[], object]
# A flush that keeps marking (a bug) is stopped rather than looping for ever.
_MAX_FLUSH_ROUNDS = 8


class UnflushedChange(RuntimeError):
    """A change of a kind no flush was registered for: its effects would be lost."""


class Tx:
    """A connection inside an open transaction, its marked changes and its after-commit
    effects."""

    __slots__ = ("_after", "_flushers", "_pending", "_results", "conn")

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._after: list[AfterCommit] = []
        self._flushers: dict[str, Flush] = {}
        self._pending: dict[str, dict[Hashable, Any]] = {}
        self._results: dict[str, dict[Hashable, Any]] = {}

    def after_commit(self, action: AfterCommit) -> None:
        """Run `action` once the transaction has committed (awaited if it is async)."""
        self._after.append(action)

    def on_flush(self, kind: str, flush: Flush) -> None:
        """Register the flush of `kind` (the first registration for a kind stays)."""
        self._flushers.setdefault(kind, flush)

    def changed(self, kind: str, key: Hashable, value: Any = None) -> None:
        """Mark `key` of `kind` changed in this transaction; the last `value` wins."""
        self._pending.setdefault(kind, {})[key] = value

    def result(self, kind: str, key: Hashable) -> Any:
        """What the flush of `kind` made of `key` (after the block has ended)."""
        return self._results[kind][key]

    async def flush(self) -> None:
        """Run the flushes of every marked change (again for changes a flush marked)."""
        for _ in range(_MAX_FLUSH_ROUNDS):
            if not self._pending:
                return
            kind, marked = next(iter(self._pending.items()))
            del self._pending[kind]
            flush = self._flushers.get(kind)
            if flush is None:
                raise UnflushedChange(f"changes of {kind!r} and no flush registered for them")
            self._results.setdefault(kind, {}).update(await flush(self, marked))
        raise UnflushedChange("flushes kept marking new changes")

    async def _committed(self) -> None:
        for action in self._after:
            try:
                outcome = action()
                if inspect.isawaitable(outcome):
                    await outcome
            except Exception as exc:
                # The change is committed; a failed follow-up must not turn it into an error.
                _log.error("after-commit action failed", exc_info=exc)


@asynccontextmanager
async def transaction(
    database: PoolProvider, *, flushes: Mapping[str, Flush] | None = None
) -> AsyncIterator[Tx]:
    """`async with transaction(db) as tx:` — flush, commit on a clean exit, then run tx's
    after-commit effects.

    A block that failed with its connection in doubt (a statement past its bound, a lost
    connection) ends the session instead of rolling back over it: the server rolls the
    transaction back as the session ends, and no ROLLBACK waits on a peer that is gone.
    """
    async with database.pool.acquire() as conn:
        xact = conn.transaction()
        await xact.start()
        tx = Tx(conn)
        for kind, flush in (flushes or {}).items():
            tx.on_flush(kind, flush)
        try:
            yield tx
            await tx.flush()
        except BaseException as exc:
            if breaks_connection(exc):
                conn.terminate()
            else:
                await xact.rollback()
            raise
        await xact.commit()
    await tx._committed()


@asynccontextmanager
async def in_transaction(database: PoolProvider) -> AsyncIterator[Connection]:
    """The connection of a `transaction()` with no marked changes: for writes whose effects
    the caller runs itself, still ended rather than rolled back over a connection in doubt."""
    async with transaction(database) as tx:
        yield tx.conn
