"""Periodic chores of the domains (write-backs, pruning), as one component.

Each chore runs on its own period in a task this component owns; a failing round is logged
and tried again soon (within `RETRY_SECONDS`, or its period if shorter). Chores marked
`at_stop` run once more when the process stops (after the listeners have drained), so
nothing buffered in memory is lost. Each chore reports its rounds to its own heartbeat.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from galaxy_backend.kernel.liveness import Heartbeat, Liveness
from galaxy_backend.telemetry import get_logger

_log = get_logger(__name__)

# A failed round (the database away) is tried again this soon, not a whole period later.
RETRY_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class Chore:
    name: str
    every: timedelta
    run: Callable[[], Awaitable[object]]
    at_stop: bool = False


class Housekeeping:
    name = "housekeeping"
    stop_timeout: float | None = 5.0

    def __init__(self, chores: Sequence[Chore], *, liveness: Liveness | None = None) -> None:
        self._chores = list(chores)
        liveness = liveness or Liveness()
        self._beats = {c.name: liveness.heartbeat(f"{self.name} {c.name}") for c in chores}
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(
                self._loop(chore, self._beats[chore.name]), name=f"chore-{chore.name}"
            )
            for chore in self._chores
        ]

    async def _loop(self, chore: Chore, heartbeat: Heartbeat) -> None:
        period = chore.every.total_seconds()
        heartbeat.start(next_in=period)
        wait = period
        while True:
            await asyncio.sleep(wait)
            try:
                await chore.run()
            except Exception as exc:
                wait = min(RETRY_SECONDS, period)
                _log.warning(
                    "chore failed; trying again", chore=chore.name, error=str(exc), retry_in=wait
                )
            else:
                wait = period
                heartbeat.beat(next_in=period)

    async def stop(self) -> None:
        for heartbeat in self._beats.values():
            heartbeat.stop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        for chore in self._chores:
            if chore.at_stop:
                await chore.run()
