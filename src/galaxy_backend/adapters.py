"""Forwarders that break construction cycles (the seed's adapters).

Each adapter is built before its target exists and handed to whoever needs it; `wiring.py`
patches the target in once it is built. Adapters never hold domain logic: they forward,
and do nothing while the target is still unset (the state during boot).
"""

from collections.abc import Sequence
from typing import Generic, Protocol, TypeVar
from uuid import UUID

from galaxy_backend.console.status import ComponentStates
from galaxy_backend.lobby.models import EngineOffer, GameStart
from galaxy_backend.lobby.ports import RuntimeControl
from galaxy_backend.notification.models import Notice
from galaxy_backend.postgres import Tx
from galaxy_backend.user.service import Notifier, SessionRevoker

T = TypeVar("T")


class Forwarder(Generic[T]):
    """Holds the late-bound target; patching twice is a wiring bug."""

    def __init__(self) -> None:
        self._target: T | None = None

    @property
    def target(self) -> T | None:
        return self._target

    def patch(self, target: T) -> None:
        if self._target is not None:
            raise RuntimeError(f"{type(self).__name__} is already patched")
        self._target = target


class StopRequester(Protocol):
    def request_stop(self, reason: str, *, failed: bool = False) -> None: ...


class FailureReporterAdapter(Forwarder[StopRequester]):
    """Lets components built before the App ask it to stop when they fail at run time."""

    def __call__(self, reason: str) -> None:
        target = self.target
        if target is not None:
            target.request_stop(reason, failed=True)


class SessionRevokerAdapter(Forwarder[SessionRevoker]):
    """user → auth: revoke a player's sessions (auth itself is built after user)."""

    async def revoke_user_sessions(self, user_id: UUID, *, reason: str) -> int:
        target = self.target
        if target is None:
            return 0
        return await target.revoke_user_sessions(user_id, reason=reason)


class NotifierAdapter(Forwarder[Notifier]):
    """user, lobby, runtime → notification: notices in the caller's transaction
    (notification is built last: it needs accounts, mail and push)."""

    async def post(self, tx: Tx, notice: Notice) -> list[UUID]:
        target = self.target
        if target is None:
            return []
        return await target.post(tx, notice)


class RuntimeControlAdapter(Forwarder[RuntimeControl]):
    """lobby → runtime: start and stop engines, the engine versions games may use (the
    runtime also calls back into the lobby). While unpatched a started game waits in
    `starting`, and no version is offered."""

    async def start_game(self, tx: Tx, game: GameStart) -> None:
        target = self.target
        if target is not None:
            await target.start_game(tx, game)

    async def stop_game(self, tx: Tx, game_id: UUID, *, reason: str) -> None:
        target = self.target
        if target is not None:
            await target.stop_game(tx, game_id, reason=reason)

    async def engine_offers(self) -> Sequence[EngineOffer]:
        target = self.target
        return [] if target is None else await target.engine_offers()


class ComponentStatesAdapter(Forwarder[ComponentStates]):
    """console → app: the components and which have started (the App is built last, from
    the listener that serves the console)."""

    @property
    def names(self) -> list[str]:
        target = self.target
        return [] if target is None else target.names

    @property
    def started(self) -> list[str]:
        target = self.target
        return [] if target is None else target.started
