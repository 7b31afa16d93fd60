"""The runtime service: records and jobs for engines, and what the lobby is told of them.

Every change of a record's status is committed first and reported to the lobby (the seed's
OnRuntimeJobResult) in its wake; `reported_status` says what the lobby has taken, so a
report lost to a crash is sent again (`report_pending`), and none is sent for a change
that rolled back. The lobby's handler is idempotent.

Its parts: `versions` (the registry of engine versions, `versions.py`), `playing` (orders,
reports and the standing, `playing.py`) and `controls` (the owner's and operators' controls,
`controls.py`).
"""

import secrets
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from uuid import UUID

from galaxy_backend.audit.trail import Actor
from galaxy_backend.cronutil import parse_schedule
from galaxy_backend.kernel.cursors import decode_cursor, page_of
from galaxy_backend.kernel.errors import InvalidInput
from galaxy_backend.kernel.ratelimit import TokenBuckets
from galaxy_backend.lobby.errors import GameNotFound, UnknownEngineVersion
from galaxy_backend.lobby.models import EngineOffer, Game, GameStart, Player, RuntimeOutcome
from galaxy_backend.notification.models import Notice
from galaxy_backend.postgres import Database, Tx, transaction
from galaxy_backend.runtime import repository
from galaxy_backend.runtime.archive import KeptTurn
from galaxy_backend.runtime.controls import Controls, audit_game
from galaxy_backend.runtime.engine_client import EngineClient
from galaxy_backend.runtime.errors import RuntimeNotFound
from galaxy_backend.runtime.jobqueue import JobQueue
from galaxy_backend.runtime.models import (
    EnginePlayer,
    Job,
    JobKind,
    RecordStatus,
    RuntimeRecord,
)
from galaxy_backend.runtime.playing import Playing
from galaxy_backend.runtime.ports import GameDirectory, LobbyResults, Notifier
from galaxy_backend.runtime.status import check_record_transition
from galaxy_backend.runtime.versions import EngineVersions
from galaxy_backend.telemetry import get_logger

_log = get_logger(__name__)

_STOPPED = "An operator stopped the game's engine; the game waits until it is restarted."


# What players read when something went wrong with a game's engine; operators see why.
_PLAYER_MESSAGES: dict[RuntimeOutcome, str] = {
    "start_failed": "The game's engine could not be started. The owner may try again;"
    " the operators can see what went wrong.",
    "paused": "The game's engine stopped working, so the game is paused until an operator"
    " looks at it. Nothing of the game is lost.",
}

# What the lobby is told for each record status (no entry: nothing for the lobby to do).
_OUTCOMES: dict[str, RuntimeOutcome] = {
    "running": "started",
    "paused": "paused",
    "finished": "finished",
}


