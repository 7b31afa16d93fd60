"""The lobby service: its parts built on one context, and what other domains ask of it.

Reads are `queries`; the owner's changes of games `games`; applications `applications`;
operators' actions `operators`; the sweeper's round lives in `Sweeper`. Every change is one
unit of work (`effects.py`) that locks what it counts (the game row for its seats and
status, a per-player advisory lock for a player's game limits), notifies in that
transaction, and writes the caches and pushes only after the commit.
"""

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from galaxy_backend.kernel.cache import CacheLimits
from galaxy_backend.kernel.cachebus import CacheBus
from galaxy_backend.lobby.applications import ApplicationCommands
from galaxy_backend.lobby.cache import GAME_TOPIC, NAME_TOPIC
from galaxy_backend.lobby.effects import LobbyEffects
from galaxy_backend.lobby.games import GameCommands
from galaxy_backend.lobby.models import Game, Role, RuntimeOutcome
from galaxy_backend.lobby.operators import OperatorActions
from galaxy_backend.lobby.ports import Notifier, RuntimeControl, UserEntitlements
from galaxy_backend.lobby.queries import LobbyQueries, build_cache
from galaxy_backend.lobby.steps import LobbyContext
from galaxy_backend.postgres import Database
from galaxy_backend.push import Publisher


class LobbyService:
    def __init__(
        self,
        *,
        database: Database,
        bus: CacheBus,
        push: Publisher,
        notifier: Notifier,
        runtime: RuntimeControl,
        users: UserEntitlements,
        pending_registration_ttl: timedelta,
        min_turn_interval: timedelta = timedelta(minutes=1),
        cache_limits: CacheLimits | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.cache = build_cache(database, cache_limits)
        effects = LobbyEffects(database=database, bus=bus, push=push, cache=self.cache)
        self.context = LobbyContext(
            database=database,
            unit=effects.unit,
            notifier=notifier,
            runtime=runtime,
            users=users,
            clock=clock,
            min_turn_interval=min_turn_interval,
            pending_registration_ttl=pending_registration_ttl,
        )
        self.queries = LobbyQueries(database=database, cache=self.cache, runtime=runtime)
        self.games = GameCommands(self.context)
        self.applications = ApplicationCommands(self.context)
        self.operators = OperatorActions(self.context)
        bus.subscribe(GAME_TOPIC, lambda key: self.cache.discard_game(UUID(key)))
        bus.subscribe(NAME_TOPIC, self.cache.names.discard)
        for cache in self.cache.all():
            bus.on_resync(cache.warm)

    # What other domains ask of the lobby (the runtime, the console).

    async def game(self, game_id: UUID) -> Game:
        return await self.queries.game(game_id)

    async def is_public(self, game_id: UUID) -> bool:
        return await self.queries.is_public(game_id)

    async def games_of(
        self, user_id: UUID, *, cursor: str | None, limit: int
    ) -> tuple[list[tuple[Game, Role | None]], str | None]:
        return await self.queries.games_of(user_id, cursor=cursor, limit=limit)

    async def on_runtime_job_result(
        self,
        game_id: UUID,
        outcome: RuntimeOutcome,
        *,
        message: str | None = None,
        turn: int | None = None,
        ranking: Sequence[Mapping[str, Any]] | None = None,
        detail: str | None = None,
    ) -> Game:
        """The seed's OnRuntimeJobResult (see `GameCommands.on_runtime_job_result`)."""
        return await self.games.on_runtime_job_result(
            game_id, outcome, message=message, turn=turn, ranking=ranking, detail=detail
        )
