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
from galaxy_backend.telemetry import get_logger

_log = get_logger(__name__)


class Sweeper:
    name = "lobby-sweeper"
    stop_timeout: float | None = 5.0

    def __init__(
        self,
        sweep: Callable[[], Awaitable[object]],
        schedule: Schedule,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._sweep = sweep
        self._schedule = schedule
        self._clock = clock
        self._task: asyncio.Task[None] | None = None
        self.rounds = 0

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="lobby-sweeper")

    async def _loop(self) -> None:
        while True:
            now = self._clock()
            delay = (self._schedule.next_after(now) - now).total_seconds()
            await asyncio.sleep(max(0.0, delay))
            try:
                await self._sweep()
            except Exception as exc:
                _log.warning("lobby sweep failed; trying again next round", error=str(exc))
            self.rounds += 1

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
