"""The lobby's reads: games (from the cache first), listings, applications, race names."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from galaxy_backend.kernel.cache import CacheLimits
from galaxy_backend.kernel.cursors import decode_cursor, encode_cursor, page_of
from galaxy_backend.kernel.errors import NotFound
from galaxy_backend.lobby import repository, rules
from galaxy_backend.lobby.cache import ListingFilter, LobbyCache, NameSlot, name_key, sort_key
from galaxy_backend.lobby.engines import RegisteredEngines
from galaxy_backend.lobby.errors import GameNotFound, InviteNotFound
from galaxy_backend.lobby.models import Application, Game, RaceName, Role
from galaxy_backend.lobby.ports import RuntimeControl
from galaxy_backend.lobby.racenames import RaceNameForms
from galaxy_backend.lobby.views import summary_view
from galaxy_backend.postgres import Database


@dataclass(frozen=True, slots=True)
class ListingQuery:
    statuses: tuple[str, ...] | None = None
    free_seats: bool = False
    engine_version: str | None = None
    query: str | None = None
    cursor: str | None = None
    limit: int = 20


@dataclass(frozen=True, slots=True)
class ListingResult:
    """Items as pre-encoded JSON, the cursor of the next page."""

    items: list[bytes]
    next_cursor: str | None


def build_cache(database: Database, limits: CacheLimits | None) -> LobbyCache:
    """The lobby's caches, loading from the database."""

    async def recent_games(limit: int) -> list[Game]:
        async with database.pool.acquire() as conn:
            return await repository.recent_games(conn, limit)

    async def recent_names(limit: int) -> list[RaceName]:
        async with database.pool.acquire() as conn:
            return await repository.recent_race_names(conn, limit)

    async def newest_listed(limit: int) -> list[Game]:
        async with database.pool.acquire() as conn:
            return await repository.newest_listed(conn, limit)

    async def games_by_ids(ids: Sequence[UUID]) -> list[Game]:
        async with database.pool.acquire() as conn:
            return await repository.games_by_ids(conn, ids)

    return LobbyCache(
        recent_games=recent_games,
        recent_names=recent_names,
        newest_listed=newest_listed,
        reload_games=games_by_ids,
        render_listed=summary_view,
        limits=limits,
    )


