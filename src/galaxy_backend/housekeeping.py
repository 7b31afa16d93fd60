"""Periodic chores of the domains (write-backs, pruning), as one component.

Each chore runs on its own period in a task this component owns; a failing round is logged
and tried again next period. Chores marked `at_stop` run once more when the process stops
(after the listeners have drained), so nothing buffered in memory is lost.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from galaxy_backend.telemetry import get_logger

_log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Chore:
    name: str
    every: timedelta
    run: Callable[[], Awaitable[object]]
    at_stop: bool = False


class Housekeeping:
    name = "housekeeping"
    stop_timeout: float | None = 5.0

    def __init__(self, chores: Sequence[Chore]) -> None:
        self._chores = list(chores)
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._loop(chore), name=f"chore-{chore.name}")
            for chore in self._chores
        ]

    async def _loop(self, chore: Chore) -> None:
        period = chore.every.total_seconds()
        while True:
            await asyncio.sleep(period)
            try:
                await chore.run()
            except Exception as exc:
                _log.warning(
                    "chore failed; trying again next period", chore=chore.name, error=str(exc)
                )

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        for chore in self._chores:
            if chore.at_stop:
                await chore.run()
