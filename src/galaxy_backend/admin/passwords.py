"""argon2id password hashing, in threads: a verification costs tens of milliseconds of CPU.

The login route is open, so the number of checks running and waiting at once is bounded:
past that, a login is refused at once (503) instead of queueing unbounded work.
"""

import asyncio
from functools import cached_property

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from galaxy_backend.errors import Unavailable


class Passwords:
    def __init__(
        self,
        hasher: PasswordHasher | None = None,
        *,
        max_concurrent: int = 4,
        max_waiting: int | None = None,
    ) -> None:
        self._hasher = hasher or PasswordHasher()
        self._slots = asyncio.Semaphore(max_concurrent)
        self._max_admitted = max_concurrent + (
            max_waiting if max_waiting is not None else 4 * max_concurrent
        )
        self._admitted = 0

    @cached_property
    def _decoy(self) -> str:
        # Verified against when the username is unknown, so both paths take the same time;
        # made on first use (in the worker thread), not on the event loop at start-up.
        return self._hasher.hash("decoy password that matches nothing")

    async def hash(self, password: str) -> str:
        async with self._slot():
            return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, stored: str | None, password: str) -> bool:
        async with self._slot():
            ok = await asyncio.to_thread(self._verify, stored, password)
        return ok and stored is not None

    def _slot(self) -> "_Slot":
        if self._admitted >= self._max_admitted:
            raise Unavailable(
                "too many sign-ins are being checked; try again shortly",
                code="busy",
                retry_after_seconds=1,
            )
        return _Slot(self)

    def _verify(self, stored: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(stored or self._decoy, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        return self._hasher.check_needs_rehash(stored)


class _Slot:
    """Admission (counted at once) plus one of the semaphore's places (maybe after a wait)."""

    __slots__ = ("_owner",)

    def __init__(self, owner: Passwords) -> None:
        self._owner = owner
        owner._admitted += 1

    async def __aenter__(self) -> None:
        try:
            await self._owner._slots.acquire()
        except BaseException:
            self._owner._admitted -= 1
            raise

    async def __aexit__(self, *_: object) -> None:
        self._owner._slots.release()
        self._owner._admitted -= 1
