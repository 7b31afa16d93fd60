"""The public listing's index: order, bounds, and invalidation winning over reloads."""

import asyncio
import dataclasses
import random
import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any
from uuid import UUID

from galaxy_backend.kernel.cache import CacheLimits
from galaxy_backend.lobby.cache import ListingFilter, PublicListing, sort_key
from galaxy_backend.lobby.models import Game
from galaxy_backend.lobby.views import summary_view
from tests.lobby.fakes import EPOCH, a_game


def game(n: int, **changes: Any) -> Game:
    return a_game(
        **{
            "id": uuid.UUID(int=n),
            "owner_id": uuid.UUID(int=999),
            "name": f"Game {n}",
            "created_at": EPOCH + timedelta(minutes=n),
            **changes,
        }
    )


class Table:
    """The database as the index sees it: the newest listed games, and rows by id."""

    def __init__(self, games: list[Game]) -> None:
        self.rows = {g.id: g for g in games}
        self.reload_gate: asyncio.Event | None = None
        self.reloading = asyncio.Event()
        self.reloads = 0

    async def newest(self, limit: int) -> list[Game]:
        listed = [
            g for g in self.rows.values() if g.visibility == "public" and g.status != "cancelled"
        ]
        return sorted(listed, key=lambda g: sort_key(g.created_at, g.id))[:limit]

    async def reload(self, ids: Sequence[UUID]) -> list[Game]:
        self.reloads += 1
        found = [self.rows[i] for i in ids if i in self.rows]
        self.reloading.set()
        if self.reload_gate is not None:
            await self.reload_gate.wait()
        return found

    def change(self, g: Game, **changes: Any) -> Game:
        changed = dataclasses.replace(g, version=g.version + 1, **changes)
        self.rows[g.id] = changed
        return changed


def index(table: Table, **limits: Any) -> PublicListing:
    return PublicListing(
        newest=table.newest,
        reload=table.reload,
        render=summary_view,
        limits=CacheLimits(**limits),
    )


async def names(
    listing: PublicListing, wanted: ListingFilter | None = None, limit: int = 100
) -> list[str]:
    page = await listing.page(wanted or ListingFilter(), None, limit)
    return [str(e.game_id.int) for e in page.items]


async def test_newest_first_and_filters() -> None:
    table = Table(
        [
            game(1),
            game(2, status="running"),
            game(3, approved_count=4),
            game(4, visibility="private"),
        ]
    )
    listing = index(table)
    await listing.warm()
    assert listing.ready()
    assert await names(listing) == ["3", "2", "1"]
    assert await names(listing, ListingFilter(statuses=frozenset({"running"}))) == ["2"]
    assert await names(listing, ListingFilter(free_seats=True)) == ["2", "1"]
    assert await names(listing, ListingFilter(query="game 1")) == ["1"]


async def test_pages_continue_after_the_cursor() -> None:
    table = Table([game(n) for n in range(1, 8)])
    listing = index(table)
    await listing.warm()
    first = await listing.page(ListingFilter(), None, 3)
    assert [e.game_id.int for e in first.items] == [7, 6, 5]
    assert first.more
    second = await listing.page(ListingFilter(), first.items[-1].key, 3)
    assert [e.game_id.int for e in second.items] == [4, 3, 2]
    assert second.rest_after is None


async def test_the_index_is_bounded_and_hands_older_pages_to_the_table() -> None:
    table = Table([game(n) for n in range(1, 11)])
    listing = index(table, max_entries=4, warm_entries=3)
    await listing.warm()
    assert len(listing) == 3
    page = await listing.page(ListingFilter(), None, 10)
    assert [e.game_id.int for e in page.items] == [10, 9, 8]
    # The table continues after the oldest game the index holds.
    assert page.rest_after == (game(8).created_at, game(8).id)
    assert not listing.covers(sort_key(game(8).created_at, game(8).id))
    # New games go in; beyond max_entries the oldest drop out and the floor moves up.
    for n in (11, 12):
        listing.put(game(n))
    assert len(listing) == 4
    page = await listing.page(ListingFilter(), None, 10)
    assert [e.game_id.int for e in page.items] == [12, 11, 10, 9]
    assert page.rest_after == (game(9).created_at, game(9).id)
    # A change to a game older than the floor is the table's business.
    listing.put(game(2, name="Renamed", version=5))
    assert len(listing) == 4


