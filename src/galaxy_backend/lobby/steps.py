"""The steps the lobby's changes share, each inside the caller's unit of work.

`move_game` and `move_application` are the only writers of a game's and an application's
status: each checks its table in `status.py` first. The start and the cancellation live
here too, as the owner, the operators and the sweeper all take them.
"""

import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from galaxy_backend.lobby import notices, repository, rules
from galaxy_backend.lobby.engines import EngineCatalog, RegisteredEngines
from galaxy_backend.lobby.errors import ApplicationNotFound, GameNotFound, RaceNameTaken
from galaxy_backend.lobby.models import Application, Game, GameStart, RaceName
from galaxy_backend.lobby.ports import Notifier, RuntimeControl, UserEntitlements
from galaxy_backend.lobby.racenames import RaceNameForms
from galaxy_backend.lobby.status import (
    ApplicationStatus,
    GameStatus,
    check_application_transition,
    check_path,
)
from galaxy_backend.notification.models import Notice
from galaxy_backend.postgres import Database, Tx
from galaxy_backend.telemetry import get_logger

_log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class LobbyContext:
    """What every part of the lobby works with (built once, in `LobbyService`)."""

    database: Database
    unit: Callable[[], AbstractAsyncContextManager[Tx]]
    notifier: Notifier
    runtime: RuntimeControl
    users: UserEntitlements
    clock: Callable[[], datetime]
    min_turn_interval: timedelta
    pending_registration_ttl: timedelta

    async def engines(self) -> EngineCatalog:
        """The runtime's registry as it is now: the one catalogue games choose from."""
        return RegisteredEngines(await self.runtime.engine_offers())

    async def tell(self, tx: Tx, notice: Notice) -> None:
        """Notify in this transaction (stored with the change, sent after it)."""
        await self.notifier.post(tx, notice)


async def locked_game(tx: Tx, game_id: UUID) -> Game:
    game = await repository.get_game(tx.conn, game_id, lock=True)
    if game is None:
        raise GameNotFound("no such game")
    return game


async def owned_game(tx: Tx, user_id: UUID, game_id: UUID) -> Game:
    """The game, locked, if `user_id` owns it."""
    game = await locked_game(tx, game_id)
    rules.check_owner(game, user_id)
    return game


async def locked_application(tx: Tx, game: Game, application_id: UUID) -> Application:
    application = await repository.get_application(tx.conn, application_id, lock=True)
    if application is None or application.game_id != game.id:
        raise ApplicationNotFound("no such application")
    return application


async def move_game(
    tx: Tx,
    game: Game,
    path: tuple[GameStatus, ...],
    action: str,
    *,
    cancel_reason: str | None = None,
) -> Game:
    """The one writer of a game's status: along `path` (checked), the game as it is now."""
    check_path(game.status, path, action)
    await repository.set_status(tx, game.id, path[-1], steps=len(path), cancel_reason=cancel_reason)
    return await locked_game(tx, game.id)


async def move_application(
    tx: Tx, application: Application, target: ApplicationStatus, action: str
) -> Application:
    """The one writer of an application's status (its table checked first)."""
    check_application_transition(application.status, target, action)
    return await repository.set_application_status(tx, application.id, target)


async def release(tx: Tx, application_ids: Sequence[UUID], reason: str) -> None:
    await repository.release_race_names(tx, application_ids, reason)


async def close_pending(ctx: LobbyContext, tx: Tx, game: Game, *, reason: str) -> None:
    closed = await repository.close_applications(tx, game.id, "pending", "closed")
    if not closed:
        return
    await release(tx, [a.id for a in closed], reason)
    for application in closed:
        await ctx.tell(tx, notices.application_closed(game, application, reason=reason))


async def claim_name(
    tx: Tx, forms: RaceNameForms, user_id: UUID, game_id: UUID, application_id: UUID
) -> RaceName:
    """The name's directory entry for this application, or 409 `race_name_taken` (whose
    details say whether the holder is the player themself, and then where)."""
    entry = await repository.claim_race_name(
        tx,
        entry_id=uuid.uuid4(),
        name=forms.display,
        canonical=forms.canonical,
        skeleton=forms.skeleton,
        user_id=user_id,
        game_id=game_id,
        application_id=application_id,
    )
    if entry is not None:
        return entry
    holder = await repository.live_race_name(
        tx.conn, canonical=forms.canonical, skeleton=forms.skeleton
    )
    mine = holder is not None and holder.user_id == user_id
    details: dict[str, Any] = {"held_by_you": mine}
    if holder is not None and mine:
        details.update(game_id=str(holder.game_id), race_name=holder.name, status=holder.status)
    raise RaceNameTaken(
        "you hold this race name already, in another game; a race name is one race"
        if mine
        else "this race name, or one that looks the same, is taken",
        details=details,
    )


async def start(ctx: LobbyContext, tx: Tx, game: Game, *, reason: str, by: str) -> None:
    """Close enrollment and queue the engine's start (the owner, or the sweeper)."""
    path = rules.start_path(game)
    await close_pending(ctx, tx, game, reason="enrollment_closed")
    changed = await move_game(tx, game, path, "start the game")
    await ctx.runtime.start_game(
        tx,
        GameStart(
            game_id=changed.id,
            game_name=changed.name,
            owner_id=changed.owner_id,
            engine_version=changed.engine_version,
            settings=changed.settings,
            turn_schedule=changed.turn_schedule,
            turn_time_zone=changed.turn_time_zone,
            run_when_all_orders_in=changed.run_when_all_orders_in,
            players=changed.players,
        ),
    )
    await ctx.tell(tx, notices.status_changed(changed, previous=game.status, reason=reason))
    _log.info("game start queued", game_id=str(game.id), by=by)


async def cancel(ctx: LobbyContext, tx: Tx, game: Game, *, reason: str) -> None:
    """Cancel (the owner or an operator): its engine stopped, its names freed, all told."""
    check_path(game.status, ("cancelled",), "cancel the game")
    if game.status in rules.ENGINE_STATUSES:
        await ctx.runtime.stop_game(tx, game.id, reason="cancelled")
    await close_pending(ctx, tx, game, reason="game_cancelled")
    await release(tx, [p.application_id for p in game.players], "game_cancelled")
    changed = await move_game(tx, game, ("cancelled",), "cancel the game", cancel_reason=reason)
    await ctx.tell(tx, notices.status_changed(changed, previous=game.status, reason=reason))


def final(tx: Tx, game_id: UUID) -> Game:
    """The game as the unit of work's flush left it (its change counted)."""
    game = tx.result(repository.GAMES, game_id)
    assert isinstance(game, Game)
    return game
