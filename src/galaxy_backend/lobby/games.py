"""The owner's changes of a game, and what the runtime reports about it."""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from galaxy_backend.lobby import notices, repository, rules, steps
from galaxy_backend.lobby.errors import NotPrivate
from galaxy_backend.lobby.models import Game, RuntimeOutcome
from galaxy_backend.lobby.racenames import RaceNameForms
from galaxy_backend.lobby.status import LIVE, TERMINAL, wrong_status
from galaxy_backend.lobby.steps import LobbyContext
from galaxy_backend.postgres import Tx
from galaxy_backend.telemetry import get_logger

_log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class GameDraft:
    name: str
    min_players: int
    max_players: int
    enrollment_deadline: datetime
    turn_schedule: str
    description: str = ""
    turn_time_zone: str = "UTC"
    visibility: str = "public"
    engine_version: str | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)
    run_when_all_orders_in: bool = False
    # The race the owner plays in the game, seated (approved) at once.
    owner_race_name: str | None = None


class GameCommands:
    def __init__(self, ctx: LobbyContext) -> None:
        self._ctx = ctx

    async def create_game(self, owner_id: UUID, draft: GameDraft) -> Game:
        fields = rules.checked_fields(
            {n: getattr(draft, n) for n in rules.SETTABLE},
            engines=await self._ctx.engines(),
            now=self._ctx.clock(),
            min_interval=self._ctx.min_turn_interval,
        )
        fields["invite_code"] = rules.invite_code() if draft.visibility == "private" else None
        forms = (
            rules.forms(draft.owner_race_name, field="owner_race_name")
            if draft.owner_race_name is not None
            else None
        )
        owner = await self._ctx.users.get(owner_id)
        entitlements = self._ctx.users.entitlements(owner)
        game_id = uuid.uuid4()
        async with self._ctx.unit() as tx:
            await repository.lock_user(tx.conn, owner_id)
            owned = await repository.count_owned_live(tx.conn, owner_id)
            rules.check_owned_limit(owned, entitlements.max_owned_games)
            game = await repository.insert_game(tx, game_id, owner_id, fields)
            if forms is not None:
                await self._seat_owner(tx, game, forms, entitlements.max_active_games)
        _log.info("game created", game_id=str(game_id), owner_id=str(owner_id))
        return steps.final(tx, game_id)

    async def _seat_owner(
        self, tx: Tx, game: Game, forms: RaceNameForms, active_limit: int
    ) -> None:
        """The owner plays under `forms`: applied and approved at once, the name reserved,
        and nobody told (the owner knows)."""
        playing = await repository.count_playing(tx.conn, game.owner_id)
        rules.check_active_limit(playing, active_limit)
        application_id = uuid.uuid4()
        application = await repository.insert_application(
            tx, application_id, game.id, game.owner_id, forms.display
        )
        assert application is not None, "a new game has no applications"
        await steps.claim_name(tx, forms, game.owner_id, game.id, application_id)
        await repository.add_approved(tx, game.id)
        await steps.move_application(tx, application, "approved", "approve it")
        await repository.reserve_race_name(tx, application_id)

    async def update_game(self, user_id: UUID, game_id: UUID, changes: Mapping[str, Any]) -> Game:
        """Edit before the start (while enrollment is open); only the owner may."""
        now = self._ctx.clock()
        engines = await self._ctx.engines()
        async with self._ctx.unit() as tx:
            game = await steps.owned_game(tx, user_id, game_id)
            if game.status != "enrollment_open":
                raise wrong_status(game.status, "edit the game")
            delta = rules.edit_delta(
                game,
                changes,
                engines=engines,
                now=now,
                min_interval=self._ctx.min_turn_interval,
            )
            if not delta:
                return game
            await repository.update_game(tx, game_id, delta)
        return steps.final(tx, game_id)

    async def rotate_invite_code(self, user_id: UUID, game_id: UUID) -> Game:
        async with self._ctx.unit() as tx:
            game = await steps.owned_game(tx, user_id, game_id)
            if game.visibility != "private":
                raise NotPrivate("only a private game has an invite code")
            if game.status not in LIVE:
                raise wrong_status(game.status, "change the invite code")
            await repository.update_game(tx, game_id, {"invite_code": rules.invite_code()})
        return steps.final(tx, game_id)

    async def cancel_game(self, user_id: UUID, game_id: UUID) -> Game:
        """The owner cancels before the game runs."""
        async with self._ctx.unit() as tx:
            game = await steps.owned_game(tx, user_id, game_id)
            if game.status not in rules.OWNER_CANCELLABLE:
                raise wrong_status(game.status, "cancel the game")
            await steps.cancel(self._ctx, tx, game, reason="cancelled by the owner")
        return steps.final(tx, game_id)

    async def start(self, owner_id: UUID, game_id: UUID) -> Game:
        """Close enrollment and ask the runtime to start the game (the owner)."""
        async with self._ctx.unit() as tx:
            game = await steps.owned_game(tx, owner_id, game_id)
            await steps.start(self._ctx, tx, game, reason="started by the owner", by="owner")
        return steps.final(tx, game_id)

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
        """The seed's OnRuntimeJobResult: the runtime reports what became of a job.

        `started`/`resumed` -> running, `start_failed` -> start_failed, `start_withdrawn` ->
        enrollment_closed (the owner may start again), `paused` and `stopped` (an operator
        stopped the engine) -> paused, `finished` -> finished with the engine's final
        `ranking`. A repeated report changes nothing and tells nobody twice, nor does one
        about a game that is over; a report the game's status does not allow is 409
        wrong_status. `message` is shown to players (and sent in the status notice);
        `detail`, what failed and where, only to operators.
        """
        target = rules.OUTCOME_STATUS[outcome]
        async with self._ctx.unit() as tx:
            game = await steps.locked_game(tx, game_id)
            await repository.save_runtime_report(
                tx,
                game_id,
                runtime_status=outcome,
                message=message,
                turn=turn,
                ranking=ranking if outcome == "finished" else None,
                detail=detail,
            )
            # Over already (an engine stopped after a cancellation), or there: recorded only.
            if game.status != target and game.status not in TERMINAL:
                action = f"record a runtime result ({outcome})"
                if target == "finished":
                    players = [p.application_id for p in game.players]
                    await steps.release(tx, players, "game_finished")
                changed = await steps.move_game(tx, game, (target,), action)
                await self._ctx.tell(
                    tx, notices.status_changed(changed, previous=game.status, reason=message)
                )
        return steps.final(tx, game_id)
