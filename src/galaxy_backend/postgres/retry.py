"""Record an outcome as soon as the database answers again, instead of leaving it to a lease.

A worker that has already acted (sent a mail, published a push event, run a turn) and
cannot record it would otherwise leave its lease to run out, and the next worker would act
again. Retrying the write for a while, inside the lease, keeps a short outage from
doubling anything.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from galaxy_backend.postgres.pool import DATABASE_ERRORS

T = TypeVar("T")

_FIRST_PAUSE = 0.25
_LONGEST_PAUSE = 2.0


async def retry_while_unavailable(
    action: Callable[[], Awaitable[T]],
    *,
    within: float,
    give_up: Callable[[], bool] = lambda: False,
) -> T:
    """`action()`, tried again while it fails with a database error, for at most `within`
    seconds (or until `give_up()`); then the last error is raised."""
    deadline = time.monotonic() + within
    pause = _FIRST_PAUSE
    while True:
        try:
            return await action()
        except DATABASE_ERRORS:
            if give_up() or time.monotonic() + pause > deadline:
                raise
        await asyncio.sleep(pause)
        pause = min(pause * 2, _LONGEST_PAUSE)
