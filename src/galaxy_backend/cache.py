"""Write-through caches: warmed from Postgres at start, written only after a commit."""

from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import Generic, Protocol, TypeVar

from galaxy_backend.telemetry import get_logger

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

_log = get_logger(__name__)


class WriteThroughCache(Generic[K, V]):
    """A dict with a readiness flag; its owner service keeps it equal to the committed rows."""

    def __init__(self, name: str, loader: Callable[[], Awaitable[Iterable[tuple[K, V]]]]) -> None:
        self.name = name
        self._loader = loader
        self._items: dict[K, V] = {}
        self._ready = False

    def ready(self) -> bool:
        return self._ready

    async def warm(self) -> None:
        """Load everything; the cache reads as ready only once the whole set is in."""
        self._ready = False
        items = dict(await self._loader())
        self._items = items
        self._ready = True
        _log.info("cache warm", cache=self.name, entries=len(items))

    def get(self, key: K) -> V | None:
        return self._items.get(key)

    async def get_or_load(self, key: K, load: Callable[[], Awaitable[V | None]]) -> V | None:
        """The cached value, else `load()`'s (kept when found): another replica may have
        written the row since this cache was warmed."""
        value = self._items.get(key)
        if value is None:
            value = await load()
            if value is not None:
                self._items[key] = value
        return value

    def put(self, key: K, value: V) -> None:
        self._items[key] = value

    def discard(self, key: K) -> None:
        self._items.pop(key, None)

    def __len__(self) -> int:
        return len(self._items)


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
