"""The lobby's write-through caches: games, Race Name Directory entries, the public listing.

* `games`: game id -> the game with its players (a `WriteThroughCache`).
* `names`: a name form (`name_key`: canonical or skeleton) -> its live entry, or the fact
  that there is none (so availability checks of free names are answered from memory too).
* `listing`: the public listing's index (below).

Each is written after the commit that changed it and invalidated on the other replicas over
the cache bus (topics `lobby.game` and `lobby.name`, whose keys are `name_key`s).

The listing index holds every listed game (public, not cancelled) newer than a floor, in
listing order (newest first), each with its item pre-encoded as JSON, and the same order per
status (a page filtered by status walks only those statuses, not every finished game). It
is bounded by BACKEND_CACHE_MAX_ENTRIES: when more games are listed, the oldest drop out,
the floor moves up, and pages past the floor are read from the table. Correct under
invalidation:

* a local change is applied after its commit (`put`), newer versions winning: every game row
  carries a version bumped by each change, and an older copy never replaces a newer one;
* an invalidation from another replica marks the game stale; the next listing read reloads
  every stale game in one query before it answers, and a read that comes while that reload
  is in flight waits for it. An invalidation that arrives while the reload is in flight
  marks the game stale again, so it is reloaded once more;
* while the bus is down the replica is unready, and on reconnect the index is rebuilt.
"""

import asyncio
import bisect
import heapq
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import orjson

from galaxy_backend.kernel.cache import CacheLimits, WriteThroughCache
from galaxy_backend.lobby.models import Game, RaceName
from galaxy_backend.lobby.status import GameStatus
from galaxy_backend.telemetry import get_logger

_log = get_logger(__name__)

GAME_TOPIC = "lobby.game"
NAME_TOPIC = "lobby.name"


@dataclass(frozen=True, slots=True)
class NameSlot:
    """What the directory holds under one form: a live entry, or None (the name is free)."""

    entry: RaceName | None


def name_key(form: str, *, canonical: bool) -> str:
    """The key of a name form in `LobbyCache.names` (and on the bus): the two kinds apart."""
    return f"{'c' if canonical else 's'}:{form}"


def name_keys(entry: RaceName) -> tuple[str, str]:
    return name_key(entry.canonical, canonical=True), name_key(entry.skeleton, canonical=False)


def listed(game: Game) -> bool:
    return game.visibility == "public" and game.status != "cancelled"


