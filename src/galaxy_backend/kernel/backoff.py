"""Retry delays: exponential growth with full jitter, kept within [minimum, maximum]."""

import random
from datetime import timedelta

# 2**32 times any sensible minimum is already past any sensible maximum.
_MAX_EXPONENT = 32


def retry_delay(
    attempt: int, *, minimum: timedelta, maximum: timedelta, rng: random.Random
) -> timedelta:
    """The wait after failed attempt `attempt` (1-based): uniform in [minimum, ceiling].

    The ceiling doubles with each attempt (2x minimum after the first) up to `maximum`;
    drawing uniformly below it spreads mails that failed together across the window.
    """
    if attempt < 1:
        raise ValueError("attempt is 1-based")
    if minimum <= timedelta(0) or maximum < minimum:
        raise ValueError("need 0 < minimum <= maximum")
    low = minimum.total_seconds()
    ceiling = min(maximum.total_seconds(), low * 2 ** min(attempt, _MAX_EXPONENT))
    return timedelta(seconds=rng.uniform(low, ceiling))
