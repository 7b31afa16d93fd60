"""What the lobby needs of other domains, as protocols their adapters satisfy."""

from collections.abc import Sequence
from typing import Protocol
from uuid import UUID

from galaxy_backend.lobby.models import EngineOffer, GameStart
from galaxy_backend.notification.models import Notice
from galaxy_backend.postgres import Tx
from galaxy_backend.user.models import Entitlements, User


class Notifier(Protocol):
    """The notification service, through an adapter (it is built after the lobby)."""

    async def post(self, tx: Tx, notice: Notice) -> list[UUID]:
        """Create the notifications in the caller's transaction; the ids created."""
        ...


class RuntimeControl(Protocol):
    """The runtime, through an adapter (lobby and runtime depend on each other)."""

    async def start_game(self, tx: Tx, game: GameStart) -> None:
        """Queue the engine's start in the caller's transaction; the result comes back
        through `LobbyService.on_runtime_job_result`."""
        ...

    async def stop_game(self, tx: Tx, game_id: UUID, *, reason: str) -> None:
        """Queue the engine's stop in the caller's transaction."""
        ...

    async def engine_offers(self) -> Sequence[EngineOffer]:
        """The engine versions new games may use: the registry's, less those taken out."""
        ...


class UserEntitlements(Protocol):
    """The seed's user-entitlement adapter: the user service satisfies it."""

    async def get(self, user_id: UUID) -> User: ...

    def entitlements(self, user: User) -> Entitlements: ...