SortKey = tuple[int, int]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def sort_key(created_at: datetime, game_id: UUID) -> SortKey:
    """Ascending order of this key is the listing's order (PostgreSQL's `ORDER BY created_at
    DESC, id DESC`): exact microseconds, and a UUID's bytes compare as its integer does."""
    return (-((created_at - _EPOCH) // _MICROSECOND), -game_id.int)


@dataclass(frozen=True, slots=True)
class ListingEntry:
    key: SortKey
    game_id: UUID
    version: int
    status: GameStatus
    has_free_seats: bool
    engine_version: str
    folded_name: str
    created_at: datetime
    item: bytes


@dataclass(frozen=True, slots=True)
class ListingFilter:
    statuses: frozenset[str] | None = None
    free_seats: bool = False
    engine_version: str | None = None
    query: str | None = None

    def matches(self, entry: ListingEntry) -> bool:
        return (
            (self.statuses is None or entry.status in self.statuses)
            and (not self.free_seats or entry.has_free_seats)
            and (self.engine_version is None or entry.engine_version == self.engine_version)
            and (self.query is None or self.query in entry.folded_name)
        )


@dataclass(frozen=True, slots=True)
class ListingPage:
    """Items of one page from the index; `rest_after` is where the table must continue."""

    items: list[ListingEntry]
    more: bool
    rest_after: tuple[datetime, UUID] | None


class PublicListing:
    """The bounded, invalidation-safe index of listed games; see the module's description."""

    name = "lobby-listing"

    def __init__(
        self,
        *,
        newest: Callable[[int], Awaitable[Sequence[Game]]],
        reload: Callable[[Sequence[UUID]], Awaitable[Sequence[Game]]],
        render: Callable[[Game], dict[str, Any]],
        limits: CacheLimits | None = None,
    ) -> None:
        self._newest = newest
        self._reload = reload
        self._render = render
        self._limits = limits or CacheLimits()
        self._keys: list[SortKey] = []
        # The same keys by status: a page filtered by status walks only those statuses.
        self._keys_by_status: dict[str, list[SortKey]] = {}
        self._entries: dict[SortKey, ListingEntry] = {}
        self._by_id: dict[UUID, ListingEntry] = {}
        # Versions of games known to be unlisted now (cancelled, private), newest wins.
        self._gone: dict[UUID, int] = {}
        # The oldest game the index reaches; None: every listed game is in the index.
        self._floor: SortKey | None = None
        self._floor_at: tuple[datetime, UUID] | None = None
        self._stale: set[UUID] = set()
        self._warming: set[UUID] | None = None
        self._lock = asyncio.Lock()
        self._ready = False

    def ready(self) -> bool:
        return self._ready

    def __len__(self) -> int:
        return len(self._keys)

    async def warm(self) -> None:
        self._ready = False
        self._warming = set()
        limit = min(self._limits.warm_entries, self._limits.max_entries)
        try:
            games = await self._newest(limit)
        except BaseException:
            self._warming = None
            raise
        touched, self._warming = self._warming, None
        self._keys, self._entries, self._by_id, self._gone = [], {}, {}, {}
        for game in games:
            if listed(game):
                self._insert(self._entry(game))
        self._keys = sorted(self._entries)
        self._keys_by_status = {}
        for key in self._keys:
            self._keys_by_status.setdefault(self._entries[key].status, []).append(key)
        if limit == 0:
            # Nothing loaded: the index reaches only games created from now on.
            now, last = datetime.now(UTC), UUID(int=(1 << 128) - 1)
            self._floor, self._floor_at = sort_key(now, last), (now, last)
        else:
            self._set_floor(self._keys[-1] if self._keys and len(games) >= limit else None)
        # Whatever changed while the rows were read is read again on first use.
        self._stale |= touched
        self._ready = True
        _log.info("cache warm", cache=self.name, entries=len(self._keys))

    def put(self, game: Game) -> None:
        """After the commit that made `game` true."""
        if self._warming is not None:
            self._warming.add(game.id)
        self._apply(game)

    def discard(self, game_id: UUID) -> None:
        """Another replica changed the game: reload it before the next page is served."""
        if self._warming is not None:
            self._warming.add(game_id)
        self._stale.add(game_id)

    async def page(self, wanted: ListingFilter, after: SortKey | None, limit: int) -> ListingPage:
        # A reload in flight may be for an invalidation this read came after: wait for it.
        if self._stale or self._lock.locked():
            await self._refresh()
        if wanted.statuses is None:
            lists = [self._keys]
        else:
            lists = [self._keys_by_status.get(status, []) for status in wanted.statuses]
        # No await below: the index cannot change under this walk.
        walks = [_after(keys, after) for keys in lists if keys]
        items: list[ListingEntry] = []
        entries = self._entries
        for key in walks[0] if len(walks) == 1 else heapq.merge(*walks):
            entry = entries[key]
            if wanted.matches(entry):
                items.append(entry)
                if len(items) > limit:
                    break
        more = len(items) > limit
        items = items[:limit]
        # The index ran out before the page filled: the table holds what is past the floor.
        rest_after = self._floor_at if not more and self._floor is not None else None
        return ListingPage(items=items, more=more, rest_after=rest_after)

    def covers(self, after: SortKey | None) -> bool:
        """Whether a page starting after `after` begins inside the index."""
        return self._floor is None or after is None or after < self._floor

    async def _refresh(self) -> None:
        async with self._lock:
            if not self._stale:
                return
            ids, self._stale = list(self._stale), set()
            try:
                games = {game.id: game for game in await self._reload(ids)}
            except BaseException:
                self._stale.update(ids)
                raise
            for game_id in ids:
                game = games.get(game_id)
                if game is None:
                    self._remove(game_id)
                else:
                    self._apply(game)

    def _apply(self, game: Game) -> None:
        current = self._by_id.get(game.id)
        if current is not None and current.version > game.version:
            return
        if self._gone.get(game.id, -1) > game.version:
            return
        if current is not None:
            self._remove(game.id)
        if not listed(game):
            self._gone[game.id] = game.version
            return
        self._gone.pop(game.id, None)
        entry = self._entry(game)
        if self._floor is not None and entry.key > self._floor:
            return  # older than the index reaches: the table serves it
        bisect.insort(self._keys, entry.key)
        bisect.insort(self._keys_by_status.setdefault(entry.status, []), entry.key)
        self._insert(entry)
        while len(self._keys) > self._limits.max_entries:
            oldest = self._keys.pop()
            dropped = self._entries.pop(oldest)
            self._by_id.pop(dropped.game_id, None)
            _delete(self._keys_by_status[dropped.status], oldest)
            self._set_floor(self._keys[-1] if self._keys else None, fallback=dropped)

    def _set_floor(self, key: SortKey | None, fallback: ListingEntry | None = None) -> None:
        entry = self._entries.get(key) if key is not None else fallback
        if entry is None:
            self._floor, self._floor_at = None, None
            return
        self._floor, self._floor_at = entry.key, (entry.created_at, entry.game_id)

    def _insert(self, entry: ListingEntry) -> None:
        self._entries[entry.key] = entry
        self._by_id[entry.game_id] = entry

    def _remove(self, game_id: UUID) -> None:
        entry = self._by_id.pop(game_id, None)
        if entry is None:
            return
        del self._entries[entry.key]
        _delete(self._keys, entry.key)
        _delete(self._keys_by_status.get(entry.status, []), entry.key)

    def render(self, game: Game) -> bytes:
        """The listing item of a game, as JSON."""
        return orjson.dumps(self._render(game), option=orjson.OPT_UTC_Z)

    def _entry(self, game: Game) -> ListingEntry:
        return ListingEntry(
            key=sort_key(game.created_at, game.id),
            game_id=game.id,
            version=game.version,
            status=game.status,
            has_free_seats=game.free_seats > 0,
            engine_version=game.engine_version,
            # Lower case as the table's lower(name) has it: pages past the floor match alike.
            folded_name=game.name.lower(),
            created_at=game.created_at,
            item=self.render(game),
        )


def _after(keys: list[SortKey], after: SortKey | None) -> Iterator[SortKey]:
    """The keys of a sorted list past `after`, without copying the list."""
    start = 0 if after is None else bisect.bisect_right(keys, after)
    return (keys[i] for i in range(start, len(keys)))


def _delete(keys: list[SortKey], key: SortKey) -> None:
    index = bisect.bisect_left(keys, key)
    if index < len(keys) and keys[index] == key:
        del keys[index]


class LobbyCache:
    """The caches of the lobby service (see the module's description)."""

    def __init__(
        self,
        *,
        recent_games: Callable[[int], Awaitable[Sequence[Game]]],
        recent_names: Callable[[int], Awaitable[Sequence[RaceName]]],
        newest_listed: Callable[[int], Awaitable[Sequence[Game]]],
        reload_games: Callable[[Sequence[UUID]], Awaitable[Sequence[Game]]],
        render_listed: Callable[[Game], dict[str, Any]],
        limits: CacheLimits | None = None,
    ) -> None:
        async def games_warm(limit: int) -> list[tuple[UUID, Game]]:
            return [(game.id, game) for game in await recent_games(limit)]

        async def names_warm(limit: int) -> list[tuple[str, NameSlot]]:
            # Each entry fills two slots: one query of half as many entries.
            entries = await recent_names((limit + 1) // 2)
            return [(key, NameSlot(n)) for n in entries for key in name_keys(n)]

        self.games: WriteThroughCache[UUID, Game] = WriteThroughCache(
            "lobby-games", games_warm, limits
        )
        self.names: WriteThroughCache[str, NameSlot] = WriteThroughCache(
            "lobby-race-names", names_warm, limits
        )
        self.listing = PublicListing(
            newest=newest_listed, reload=reload_games, render=render_listed, limits=limits
        )

    def all(self) -> list[Any]:
        return [self.games, self.names, self.listing]

    def put_game(self, game: Game) -> None:
        current = self.games.get(game.id)
        if current is None or current.version <= game.version:
            self.games.put(game.id, game)
        self.listing.put(game)

    def discard_game(self, game_id: UUID) -> None:
        self.games.discard(game_id)
        self.listing.discard(game_id)

    def put_name(self, entry: RaceName) -> None:
        slot = NameSlot(None if entry.status == "released" else entry)
        for key in name_keys(entry):
            self.names.put(key, slot)