class LobbyQueries:
    def __init__(self, *, database: Database, cache: LobbyCache, runtime: RuntimeControl) -> None:
        self._database = database
        self.cache = cache
        self._runtime = runtime

    async def _load_game(self, game_id: UUID) -> Game | None:
        async with self._database.pool.acquire() as conn:
            return await repository.get_game(conn, game_id)

    async def game(self, game_id: UUID) -> Game:
        """The game with its players, from the cache or else the database."""
        game = await self.cache.games.get_or_load(game_id, lambda: self._load_game(game_id))
        if game is None:
            raise GameNotFound("no such game")
        return game

    async def is_public(self, game_id: UUID) -> bool:
        """Whether anyone may see the game's page (the runtime's gameplay refusals say so)."""
        try:
            return (await self.game(game_id)).visibility == "public"
        except NotFound:
            return False

    async def game_for(self, user_id: UUID, game_id: UUID) -> tuple[Game, Role | None]:
        """The game as this player may see it: a private game is not found by outsiders."""
        game = await self.game(game_id)
        role = rules.role_of(game, user_id)
        if role is None:
            async with self._database.pool.acquire() as conn:
                live = await repository.live_application_of(conn, game_id, user_id)
            if live is not None:
                role = "applicant"
        rules.check_visible(game, role)
        return game, role

    async def game_by_invite(self, user_id: UUID, invite_code: str) -> tuple[Game, Role | None]:
        async with self._database.pool.acquire() as conn:
            game = await repository.game_by_invite(conn, invite_code)
        if game is None:
            raise InviteNotFound("no game has this invite code")
        return game, rules.role_of(game, user_id)

    async def games_of(
        self, user_id: UUID, *, cursor: str | None, limit: int
    ) -> tuple[list[tuple[Game, Role | None]], str | None]:
        after = decode_cursor(cursor) if cursor else None
        async with self._database.pool.acquire() as conn:
            games = await repository.games_of_user(conn, user_id, after=after, limit=limit + 1)
        page, following = page_of(games, limit)
        return [(g, rules.role_of(g, user_id, applicant=True)) for g in page], following

    async def list_public(self, query: ListingQuery) -> ListingResult:
        """The public listing, from the in-memory index; pages past its floor from the table."""
        after = decode_cursor(query.cursor) if query.cursor else None
        wanted = ListingFilter(
            statuses=frozenset(query.statuses) if query.statuses else None,
            free_seats=query.free_seats,
            engine_version=query.engine_version,
            query=query.query.lower() if query.query else None,
        )
        key = sort_key(*after) if after else None
        listing = self.cache.listing
        items: list[bytes] = []
        last: tuple[datetime, UUID] | None = None
        rest_after = after
        if listing.covers(key):
            page = await listing.page(wanted, key, query.limit)
            items = [entry.item for entry in page.items]
            if page.items:
                last = (page.items[-1].created_at, page.items[-1].game_id)
            if page.more:
                assert last is not None
                return ListingResult(items, encode_cursor(*last))
            if page.rest_after is None:
                return ListingResult(items, None)
            rest_after = page.rest_after
        wanted_more = query.limit - len(items)
        async with self._database.pool.acquire() as conn:
            games = await repository.list_public(
                conn,
                statuses=query.statuses,
                free_seats=query.free_seats,
                engine_version=query.engine_version,
                query=query.query,
                after=rest_after,
                limit=wanted_more + 1,
            )
        more = len(games) > wanted_more
        for game in games[:wanted_more]:
            items.append(listing.render(game))
            last = (game.created_at, game.id)
        return ListingResult(items, encode_cursor(*last) if more and last else None)

    async def engines(self) -> list[dict[str, Any]]:
        """The engine versions games may use (the runtime's registry), with the settings
        each takes."""
        offers = await self._runtime.engine_offers()
        engines = RegisteredEngines(offers)
        return [
            {
                "version": offer.version,
                "default": offer.default,
                "settings_schema": engines.settings_schema(offer.version),
                "max_players_default_map": engines.max_players(offer.version, {}),
            }
            for offer in offers
        ]

    async def applications(
        self, user_id: UUID, game_id: UUID, *, cursor: str | None, limit: int
    ) -> tuple[list[Application], str | None]:
        """Every application to the game for its owner; a player's own for anyone else."""
        _, role = await self.game_for(user_id, game_id)
        after = decode_cursor(cursor) if cursor else None
        async with self._database.pool.acquire() as conn:
            found = await repository.applications_of_game(
                conn,
                game_id,
                user_id=None if role == "owner" else user_id,
                after=after,
                limit=limit + 1,
            )
        return page_of(found, limit)

    async def race_name_holder(self, raw: str) -> tuple[RaceNameForms, RaceName | None]:
        """The name's forms and the live entry that holds either of them, if any."""
        forms = rules.forms(raw)
        holder = await self._slot(forms.canonical, canonical=True)
        if holder is None:
            holder = await self._slot(forms.skeleton, canonical=False)
        return forms, holder

    async def _slot(self, form: str, *, canonical: bool) -> RaceName | None:
        async def load() -> NameSlot:
            async with self._database.pool.acquire() as conn:
                entry = await (
                    repository.live_race_name(conn, canonical=form)
                    if canonical
                    else repository.live_race_name(conn, skeleton=form)
                )
            return NameSlot(entry)

        slot = await self.cache.names.get_or_load(name_key(form, canonical=canonical), load)
        return slot.entry if slot is not None else None

    async def race_names_of(self, user_id: UUID) -> list[RaceName]:
        async with self._database.pool.acquire() as conn:
            return await repository.race_names_of_user(conn, user_id)

    async def search(
        self,
        *,
        query: str | None,
        statuses: Sequence[str] | None,
        owner_id: UUID | None,
        cursor: str | None,
        limit: int,
    ) -> tuple[list[Game], str | None]:
        """Operators' search over every game."""
        after = decode_cursor(cursor) if cursor else None
        async with self._database.pool.acquire() as conn:
            games = await repository.search_games(
                conn,
                query=query,
                statuses=statuses,
                owner_id=owner_id,
                after=after,
                limit=limit + 1,
            )
        return page_of(games, limit)

    async def find_race_names(self, raw: str) -> list[RaceName]:
        _, holder = await self.race_name_holder(raw)
        return [holder] if holder is not None else []
