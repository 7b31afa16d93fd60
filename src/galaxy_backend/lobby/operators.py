"""Operators' actions on the lobby: cancelling a game, releasing a race name (audited)."""

from uuid import UUID

from galaxy_backend.audit.trail import Actor, write_audit
from galaxy_backend.lobby import notices, repository, steps
from galaxy_backend.lobby.errors import RaceNameNotFound, RaceNameReleased
from galaxy_backend.lobby.models import Game, RaceName
from galaxy_backend.lobby.repository import GAMES
from galaxy_backend.lobby.status import check_transition
from galaxy_backend.lobby.steps import LobbyContext


class OperatorActions:
    def __init__(self, ctx: LobbyContext) -> None:
        self._ctx = ctx

    async def cancel_game(self, game_id: UUID, *, reason: str, actor: Actor) -> Game:
        async with self._ctx.unit() as tx:
            game = await steps.locked_game(tx, game_id)
            check_transition(game.status, "cancelled", "cancel the game")
            await write_audit(
                tx.conn,
                actor,
                "game.cancel",
                target_type="game",
                target_id=str(game_id),
                details={"reason": reason, "status": game.status},
            )
            await steps.cancel(self._ctx, tx, game, reason=reason)
        return steps.final(tx, game_id)

    async def release_race_name(self, entry_id: UUID, *, reason: str, actor: Actor) -> RaceName:
        """Free a name now; an application that held it is closed, an approved player keeps
        their place under the name (the directory no longer protects it)."""
        async with self._ctx.unit() as tx:
            entry = await repository.get_race_name(tx.conn, entry_id)
            if entry is None:
                raise RaceNameNotFound("no such race name")
            if entry.status == "released":
                raise RaceNameReleased("the race name is released already")
            game = await repository.get_game(tx.conn, entry.game_id, lock=True)
            application = await repository.get_application(tx.conn, entry.application_id, lock=True)
            if application is not None and application.status == "pending" and game is not None:
                await steps.move_application(tx, application, "closed", "close it")
                await self._ctx.tell(
                    tx, notices.application_closed(game, application, reason="race_name_released")
                )
            released = await repository.release_race_names(
                tx, [entry.application_id], "released_by_admin"
            )
            if not released:
                # Released meanwhile (a withdrawal, a rejection): nothing left to do.
                raise RaceNameReleased("the race name is released already")
            await write_audit(
                tx.conn,
                actor,
                "race_name.release",
                target_type="race_name",
                target_id=str(entry_id),
                details={"name": entry.name, "reason": reason, "game_id": str(entry.game_id)},
            )
            if game is not None:
                # The game's page shows its players' names: it changed with the directory.
                tx.changed(GAMES, game.id)
        return released[0]
