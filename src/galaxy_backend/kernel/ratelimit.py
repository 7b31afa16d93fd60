"""Token buckets per key, in this process's memory: `rate` a second, up to `burst` at once.

For bounds that guard this replica's own work (an engine's live check), where a shared count
in the database would cost more than what it guards; refusals are 429 with Retry-After like
the other limits.
"""

import math
import time
from collections.abc import Callable, Hashable

from galaxy_backend.kernel.errors import RateLimited

# Keys kept at most before idle ones (their bucket full again) are forgotten.
_PRUNE_AT = 10_000


class TooManyRequests(RateLimited):
    code = "too_many_requests"
    summary = "too many requests of this kind; try again after Retry-After seconds"


class TokenBuckets:
    @classmethod
    def optional(cls, *, rate: float, burst: int, what: str) -> "TokenBuckets | None":
        """The buckets, or None where a rate of 0 means no bound."""
        return cls(rate=rate, burst=burst, what=what) if rate > 0 else None

    def __init__(
        self,
        *,
        rate: float,
        burst: int,
        what: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a token bucket needs a positive rate and a burst of at least 1")
        self.rate = rate
        self.burst = burst
        self._what = what
        self._clock = clock
        self._buckets: dict[Hashable, tuple[float, float]] = {}

    def take(self, key: Hashable) -> None:
        """One token from `key`'s bucket, or TooManyRequests (429) saying when."""
        now = self._clock()
        tokens, at = self._buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) * self.rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            wait = (1.0 - tokens) / self.rate
            raise TooManyRequests(
                f"too many {self._what}: at most {self.rate:g} a second (bursts of {self.burst})",
                retry_after_seconds=max(1, math.ceil(wait)),
            )
        self._buckets[key] = (tokens - 1.0, now)
        if len(self._buckets) > _PRUNE_AT:
            self._prune(now)

    def _prune(self, now: float) -> None:
        full = float(self.burst)
        for key, (tokens, at) in list(self._buckets.items()):
            if tokens + (now - at) * self.rate >= full:
                del self._buckets[key]

    def __len__(self) -> int:
        return len(self._buckets)
