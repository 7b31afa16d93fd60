"""Write-through caches: bounded, warmed with the recent working set, invalidation wins.

The owning service keeps a cache equal to its committed rows: it writes through after each
commit and discards on invalidation (its own, or another replica's over the cache bus). A
miss falls back to the database. Entries are bounded in number (least recently used go
first) and in age (an old entry is reloaded), so memory and start-up time do not grow with
the tables, and a lost invalidation cannot keep a row stale for longer than the age bound.

A load that raced an invalidation is never stored: every write and discard takes a version,
and a discard made while loads are in flight leaves a tombstone. A load started at version
v stores its row only if the key was neither discarded nor written after v. `warm()` obeys
the same rule.

A hot path may keep values computed from an entry (an encoded reply) with the entry itself,
through `derived()`: such a value lives exactly as long as the entry that holds the value it
was computed from, so whatever replaces or drops the entry (put, discard, eviction, age, a
re-warm) drops it too.
"""

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Generic, Protocol, TypeVar, cast

from galaxy_backend.telemetry import get_logger

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
T = TypeVar("T")

_log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class CacheLimits:
    """Bounds of every cache (BACKEND_CACHE_*)."""

    max_entries: int = 100_000
    max_age: timedelta = timedelta(minutes=10)
    warm_entries: int = 10_000


# A stored value, when it was stored, the version of that write, and values derived from it.
_Entry = tuple[V, float, int, dict[Any, Any] | None]

# Loads the most recently used rows, at most the given number, for warm().
RecentLoader = Callable[[int], Awaitable[Iterable[tuple[K, V]]]]


class WriteThroughCache(Generic[K, V]):
    """A bounded LRU map with a readiness flag; see the module's description."""

    def __init__(
        self,
        name: str,
        recent: RecentLoader[K, V],
        limits: CacheLimits | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self._recent = recent
        self._limits = limits or CacheLimits()
        self._max_age = self._limits.max_age.total_seconds()
        self._clock = clock
        self._items: OrderedDict[K, _Entry[V]] = OrderedDict()
        self._version = 0
        self._tombstones: dict[K, int] = {}
        self._loading = 0
        self._ready = False

    def ready(self) -> bool:
        return self._ready

    async def warm(self) -> None:
        """Drop everything and load the recent working set; ready only once it is in."""
        self._ready = False
        self._items.clear()
        started = self._begin_load()
        try:
            rows = await self._recent(min(self._limits.warm_entries, self._limits.max_entries))
        finally:
            self._end_load()
        stored = 0
        for key, value in rows:
            if self._storable(key, started):
                self._store(key, value)
                stored += 1
        self._forget_tombstones()
        self._ready = True
        _log.info("cache warm", cache=self.name, entries=stored)

    def get(self, key: K) -> V | None:
        entry = self._items.get(key)
        if entry is None:
            return None
        if self._clock() - entry[1] > self._max_age:
            del self._items[key]
            return None
        self._items.move_to_end(key)
        return entry[0]

    async def get_or_load(self, key: K, load: Callable[[], Awaitable[V | None]]) -> V | None:
        """The cached value, else `load()`'s: kept unless an invalidation came meanwhile."""
        value = self.get(key)
        if value is not None:
            return value
        started = self._begin_load()
        try:
            value = await load()
        finally:
            self._end_load()
        if value is not None and self._storable(key, started):
            self._store(key, value)
        self._forget_tombstones()
        return value

    def put(self, key: K, value: V) -> None:
        """Write-through, after the commit that made `value` true."""
        self._store(key, value)

    def discard(self, key: K) -> None:
        self._version += 1
        self._items.pop(key, None)
        if self._loading:
            self._tombstones[key] = self._version

    def derived(self, build: Callable[[V], T]) -> "Derived[K, V, T]":
        """Values computed by `build` from this cache's entries, at most once per entry."""
        return Derived(self, build)

    def _derive(self, derived: "Derived[K, V, T]", key: K, value: V) -> T:
        entry = self._items.get(key)
        if entry is None or entry[0] is not value:
            # Not (or no longer) what the cache holds: computed, never kept.
            return derived.build(value)
        extras = entry[3]
        if extras is None:
            extras = {}
            self._items[key] = (entry[0], entry[1], entry[2], extras)
        if derived in extras:
            return cast(T, extras[derived])
        result = extras[derived] = derived.build(value)
        return result

    def __len__(self) -> int:
        return len(self._items)

    def _begin_load(self) -> int:
        self._loading += 1
        return self._version

    def _end_load(self) -> None:
        self._loading -= 1

    def _storable(self, key: K, started: int) -> bool:
        if self._tombstones.get(key, -1) > started:
            return False
        entry = self._items.get(key)
        return entry is None or entry[2] <= started

    def _forget_tombstones(self) -> None:
        # Only loads in flight can be older than a tombstone; with none, all are moot.
        if not self._loading and self._tombstones:
            self._tombstones.clear()

    def _store(self, key: K, value: V) -> None:
        self._version += 1
        self._items[key] = (value, self._clock(), self._version, None)
        self._items.move_to_end(key)
        while len(self._items) > self._limits.max_entries:
            self._items.popitem(last=False)


class Derived(Generic[K, V, T]):
    """A value computed from a cached value and kept with its entry (`WriteThroughCache.
    derived`): `get(key, value)` is `build(value)`, computed once while the entry of `key`
    holds that very `value`. `build` must depend on `value` alone."""

    __slots__ = ("_cache", "build")

    def __init__(self, cache: WriteThroughCache[K, V], build: Callable[[V], T]) -> None:
        self._cache = cache
        self.build = build

    def get(self, key: K, value: V) -> T:
        return self._cache._derive(self, key, value)


class Warmable(Protocol):
    name: str

    def ready(self) -> bool: ...

    async def warm(self) -> None: ...


class CacheWarmer:
    """The seed's step 7: warm every cache before the listeners start."""

    name = "caches"
    stop_timeout: float | None = None

    def __init__(self, caches: Iterable[Warmable]) -> None:
        self._caches = list(caches)

    async def start(self) -> None:
        for cache in self._caches:
            await cache.warm()

    async def stop(self) -> None:
        return None
