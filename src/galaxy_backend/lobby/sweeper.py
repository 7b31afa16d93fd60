"""The lobby sweeper (the seed's internal/lobby.Sweeper): a cronutil job over the service.

Each round releases stale race-name registrations, starts enrollment-expired games that
have enough players and tells the owners of those that do not (see `LobbyService.sweep`).
Any number of sweepers in any number of processes may run at once.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from galaxy_backend.cronutil import Schedule
from galaxy_backend.kernel.liveness import Liveness
from galaxy_backend.telemetry import get_logger

_log = get_logger(__name__)

# A failed sweep (the database away) is tried again this soon.
RETRY_SECONDS = 5.0


class Sweeper:
    name = "lobby-sweeper"
    stop_timeout: float | None = 5.0

    def __init__(
        self,
        sweep: Callable[[], Awaitable[object]],
        schedule: Schedule,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        liveness: Liveness | None = None,
    ) -> None:
        self._heartbeat = (liveness or Liveness()).heartbeat(self.name)
        self._sweep = sweep
        self._schedule = schedule
        self._clock = clock
        self._task: asyncio.Task[None] | None = None
        self.rounds = 0

    async def start(self) -> None:
        self._heartbeat.start(next_in=self._delay())
        self._task = asyncio.create_task(self._loop(), name="lobby-sweeper")

    def _delay(self) -> float:
        now = self._clock()
        return max(0.0, (self._schedule.next_after(now) - now).total_seconds())

    async def _loop(self) -> None:
        wait = self._delay()
        while True:
            await asyncio.sleep(wait)
            try:
                await self._sweep()
            except Exception as exc:
                # Soon, not at the next slot (a daily schedule would wait a day).
                wait = min(RETRY_SECONDS, self._delay())
                _log.warning("lobby sweep failed; trying again", error=str(exc), retry_in=wait)
            else:
                wait = self._delay()
                self._heartbeat.beat(next_in=wait)
            self.rounds += 1

    async def stop(self) -> None:
        self._heartbeat.stop()
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
