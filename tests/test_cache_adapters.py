"""Write-through cache base and the cycle-breaking forwarders."""

from collections.abc import Iterable

import pytest

from galaxy_backend.adapters import FailureReporterAdapter
from galaxy_backend.cache import CacheWarmer, WriteThroughCache


async def test_a_cache_is_ready_only_once_warmed_and_then_written_through() -> None:
    rows = [("a", 1), ("b", 2)]

    async def load() -> Iterable[tuple[str, int]]:
        return list(rows)

    cache: WriteThroughCache[str, int] = WriteThroughCache("numbers", load)
    assert not cache.ready()
    await CacheWarmer([cache]).start()
    assert cache.ready()
    assert cache.get("a") == 1
    assert len(cache) == 2
    cache.put("c", 3)
    cache.discard("a")
    assert cache.get("a") is None
    assert (cache.get("b"), cache.get("c")) == (2, 3)


async def test_a_failed_warm_leaves_the_cache_not_ready() -> None:
    async def broken() -> Iterable[tuple[str, int]]:
        raise ConnectionError("database gone")

    cache: WriteThroughCache[str, int] = WriteThroughCache("broken", broken)
    with pytest.raises(ConnectionError):
        await cache.warm()
    assert not cache.ready()


class Target:
    def __init__(self) -> None:
        self.calls: list[tuple[str, bool]] = []

    def request_stop(self, reason: str, *, failed: bool = False) -> None:
        self.calls.append((reason, failed))


def test_a_forwarder_does_nothing_until_patched_then_forwards() -> None:
    adapter = FailureReporterAdapter()
    adapter("early failure")  # no target yet: a no-op, not an error
    target = Target()
    adapter.patch(target)
    adapter("listener died")
    assert target.calls == [("listener died", True)]


def test_patching_twice_is_a_wiring_bug() -> None:
    adapter = FailureReporterAdapter()
    adapter.patch(Target())
    with pytest.raises(RuntimeError, match="already patched"):
        adapter.patch(Target())
