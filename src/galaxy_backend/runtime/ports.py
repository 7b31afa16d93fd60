"""What the runtime needs of other domains, as protocols their services (or adapters) satisfy."""

from collections.abc import Mapping, Sequence
from typing import Any, Protocol
from uuid import UUID

from galaxy_backend.lobby.models import Game, RuntimeOutcome
from galaxy_backend.notification.models import Notice
from galaxy_backend.postgres import Tx


class LobbyResults(Protocol):
    """What the runtime tells the lobby (the lobby is built first; it reaches the runtime
    through an adapter)."""

    async def on_runtime_job_result(
        self,
        game_id: UUID,
        outcome: RuntimeOutcome,
        *,
        message: str | None = None,
        turn: int | None = None,
        ranking: Sequence[Mapping[str, Any]] | None = None,
        detail: str | None = None,
    ) -> object: ...


class Notifier(Protocol):
    """The notification service, through an adapter (it is built after the runtime)."""

    async def post(self, tx: Tx, notice: Notice) -> list[UUID]:
        """Store the notice for its recipients in the caller's transaction."""
        ...


class GameDirectory(Protocol):
    """The lobby's games: whether one is listed for everyone to see, and the game itself
    (for the reconciler, that makes the record again of an engine whose record was lost)."""

    async def is_public(self, game_id: UUID) -> bool: ...

    async def game(self, game_id: UUID) -> Game:
        """The game with its players; `GameNotFound` when the lobby has none."""
        ...
