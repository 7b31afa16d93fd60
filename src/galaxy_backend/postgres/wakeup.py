"""LISTEN on a channel so a queue worker wakes when work is queued, not at its next poll.

The listening connection is borrowed from the pool. When it is lost the worker keeps
polling and `ensure()` listens again on its next round; work queued while nobody listened
is picked up by the round that follows (ensure() sets the event after listening).
"""

import asyncio
from collections.abc import Mapping, Sequence
from contextlib import suppress
from typing import Any

from opentelemetry.instrumentation.utils import suppress_instrumentation

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
    ) -> None:
        self._database = database
        self._events: dict[str, tuple[asyncio.Event, ...]] = {channel: events}
        self._events.update({name: tuple(each) for name, each in (also or {}).items()})
        self._conn: Any = None
        self._lost = False
        self._broken_logged = False

    async def ensure(self) -> None:
        """Listen, unless already listening; on failure log once and leave polling to the
        caller."""
        if self._conn is not None and not self._lost:
            return
        await self.close()
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
        # Work queued while nobody listened is claimed on the next round.
        self._set()

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