class RuntimeService:
    def __init__(
        self,
        *,
        database: Database,
        engine: EngineClient,
        queue: JobQueue,
        lobby: LobbyResults,
        notifier: Notifier,
        games: GameDirectory,
        driver_name: Callable[[], str],
        default_image: str,
        finished_retention: timedelta = timedelta(hours=24),
        force_turn_cooldown: timedelta = timedelta(minutes=5),
        orders_check_limit: TokenBuckets | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._database = database
        self.queue = queue
        self._lobby = lobby
        self._notifier = notifier
        self._games = games
        self.driver_name = driver_name
        self.finished_retention = finished_retention
        self.versions = EngineVersions(database=database, default_image=default_image)
        self.playing = Playing(
            database=database,
            engine=engine,
            games=games,
            record=self.record,
            orders_check_limit=orders_check_limit,
        )
        self.controls = Controls(
            database=database,
            records=self,
            playing=self.playing,
            force_turn_cooldown=force_turn_cooldown,
            clock=clock,
        )

    async def engine_offers(self) -> list[EngineOffer]:
        """The lobby's catalogue (its RuntimeControl): the versions new games may use."""
        return await self.versions.offers()

    # --- starting and stopping (the lobby's calls, in its transaction) -----------------------

    async def start_game(self, tx: Tx, request: GameStart) -> None:
        """Record the game and queue its start, in the caller's transaction (the lobby's
        RuntimeControl)."""
        self.queue.check_room()
        offered = await repository.engine_versions(tx.conn, enabled_only=True)
        version = next((v for v in offered if v.version == request.engine_version), None)
        if version is None:
            # Taken out of the registry since the game was made: the owner picks another.
            raise UnknownEngineVersion(
                f"engine version {request.engine_version!r} is no longer offered",
                field="engine_version",
                details={"known": [v.version for v in offered]},
            )
        record = await repository.insert_record(
            tx.conn,
            game_id=request.game_id,
            game_name=request.game_name,
            owner_id=request.owner_id,
            players=engine_players(request.players),
            seed=secrets.randbelow(2**62),
            settings=dict(request.settings),
            engine_version=version.version,
            image=version.image,
            driver=self.driver_name(),
            turn_schedule=request.turn_schedule,
            turn_time_zone=request.turn_time_zone,
            run_when_all_orders_in=request.run_when_all_orders_in,
        )
        if record is None:
            # A start after a failed one: the record is reused from scratch.
            await self.transition(
                tx,
                request.game_id,
                "starting",
                last_error=None,
                reported_status=None,
                slot_taken=False,
                waiting_since=None,
            )
        await self._queue_job(tx, request.game_id, "start", reason="game started")

    async def live_game(self, game_id: UUID) -> Game | None:
        """The lobby's game while it has (or is getting) an engine: starting, running or
        paused; None for a game it does not know, or one over or not started."""
        try:
            game = await self._games.game(game_id)
        except GameNotFound:
            return None
        return game if game.status in ("starting", "running", "paused") else None

    async def adopt(
        self, game: Game, *, engine_version: str, address: str, handle: str, turn: int
    ) -> RuntimeRecord | None:
        """The record, made again, of a running engine of a live game that has none (the
        reconciler's): made as a start makes it, then moved by `transition` to running (to
        paused, for a paused game), so the lobby is told as of any start. A record made
        meanwhile (a start) stands as it is; None when the version is not in the registry."""
        async with transaction(self._database) as tx:
            version = await repository.get_engine_version(tx.conn, engine_version)
            if version is None:
                return None
            made = await repository.insert_record(
                tx.conn,
                game_id=game.id,
                game_name=game.name,
                owner_id=game.owner_id,
                players=engine_players(game.players),
                # Unknown, and never used again: the engine's galaxy was made long ago.
                seed=0,
                settings=dict(game.settings),
                engine_version=version.version,
                image=version.image,
                driver=self.driver_name(),
                turn_schedule=game.turn_schedule,
                turn_time_zone=game.turn_time_zone,
                run_when_all_orders_in=game.run_when_all_orders_in,
            )
            if made is None:
                return await repository.get_record(tx.conn, game.id)
            schedule = parse_schedule(game.turn_schedule, game.turn_time_zone)
            _log.warning("a labelled engine had no record; made again", game_id=str(game.id))
            return await self.transition(
                tx,
                game.id,
                "paused" if game.status == "paused" else "running",
                address=address,
                handle=handle,
                current_turn=turn,
                next_tick_at=schedule.next_after(datetime.now(UTC)),
                health_failures=0,
                last_error=None,
            )

    async def stop_game(self, tx: Tx, game_id: UUID, *, reason: str) -> None:
        record = await repository.get_record(tx.conn, game_id, lock=True)
        if record is None or record.status in ("stopped", "removed"):
            return
        await self._queue_job(tx, game_id, "stop", reason=reason)

    async def _queue_job(
        self,
        tx: Tx,
        game_id: UUID,
        kind: JobKind,
        *,
        reason: str,
        delay: timedelta = timedelta(0),
    ) -> Job:
        job = await repository.insert_job(
            tx.conn, job_id=uuid.uuid4(), game_id=game_id, kind=kind, reason=reason, delay=delay
        )
        if delay <= timedelta(0):
            tx.after_commit(lambda: self.queue.offer(job.id))
        return job

    async def queue_job(
        self,
        game_id: UUID,
        kind: JobKind,
        *,
        reason: str,
        delay: timedelta = timedelta(0),
        actor: Actor | None = None,
    ) -> Job:
        """A job of its own transaction (operators, audited; the reconciler, finished games)."""
        if delay <= timedelta(0):
            self.queue.check_room()
        async with transaction(self._database) as tx:
            if await repository.get_record(tx.conn, game_id) is None:
                raise RuntimeNotFound()
            job = await self._queue_job(tx, game_id, kind, reason=reason, delay=delay)
            if actor is not None:
                await audit_game(tx, actor, f"runtime.{kind}", game_id, job_id=str(job.id))
            return job

    # --- status changes and the lobby ---------------------------------------------------------

    async def set_status(
        self,
        game_id: UUID,
        status: RecordStatus,
        *,
        audit: tuple[Actor, str] | None = None,
        kept: KeptTurn | None = None,
        **changes: Any,
    ) -> RuntimeRecord:
        """A status change in a transaction of its own (with the operator's audit row, and a
        turn's reports to keep), reported to the lobby once committed."""
        async with transaction(self._database) as tx:
            if kept is not None:
                await repository.keep_reports(tx.conn, game_id, kept)
            record = await self.transition(tx, game_id, status, **changes)
            if audit is not None:
                await audit_game(tx, audit[0], audit[1], game_id)
        return record

    async def transition(
        self, tx: Tx, game_id: UUID, target: RecordStatus, **changes: Any
    ) -> RuntimeRecord:
        """The one writer of a record's status: the move checked against `status.py`'s
        table, and the report to the lobby registered for after the commit."""
        current = await repository.get_record(tx.conn, game_id, lock=True)
        if current is None:
            raise RuntimeNotFound()
        check_record_transition(current.status, target)
        record = await repository.set_record_status(tx.conn, game_id, target, **changes)
        if target != "starting":
            # A start is the lobby's own news; everything after it is reported.
            tx.after_commit(partial(self.report, record))
        return record

    async def report(self, record: RuntimeRecord) -> None:
        """Tell the lobby what the record's status means for the game, once taken."""
        if record.reported_status == record.status:
            return
        outcome = self._outcome(record)
        # Only an engine that failed or vanished has something to explain.
        broken = record.status in ("failed", "removed")
        if outcome is not None:
            try:
                await self._lobby.on_runtime_job_result(
                    record.game_id,
                    outcome,
                    # Players get a plain sentence; the error (paths, driver text) stays
                    # with operators.
                    message=_STOPPED
                    if outcome == "stopped"
                    else (_PLAYER_MESSAGES.get(outcome) if broken else None),
                    detail=record.last_error if broken else None,
                    turn=record.current_turn,
                    ranking=record.final_ranking,
                )
            except Exception as exc:
                # Owed, not lost: report_pending() sends it again.
                _log.warning(
                    "could not report to the lobby; will retry",
                    game_id=str(record.game_id),
                    status=record.status,
                    error=str(exc),
                )
                return
        async with self._database.pool.acquire() as conn:
            await repository.mark_reported(conn, record.game_id, record.status)

    def _outcome(self, record: RuntimeRecord) -> RuntimeOutcome | None:
        if record.status == "running":
            return "resumed" if record.reported_status in ("paused", "stopped") else "started"
        if record.status == "stopped" and record.reported_status in ("running", "paused"):
            # An operator stopped a live game's engine: the game waits for a restart.
            return "stopped"
        if record.status == "failed":
            # Never got going: the start failed; died later: the game waits for an operator.
            return "start_failed" if record.reported_status in (None, "starting") else "paused"
        if record.status == "removed" and record.reported_status in ("running", "paused"):
            return "paused"
        return _OUTCOMES.get(record.status)

    async def report_pending(self) -> int:
        async with self._database.pool.acquire() as conn:
            owed = await repository.unreported(conn)
        for record in owed:
            await self.report(record)
        return len(owed)

    async def start_waiting(self, game_id: UUID, *, ahead: int) -> None:
        """The game's page says why it is still starting."""
        queue = f" ({ahead} started before it wait too)" if ahead else ""
        try:
            await self._lobby.on_runtime_job_result(
                game_id,
                "start_waiting",
                message="Every engine of the platform is busy; the game starts as soon as"
                f" one is free{queue}.",
            )
        except Exception as exc:
            # Only the page's note is late: the wait itself is in the record.
            _log.warning(
                "could not tell the lobby a start waits", game_id=str(game_id), error=str(exc)
            )

    async def lobby_turn(self, game_id: UUID, turn: int) -> None:
        """The game's page shows its turn: a repeated 'started' report that only says so."""
        await self._lobby.on_runtime_job_result(game_id, "started", turn=turn)

    async def tell(self, tx: Tx, notice: Notice) -> None:
        """Notify players in this transaction (stored with the change, sent after it)."""
        await self._notifier.post(tx, notice)

    # --- reading -----------------------------------------------------------------------------

    async def record(self, game_id: UUID) -> RuntimeRecord:
        async with self._database.pool.acquire() as conn:
            found = await repository.get_record(conn, game_id)
        if found is None:
            raise RuntimeNotFound()
        return found

    async def records(
        self, *, status: str | None, cursor: str | None, limit: int
    ) -> tuple[list[RuntimeRecord], str | None]:
        after = None
        if cursor:
            try:
                after = UUID(cursor)
            except ValueError:
                raise InvalidInput("cursor is not one this API returned", field="cursor") from None
        async with self._database.pool.acquire() as conn:
            rows = await repository.records(conn, status=status, after=after, limit=limit + 1)
        page = rows[:limit]
        return page, str(page[-1].game_id) if len(rows) > limit else None

    async def jobs(
        self, *, game_id: UUID | None, status: str | None, cursor: str | None, limit: int
    ) -> tuple[list[Job], str | None]:
        after = decode_cursor(cursor) if cursor else None
        async with self._database.pool.acquire() as conn:
            rows = await repository.jobs(
                conn, game_id=game_id, status=status, after=after, limit=limit + 1
            )
        return page_of(rows, limit)

    async def turns(self, game_id: UUID) -> list[dict[str, Any]]:
        async with self._database.pool.acquire() as conn:
            return await repository.turns(conn, game_id)


def engine_players(players: Sequence[Player]) -> list[EnginePlayer]:
    return [EnginePlayer(player_id=p.user_id, race_name=p.race_name) for p in players]
