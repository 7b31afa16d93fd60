"""Write-through cache base and the cycle-breaking forwarders."""

import asyncio
from collections.abc import Iterable
from datetime import timedelta

import pytest

from galaxy_backend.adapters import FailureReporterAdapter
from galaxy_backend.kernel.cache import CacheLimits, CacheWarmer, WriteThroughCache


def rows_loader(rows: list[tuple[str, int]]):  # type: ignore[no-untyped-def]
    seen: list[int] = []

    async def load(limit: int) -> Iterable[tuple[str, int]]:
        seen.append(limit)
        return list(rows[:limit])

    load.limits = seen  # type: ignore[attr-defined]
    return load


async def test_a_cache_is_ready_only_once_warmed_and_then_written_through() -> None:
    cache: WriteThroughCache[str, int] = WriteThroughCache(
        "numbers", rows_loader([("a", 1), ("b", 2)])
    )
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
    async def broken(limit: int) -> Iterable[tuple[str, int]]:
        raise ConnectionError("database gone")

    cache: WriteThroughCache[str, int] = WriteThroughCache("broken", broken)
    with pytest.raises(ConnectionError):
        await cache.warm()
    assert not cache.ready()


async def test_warm_asks_only_for_the_working_set() -> None:
    load = rows_loader([(f"k{n}", n) for n in range(50)])
    cache: WriteThroughCache[str, int] = WriteThroughCache(
        "bounded", load, CacheLimits(max_entries=20, warm_entries=5)
    )
    await cache.warm()
    assert load.limits == [5]  # type: ignore[attr-defined]
    assert len(cache) == 5


async def test_the_least_recently_used_entry_goes_first() -> None:
    cache: WriteThroughCache[str, int] = WriteThroughCache(
        "lru", rows_loader([]), CacheLimits(max_entries=2)
    )
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "a" is now the most recently used
    cache.put("c", 3)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (1, None, 3)
    assert len(cache) == 2


async def test_an_old_entry_is_reloaded() -> None:
    now = [1000.0]
    cache: WriteThroughCache[str, int] = WriteThroughCache(
        "aging", rows_loader([]), CacheLimits(max_age=timedelta(seconds=60)), clock=lambda: now[0]
    )
    cache.put("a", 1)
    now[0] += 59
    assert cache.get("a") == 1
    now[0] += 2
    assert cache.get("a") is None
    loads = 0

    async def load() -> int:
        nonlocal loads
        loads += 1
        return 2

    assert await cache.get_or_load("a", load) == 2
    assert loads == 1


async def test_an_invalidation_during_a_load_wins() -> None:
    cache: WriteThroughCache[str, str] = WriteThroughCache("race", rows_loader([]))  # type: ignore[arg-type]
    loading, release = asyncio.Event(), asyncio.Event()

    async def load() -> str:
        loading.set()
        await release.wait()
        return "session read before it was revoked"

    lookup = asyncio.create_task(cache.get_or_load("token", load))
    await loading.wait()
    cache.discard("token")  # the revocation's notice arrives while the row is in flight
    release.set()
    # The caller that raced gets what it read; nobody after it does.
    assert await lookup == "session read before it was revoked"
    assert cache.get("token") is None


async def test_a_newer_write_during_a_load_is_kept() -> None:
    cache: WriteThroughCache[str, str] = WriteThroughCache("race", rows_loader([]))  # type: ignore[arg-type]
    loading, release = asyncio.Event(), asyncio.Event()

    async def load() -> str:
        loading.set()
        await release.wait()
        return "old"

    lookup = asyncio.create_task(cache.get_or_load("user", load))
    await loading.wait()
    cache.put("user", "new")  # committed and written through meanwhile
    release.set()
    await lookup
    assert cache.get("user") == "new"


async def test_an_invalidation_during_warm_wins() -> None:
    loading, release = asyncio.Event(), asyncio.Event()

    async def load(limit: int) -> Iterable[tuple[str, int]]:
        loading.set()
        await release.wait()
        return [("revoked", 1), ("kept", 2)]

    cache: WriteThroughCache[str, int] = WriteThroughCache("warming", load)
    warming = asyncio.create_task(cache.warm())
    await loading.wait()
    cache.discard("revoked")
    release.set()
    await warming
    assert (cache.get("revoked"), cache.get("kept")) == (None, 2)


async def test_tombstones_do_not_outlive_the_loads_they_guard() -> None:
    cache: WriteThroughCache[str, int] = WriteThroughCache("tidy", rows_loader([]))
    release = asyncio.Event()

    async def load() -> int:
        await release.wait()
        return 1

    lookup = asyncio.create_task(cache.get_or_load("a", load))
    await asyncio.sleep(0)
    for n in range(100):
        cache.discard(f"k{n}")
    release.set()
    await lookup
    assert cache._tombstones == {}
    # A later load of a key discarded back then is stored: that discard is old news.

    async def fresh() -> int:
        return 7

    assert await cache.get_or_load("k1", fresh) == 7
    assert cache.get("k1") == 7


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


async def test_a_derived_value_is_built_once_per_entry_and_goes_with_it() -> None:
    now = [0.0]
    cache: WriteThroughCache[str, list[int]] = WriteThroughCache(
        "derived",
        rows_loader([]),  # type: ignore[arg-type]
        CacheLimits(max_entries=2, max_age=timedelta(seconds=60)),
        clock=lambda: now[0],
    )
    built: list[list[int]] = []

    def build(value: list[int]) -> str:
        built.append(value)
        return f"encoded {value}"

    encoded = cache.derived(build)
    first = [1]
    cache.put("a", first)
    assert encoded.get("a", first) == encoded.get("a", first) == "encoded [1]"
    assert len(built) == 1
    # A value that is not what the cache holds is encoded, never kept.
    stranger = [1]
    assert encoded.get("a", stranger) == "encoded [1]"
    assert encoded.get("b", [2]) == "encoded [2]"
    assert len(built) == 3
    assert encoded.get("a", first) == "encoded [1]"
    assert len(built) == 3

    # A put replaces the entry: the next read builds from the new value.
    second = [10]
    cache.put("a", second)
    assert encoded.get("a", second) == "encoded [10]"
    # A discard drops it; a value put again later is a new entry.
    cache.discard("a")
    assert cache.get("a") is None
    cache.put("a", second)
    encoded.get("a", second)
    assert built[-2:] == [second, second]
    # Age and eviction take the derived value with the entry.
    now[0] += 61
    assert cache.get("a") is None
    cache.put("a", second)
    cache.put("b", [2])
    cache.put("c", [3])  # evicts "a"
    cache.put("a", second)
    count = len(built)
    encoded.get("a", second)
    assert len(built) == count + 1


async def test_a_rewarm_drops_every_derived_value() -> None:
    row = [1]
    cache: WriteThroughCache[str, list[int]] = WriteThroughCache(
        "rewarm",
        rows_loader([("a", row)]),  # type: ignore[arg-type]
    )
    await cache.warm()
    calls: list[int] = []
    encoded = cache.derived(lambda value: calls.append(1) or len(calls))
    assert encoded.get("a", row) == 1
    await cache.warm()  # the same row object, stored anew
    assert encoded.get("a", row) == 2
