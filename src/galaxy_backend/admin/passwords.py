"""argon2id password hashing, in threads: a verification costs tens of milliseconds of CPU.

The login route is open, so the number of checks running and waiting at once is bounded:
past that, a login is refused at once (503) instead of queueing unbounded work. Checks
wait in three lanes, each with its own bound and served in this order: `trusted` (a
network an operator signed in from before; also hashing new passwords), `clean` (a network
with no recent failed login), `suspect` (one that failed lately). A flood of wrong
passwords fills the suspect lane and is refused there, while an operator from anywhere
that has not failed is still checked, ahead of it.
"""

import asyncio
import heapq
import itertools
from functools import cached_property
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from galaxy_backend.admin.errors import PasswordChecksBusy

Lane = Literal["trusted", "clean", "suspect"]
_ORDER: dict[Lane, int] = {"trusted": 0, "clean": 1, "suspect": 2}


class Passwords:
    def __init__(
        self,
        hasher: PasswordHasher | None = None,
        *,
        max_concurrent: int = 4,
        max_waiting: int | None = None,
    ) -> None:
        """`max_waiting` bounds the suspect lane's waiting checks (default four per thread);
        the other lanes may hold four times as many."""
        self._hasher = hasher or PasswordHasher()
        self._slots = _PrioritySlots(max_concurrent)
        waiting = max_waiting if max_waiting is not None else 4 * max_concurrent
        self._bounds: dict[Lane, int] = {
            "trusted": max_concurrent + 4 * waiting,
            "clean": max_concurrent + 4 * waiting,
            "suspect": max_concurrent + waiting,
        }
        self._admitted: dict[Lane, int] = dict.fromkeys(self._bounds, 0)

    @cached_property
    def _decoy(self) -> str:
        # Verified against when the username is unknown, so both paths take the same time;
        # made on first use (in the worker thread), not on the event loop at start-up.
        return self._hasher.hash("decoy password that matches nothing")

    async def hash(self, password: str) -> str:
        async with self._slot("trusted"):
            return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, stored: str | None, password: str, *, lane: Lane = "clean") -> bool:
        async with self._slot(lane):
            ok = await asyncio.to_thread(self._verify, stored, password)
        return ok and stored is not None

    def _slot(self, lane: Lane) -> "_Slot":
        if self._admitted[lane] >= self._bounds[lane]:
            raise PasswordChecksBusy(retry_after_seconds=1)
        return _Slot(self, lane)

    def _verify(self, stored: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(stored or self._decoy, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        return self._hasher.check_needs_rehash(stored)


class _Slot:
    """Admission to a lane (counted at once) plus a thread's place (maybe after a wait)."""

    __slots__ = ("_lane", "_owner")

    def __init__(self, owner: Passwords, lane: Lane) -> None:
        self._owner = owner
        self._lane = lane
        owner._admitted[lane] += 1

    async def __aenter__(self) -> None:
        try:
            await self._owner._slots.acquire(_ORDER[self._lane])
        except BaseException:
            self._owner._admitted[self._lane] -= 1
            raise

    async def __aexit__(self, *_: object) -> None:
        self._owner._slots.release()
        self._owner._admitted[self._lane] -= 1


class _PrioritySlots:
    """A semaphore whose waiters are served by priority (lower first), then in order."""

    def __init__(self, size: int) -> None:
        self._free = size
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._sequence = itertools.count()

    async def acquire(self, priority: int) -> None:
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (priority, next(self._sequence), future))
        try:
            await future
        except asyncio.CancelledError:
            if not future.cancelled():
                # Handed a place just as it was cancelled: pass the place on.
                self.release()
            raise

    def release(self) -> None:
        while self._waiters:
            _, _, future = heapq.heappop(self._waiters)
            if not future.done():
                future.set_result(None)
                return
        self._free += 1
