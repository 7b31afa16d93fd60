"""Applications to games: applying with a race name, the owner's decisions, leaving."""

import uuid
from uuid import UUID

from galaxy_backend.lobby import notices, repository, rules, steps
from galaxy_backend.lobby.errors import (
    AlreadyApplied,
    ApplicationNotFound,
    GameFull,
    GameNotFound,
    PlayerNotFound,
)
from galaxy_backend.lobby.models import Application, Game
from galaxy_backend.lobby.status import (
    BEFORE_START,
    ApplicationStatus,
    wrong_application_status,
    wrong_status,
)
from galaxy_backend.lobby.steps import LobbyContext
from galaxy_backend.postgres import Tx
from galaxy_backend.telemetry import get_logger

_log = get_logger(__name__)


class ApplicationCommands:
    def __init__(self, ctx: LobbyContext) -> None:
        self._ctx = ctx

    async def apply(
        self, user_id: UUID, game_id: UUID, race_name: str, *, invite_code: str | None = None
    ) -> Application:
        """Apply with a race name: the name goes to `pending_registration` at once."""
        forms = rules.forms(race_name)
        player = await self._ctx.users.get(user_id)
        active_limit = self._ctx.users.entitlements(player).max_active_games
        application_id = uuid.uuid4()
        async with self._ctx.unit() as tx:
            game = await repository.share_game(tx.conn, game_id)
            # Whoever lacks the code of a private game may not learn that it exists.
            if game is None or not rules.invite_admits(game, user_id, invite_code):
                raise GameNotFound("no such game")
            if game.status != "enrollment_open":
                raise wrong_status(game.status, "apply")
            rules.check_seat(game)
            rules.check_active_limit(await repository.count_playing(tx.conn, user_id), active_limit)
            application = await repository.insert_application(
                tx, application_id, game_id, user_id, forms.display
            )
            if application is None:
                raise AlreadyApplied("you have applied to this game already")
            await steps.claim_name(tx, forms, user_id, game_id, application_id)
            if user_id != game.owner_id:
                # The owner applying to their own game knows of it already.
                await self._ctx.tell(tx, notices.application_received(game, application))
        _log.info("application received", game_id=str(game_id), application_id=str(application_id))
        return application

    async def withdraw(self, user_id: UUID, game_id: UUID, application_id: UUID) -> Application:
        """The applicant takes back a pending application; the name is released at once."""
        async with self._ctx.unit() as tx:
            game = await steps.locked_game(tx, game_id)
            application = await steps.locked_application(tx, game, application_id)
            if application.user_id != user_id:
                raise ApplicationNotFound("no such application")
            done = await steps.move_application(tx, application, "withdrawn", "withdraw it")
            await steps.release(tx, [application_id], "withdrawn")
        return done

    async def approve(self, owner_id: UUID, game_id: UUID, application_id: UUID) -> Application:
        """The owner approves; `approved_count` never passes `max_players`, however many race."""
        async with self._ctx.database.pool.acquire() as conn:
            peek = await repository.get_application(conn, application_id)
        if peek is None or peek.game_id != game_id:
            # The owner check first, so that a stranger gets 404 or 403, not a hint.
            async with self._ctx.database.pool.acquire() as conn:
                game = await repository.get_game(conn, game_id)
            if game is None:
                raise GameNotFound("no such game")
            rules.check_owner(game, owner_id)
            raise ApplicationNotFound("no such application")
        applicant = await self._ctx.users.get(peek.user_id)
        active_limit = self._ctx.users.entitlements(applicant).max_active_games
        async with self._ctx.unit() as tx:
            # Player limit first, then the game row: every path takes them in this order.
            await repository.lock_user(tx.conn, peek.user_id)
            game = await steps.owned_game(tx, owner_id, game_id)
            if game.status != "enrollment_open":
                raise wrong_status(game.status, "approve applications")
            application = await steps.locked_application(tx, game, application_id)
            if application.status != "pending":
                raise wrong_application_status(application.status, "approve it")
            playing = await repository.count_playing(tx.conn, application.user_id)
            rules.check_active_limit(playing, active_limit, whose="the applicant")
            if not await repository.add_approved(tx, game_id):
                raise GameFull("the game is full")
            done = await steps.move_application(tx, application, "approved", "approve it")
            await repository.reserve_race_name(tx, application_id)
            await self._ctx.tell(tx, notices.application_approved(game, application))
        return done

    async def reject(self, owner_id: UUID, game_id: UUID, application_id: UUID) -> Application:
        async with self._ctx.unit() as tx:
            game = await steps.owned_game(tx, owner_id, game_id)
            application = await steps.locked_application(tx, game, application_id)
            done = await steps.move_application(tx, application, "rejected", "reject it")
            await steps.release(tx, [application_id], "rejected")
            await self._ctx.tell(tx, notices.application_rejected(game, application))
        return done

    async def remove_player(self, owner_id: UUID, game_id: UUID, player_id: UUID) -> Application:
        """The owner removes an approved player before the start."""
        async with self._ctx.unit() as tx:
            game = await steps.owned_game(tx, owner_id, game_id)
            if game.status not in BEFORE_START:
                raise wrong_status(game.status, "remove players")
            application = await repository.live_application_of(
                tx.conn, game_id, player_id, lock=True
            )
            if application is None or application.status != "approved":
                raise PlayerNotFound("no such player in this game")
            done = await _drop_player(tx, game, application, "removed")
            await self._ctx.tell(tx, notices.player_removed(game, application))
        return done

    async def leave(self, user_id: UUID, game_id: UUID) -> Application:
        """An approved player leaves before the start."""
        async with self._ctx.unit() as tx:
            game = await steps.locked_game(tx, game_id)
            application = await repository.live_application_of(tx.conn, game_id, user_id, lock=True)
            if application is None or application.status != "approved":
                raise PlayerNotFound("you do not play in this game")
            if game.status not in BEFORE_START:
                raise wrong_status(game.status, "leave")
            done = await _drop_player(tx, game, application, "left")
            await self._ctx.tell(tx, notices.player_left(game, application))
        return done


async def _drop_player(
    tx: Tx, game: Game, application: Application, status: ApplicationStatus
) -> Application:
    done = await steps.move_application(tx, application, status, "drop the player")
    await repository.drop_approved(tx, game.id)
    await steps.release(tx, [application.id], status)
    return done
