"""LISTEN on a channel so a queue worker wakes when work is queued, not at its next poll.

The listening connection is borrowed from the pool. When it is lost the worker keeps
polling and `ensure()` listens again on its next round; work queued while nobody listened
is picked up by the round that follows (ensure() sets the event after listening).

A listening connection whose peer went silent (the network healed, or a failover, with
no FIN or RST ever arriving) raises nothing by itself: every `listen_probe` seconds of
the owner's liveness, `ensure()` makes one round trip on it, and on a timeout drops it and
listens again on a new one. The listener reports to its own heartbeat, `listen <channel>`.
"""

import asyncio
from collections.abc import Mapping, Sequence
from contextlib import suppress
from typing import Any

from opentelemetry.instrumentation.utils import suppress_instrumentation

from galaxy_backend.kernel.liveness import Liveness
from galaxy_backend.postgres.pool import DATABASE_ERRORS, PoolProvider
from galaxy_backend.telemetry import get_logger

_log = get_logger(__name__)

_RELEASE_SECONDS = 3.0


class Wakeup:
    """Sets each of `events` on every NOTIFY of `channel` (and when the listener is lost);
    `also` listens to more channels on the same connection, each setting its own events."""

    def __init__(
        self,
        database: PoolProvider,
        channel: str,
        *events: asyncio.Event,
        also: Mapping[str, Sequence[asyncio.Event]] | None = None,
        liveness: Liveness | None = None,
    ) -> None:
        self._database = database
        self._events: dict[str, tuple[asyncio.Event, ...]] = {channel: events}
        self._events.update({name: tuple(each) for name, each in (also or {}).items()})
        self._conn: Any = None
        self._lost = False
        self._broken_logged = False
        liveness = liveness or Liveness()
        self._heartbeat = liveness.heartbeat(f"listen {channel}")
        self._probe_every = liveness.listen_probe
        self._probe_due = 0.0
        self._started = False

    async def ensure(self) -> None:
        """Listen, unless already listening on a connection that still answers; on failure
        log once and leave polling to the caller."""
        now = asyncio.get_running_loop().time()
        if not self._started:
            self._started = True
            self._heartbeat.start(next_in=self._probe_every)
        listening = self._conn is not None and not self._lost
        if listening and (now < self._probe_due or await self._answers()):
            return
        await self._let_go()
        try:
            conn = await self._database.pool.acquire()
        except DATABASE_ERRORS as exc:
            self._cannot_listen(exc)
            return
        try:
            with suppress_instrumentation():  # plumbing, not work worth a trace
                for channel in self._events:
                    await conn.add_listener(channel, self._on_notify)
            conn.add_termination_listener(self._on_lost)
        except DATABASE_ERRORS as exc:
            with suppress(*DATABASE_ERRORS):
                await self._database.pool.release(conn, timeout=_RELEASE_SECONDS)
            self._cannot_listen(exc)
            return
        self._conn = conn
        self._broken_logged = False
        self._proved()
        # Work queued while nobody listened is claimed on the next round.
        self._set()

    async def _answers(self) -> bool:
        """One bounded round trip on the listening connection; on failure it is dropped."""
        conn = self._conn
        try:
            with suppress_instrumentation():
                await conn.fetchval("SELECT 1")
        except (*DATABASE_ERRORS, asyncio.CancelledError) as exc:
            if isinstance(exc, asyncio.CancelledError):
                self._drop(conn)
                raise
            _log.warning(
                "LISTEN connection stopped answering; listening on a new one",
                channels=list(self._events),
                error=type(exc).__name__,
            )
            self._drop(conn)
            return False
        self._proved()
        return True

    def _proved(self) -> None:
        self._probe_due = asyncio.get_running_loop().time() + self._probe_every
        self._heartbeat.beat(next_in=self._probe_every)

    def _drop(self, conn: Any) -> None:
        # Ended, not released: a connection in doubt never goes back to the pool. Its
        # termination is ours, not a loss to report against the next connection.
        with suppress(*DATABASE_ERRORS):
            conn.remove_termination_listener(self._on_lost)
        with suppress(*DATABASE_ERRORS):
            conn.terminate()
        self._conn = None
        self._lost = False

    def _cannot_listen(self, exc: BaseException) -> None:
        if not self._broken_logged:
            _log.warning("cannot LISTEN; polling", channels=list(self._events), error=str(exc))
            self._broken_logged = True

    def _set(self) -> None:
        for events in self._events.values():
            for event in events:
                event.set()

    def _on_notify(self, _conn: Any, _pid: int, channel: str, _payload: object) -> None:
        for event in self._events.get(channel, ()):
            event.set()

    def _on_lost(self, *_: Any) -> None:
        # The loop listens again on its next round; wake it so that round is now.
        self._lost = True
        self._set()

    async def close(self) -> None:
        """Stop listening (the owner is stopping)."""
        self._heartbeat.stop()
        self._started = False
        await self._let_go()

    async def _let_go(self) -> None:
        conn, self._conn = self._conn, None
        lost, self._lost = self._lost, False
        if conn is None or lost:
            # A lost connection was already taken back by the pool when it closed.
            return
        with suppress(*DATABASE_ERRORS):
            conn.remove_termination_listener(self._on_lost)
            for channel in self._events:
                await conn.remove_listener(channel, self._on_notify)
        with suppress(*DATABASE_ERRORS):
            await self._database.pool.release(conn, timeout=_RELEASE_SECONDS)
