"""Token buckets on a clock the test moves: the burst, the refill, the wait it names, keys
apart, and idle keys forgotten."""

import pytest

from galaxy_backend.kernel import ratelimit
from galaxy_backend.kernel.ratelimit import TokenBuckets, TooManyRequests


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_the_rate_and_the_wait_named() -> None:
    clock = Clock()
    buckets = TokenBuckets(rate=2, burst=3, what="checks", clock=clock)
    for _ in range(3):
        buckets.take("a")
    with pytest.raises(TooManyRequests) as refused:
        buckets.take("a")
    assert refused.value.code == "too_many_requests"
    assert refused.value.retry_after_seconds == 1
    assert refused.value.message == "too many checks: at most 2 a second (bursts of 3)"
    buckets.take("b")  # another key has its own bucket
    clock.now += 0.5  # one token back
    buckets.take("a")
    with pytest.raises(TooManyRequests):
        buckets.take("a")
    # A refusal costs nothing: after the wait, one more.
    clock.now += 0.5
    buckets.take("a")


def test_a_slow_rate_names_a_longer_wait() -> None:
    clock = Clock()
    buckets = TokenBuckets(rate=0.2, burst=1, what="checks", clock=clock)
    buckets.take("a")
    clock.now += 1
    with pytest.raises(TooManyRequests) as refused:
        buckets.take("a")
    assert refused.value.retry_after_seconds == 4


def test_idle_keys_are_forgotten(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ratelimit, "_PRUNE_AT", 3)
    clock = Clock()
    buckets = TokenBuckets(rate=1, burst=2, what="checks", clock=clock)
    for key in "abc":
        buckets.take(key)
    clock.now += 1  # full again: idle
    buckets.take("d")
    assert len(buckets) == 1


def test_no_rate_is_no_bound_and_bad_bounds_are_refused() -> None:
    assert TokenBuckets.optional(rate=0, burst=5, what="checks") is None
    assert TokenBuckets.optional(rate=1, burst=5, what="checks") is not None
    with pytest.raises(ValueError, match="positive rate"):
        TokenBuckets(rate=1, burst=0, what="checks")
