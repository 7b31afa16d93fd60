"""Backoff: exponential ceiling, full jitter, always within [minimum, maximum]."""

import random
from datetime import timedelta

import pytest

from galaxy_backend.kernel.backoff import retry_delay

LOW = timedelta(seconds=10)
HIGH = timedelta(hours=1)


def test_delays_stay_within_the_bounds_and_the_doubling_ceiling() -> None:
    rng = random.Random(7)
    for attempt in range(1, 40):
        ceiling = min(HIGH, LOW * 2**attempt)
        for _ in range(50):
            delay = retry_delay(attempt, minimum=LOW, maximum=HIGH, rng=rng)
            assert LOW <= delay <= ceiling


def test_delays_grow_then_spread_across_the_whole_window() -> None:
    rng = random.Random(11)
    late = [retry_delay(30, minimum=LOW, maximum=HIGH, rng=rng) for _ in range(500)]
    # Full jitter: the draws cover the window rather than bunching at its top.
    assert min(late) < timedelta(minutes=10)
    assert max(late) > timedelta(minutes=50)
    early = [retry_delay(1, minimum=LOW, maximum=HIGH, rng=rng) for _ in range(100)]
    assert max(early) <= LOW * 2


def test_equal_bounds_give_a_fixed_delay() -> None:
    rng = random.Random(1)
    assert retry_delay(5, minimum=LOW, maximum=LOW, rng=rng) == LOW


@pytest.mark.parametrize(
    ("attempt", "low", "high"),
    [(0, LOW, HIGH), (1, timedelta(0), HIGH), (1, HIGH, LOW)],
)
def test_invalid_arguments_are_refused(attempt: int, low: timedelta, high: timedelta) -> None:
    with pytest.raises(ValueError):
        retry_delay(attempt, minimum=low, maximum=high, rng=random.Random(0))