async def test_a_page_by_status_is_the_whole_walk_filtered() -> None:
    # Pages filtered by status walk those statuses only; through puts, status changes,
    # games leaving the listing and the oldest dropping out, they must not differ.
    rng = random.Random(7)
    statuses: list[Any] = ["enrollment_open", "running", "finished", "cancelled"]
    table = Table([game(n, status=rng.choice(statuses[:3])) for n in range(1, 40)])
    listing = index(table, max_entries=30, warm_entries=25)
    await listing.warm()
    games = dict(table.rows)
    for _ in range(300):
        n = rng.randint(1, 60)
        current = games.get(UUID(int=n))
        changed = dataclasses.replace(
            current or game(n),
            status=rng.choice(statuses),
            visibility=rng.choice(["public", "public", "public", "private"]),
            version=current.version + 1 if current else 0,
        )
        games[changed.id] = changed
        listing.put(changed)
        wanted = frozenset(rng.sample(statuses[:3], rng.randint(1, 2)))
        everything = (await listing.page(ListingFilter(), None, 1000)).items
        expected = [e for e in everything if e.status in wanted]
        assert (await listing.page(ListingFilter(statuses=wanted), None, 1000)).items == expected
        if expected:
            k = rng.randrange(len(expected))
            page = await listing.page(ListingFilter(statuses=wanted), expected[k].key, 3)
            assert page.items == expected[k + 1 : k + 4]
            assert page.more == (len(expected) > k + 4)


async def test_an_invalidation_reloads_the_game_before_the_next_page() -> None:
    first = game(1)
    table = Table([first])
    listing = index(table)
    await listing.warm()
    table.change(first, status="cancelled")
    listing.discard(first.id)
    assert await names(listing) == []
    table.rows[first.id] = dataclasses.replace(
        table.rows[first.id], status="enrollment_open", version=2
    )
    listing.discard(first.id)
    assert await names(listing) == ["1"]


async def test_an_invalidation_during_a_reload_wins() -> None:
    first = game(1)
    table = Table([first])
    listing = index(table)
    await listing.warm()
    table.change(first, name="Second")
    listing.discard(first.id)
    table.reload_gate = asyncio.Event()
    reading = asyncio.create_task(listing.page(ListingFilter(), None, 10))
    await table.reloading.wait()
    # Changed again while the reload is in flight (it read "Second").
    table.change(table.rows[first.id], name="Third")
    listing.discard(first.id)
    table.reload_gate.set()
    await reading
    table.reload_gate = None
    page = await listing.page(ListingFilter(), None, 10)
    assert page.items[0].folded_name == "third"


async def test_a_page_read_while_a_reload_is_in_flight_waits_for_it() -> None:
    first = game(1)
    table = Table([first])
    listing = index(table)
    await listing.warm()
    table.change(first, name="Second")
    listing.discard(first.id)
    table.reload_gate = asyncio.Event()
    reading = asyncio.create_task(listing.page(ListingFilter(), None, 10))
    await table.reloading.wait()
    # This read came after the invalidation: it must not be answered with the old copy.
    later = asyncio.create_task(listing.page(ListingFilter(), None, 10))
    table.reload_gate.set()
    pages = await asyncio.gather(reading, later)
    assert [p.items[0].folded_name for p in pages] == ["second", "second"]
    assert table.reloads == 1


async def test_an_older_copy_never_replaces_a_newer_one() -> None:
    first = game(1)
    table = Table([first])
    listing = index(table)
    await listing.warm()
    newer = dataclasses.replace(first, name="Newer", version=3)
    listing.put(newer)
    listing.put(dataclasses.replace(first, name="Older", version=2))
    page = await listing.page(ListingFilter(), None, 10)
    assert page.items[0].folded_name == "newer"
    # Nor does an old copy bring back a game that has since left the listing.
    listing.put(dataclasses.replace(first, status="cancelled", version=4))
    listing.put(dataclasses.replace(first, version=3))
    assert await names(listing) == []


async def test_changes_while_warming_are_read_again() -> None:
    first = game(1)
    table = Table([first])
    gate, reading = asyncio.Event(), asyncio.Event()

    async def slow(limit: int) -> list[Game]:
        rows = await table.newest(limit)
        reading.set()
        await gate.wait()
        return rows

    listing = PublicListing(newest=slow, reload=table.reload, render=summary_view)
    warming = asyncio.create_task(listing.warm())
    await reading.wait()
    table.change(first, name="Changed")
    listing.discard(first.id)
    gate.set()
    await warming
    page = await listing.page(ListingFilter(), None, 10)
    assert page.items[0].folded_name == "changed"
