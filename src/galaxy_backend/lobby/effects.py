"""The lobby's unit of work: what a changed game or race name brings with it.

Every lobby write marks what it changed (the repository does, `GAMES` and `NAMES`); the
flushes here run before the commit and count the game's change (its `version`), tell the
other replicas, and register for after the commit the cache write and the push to the
game's people. No service method calls them: a write cannot forget its effects.
"""

from collections.abc import Hashable, Mapping
from contextlib import AbstractAsyncContextManager
from functools import partial
from typing import Any
from uuid import UUID

from galaxy_backend.kernel.cachebus import CacheBus
from galaxy_backend.lobby import repository
from galaxy_backend.lobby.cache import GAME_TOPIC, NAME_TOPIC, LobbyCache, name_keys
from galaxy_backend.lobby.models import Game, RaceName
from galaxy_backend.lobby.repository import GAMES, NAMES
from galaxy_backend.postgres import Database, Tx, transaction
from galaxy_backend.push import Publisher

GAME_UPDATED = "lobby.game.updated"


class LobbyEffects:
    """Opens the lobby's transactions with the flushes of its kinds of change."""

    def __init__(
        self, *, database: Database, bus: CacheBus, push: Publisher, cache: LobbyCache
    ) -> None:
        self._database = database
        self._bus = bus
        self._push = push
        self._cache = cache

    def unit(self) -> AbstractAsyncContextManager[Tx]:
        """A transaction whose game and race-name changes carry their effects."""
        return transaction(
            self._database, flushes={GAMES: self._flush_games, NAMES: self._flush_names}
        )

    async def _flush_games(self, tx: Tx, marked: Mapping[Hashable, Any]) -> dict[Hashable, Any]:
        """Each changed game counted once more, announced; cached and pushed after commit."""
        done: dict[Hashable, Any] = {}
        for key in marked:
            assert isinstance(key, UUID)
            game = await repository.touch_game(tx.conn, key)
            await self._bus.invalidate(tx.conn, GAME_TOPIC, str(key))
            tx.after_commit(partial(self._published, game))
            done[key] = game
        return done

    async def _flush_names(self, tx: Tx, marked: Mapping[Hashable, Any]) -> dict[Hashable, Any]:
        entries = [e for e in marked.values() if isinstance(e, RaceName)]
        if entries:
            await self._bus.invalidate(
                tx.conn, NAME_TOPIC, *(k for e in entries for k in name_keys(e))
            )
        for entry in entries:
            tx.after_commit(partial(self._cache.put_name, entry))
        return dict(marked)

    def _published(self, game: Game) -> None:
        self._cache.put_game(game)
        self._push.publish(
            GAME_UPDATED,
            {
                "game_id": str(game.id),
                "status": game.status,
                "approved_count": game.approved_count,
                "current_turn": game.current_turn,
                "version": game.version,
            },
            user_ids=[str(u) for u in {game.owner_id, *game.player_ids}],
        )
