"""The runtime service: records and jobs for engines, the gameplay calls, the controls.

Every change of a record's status is committed first and reported to the lobby (the seed's
OnRuntimeJobResult) in its wake; `reported_status` says what the lobby has taken, so a
report lost to a crash is sent again (`report_pending`), and none is sent for a change
that rolled back. The lobby's handler is idempotent.
"""

import asyncio
import math
import secrets
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, NoReturn, Protocol
from uuid import UUID

from galaxy_backend.audit.trail import Actor
from galaxy_backend.audit.trail import record as record_audit
from galaxy_backend.cronutil import parse_schedule
from galaxy_backend.kernel.cursors import decode_cursor, page_of
from galaxy_backend.kernel.durations import format_duration
from galaxy_backend.kernel.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    Unavailable,
)
from galaxy_backend.lobby.errors import UnknownEngineVersion
from galaxy_backend.lobby.models import EngineOffer, GameStart, Player, RuntimeOutcome
from galaxy_backend.notification.models import Notice
from galaxy_backend.postgres import Database, Tx, transaction
from galaxy_backend.runtime import repository
from galaxy_backend.runtime.archive import KeptTurn, unpack
from galaxy_backend.runtime.engine_client import EngineClient
from galaxy_backend.runtime.errors import DefaultVersionTakenOut
from galaxy_backend.runtime.models import (
    LIVE,
    EnginePlayer,
    EngineVersion,
    Job,
    JobKind,
    RecordStatus,
    RuntimeRecord,
)
from galaxy_backend.runtime.status import check_record_transition
from galaxy_backend.telemetry import get_logger

_log = get_logger(__name__)

_STOPPED = "An operator stopped the game's engine; the game waits until it is restarted."
# How long a game's status waits for its engine to say who has sent orders.
_STATUS_WAIT_SECONDS = 2.0


class LobbyResults(Protocol):
    """What the runtime tells the lobby (through an adapter: each depends on the other)."""

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
    async def publish(self, tx: Tx, notice: Notice) -> list[UUID]: ...


class GameDirectory(Protocol):
    """Whether a game is listed for everyone to see (the lobby knows)."""

    async def is_public(self, game_id: UUID) -> bool: ...


class JobQueue:
    """The bounded queue between the calling paths and the runtime workers.

    Jobs are rows first (so a restart resumes them and two backends never run one twice);
    the queue carries their ids to this process's workers. A full queue refuses new work
    at once with a 503 and a Retry-After, rather than letting callers wait.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._queue: asyncio.Queue[UUID] = asyncio.Queue(maxsize=capacity)
        self._queued: set[UUID] = set()

    def check_room(self) -> None:
        if self._queue.full():
            raise Unavailable(
                "the runtime's job queue is full; try again shortly",
                code="runtime_busy",
                retry_after_seconds=5,
            )

    def offer(self, job_id: UUID) -> bool:
        """Queue a job id unless it is queued already or there is no room (the DB poll
        offers it again later)."""
        if job_id in self._queued or self._queue.full():
            return False
        self._queued.add(job_id)
        self._queue.put_nowait(job_id)
        return True

    async def take(self) -> UUID:
        job_id = await self._queue.get()
        self._queued.discard(job_id)
        return job_id

    def __len__(self) -> int:
        return self._queue.qsize()


@dataclass(frozen=True, slots=True)
class GameStatus:
    turn: int
    finished: bool
    next_turn_at: datetime | None
    status: str
    players: list[dict[str, Any]]
    winner: str | None
    # The standing after the last turn (the final one once the game is over).
    ranking: list[dict[str, Any]]
    # Whether the engine answered for who has sent orders (it need not, for the rest).
    engine_answered: bool


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
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._force_turn_cooldown = force_turn_cooldown
        self._database = database
        self._engine = engine
        self.queue = queue
        self._lobby = lobby
        self._notifier = notifier
        self._games = games
        self.driver_name = driver_name
        self._default_image = default_image
        self.finished_retention = finished_retention
        self._clock = clock

    # --- engine versions ---------------------------------------------------------------------

    async def ensure_bundled_version(self, version: str) -> None:
        async with self._database.pool.acquire() as conn:
            await repository.ensure_engine_version(conn, version=version, image=self._default_image)

    async def engine_versions(self) -> list[EngineVersion]:
        async with self._database.pool.acquire() as conn:
            return await repository.engine_versions(conn)

    async def engine_offers(self) -> list[EngineOffer]:
        """The versions new games may use (the lobby's one catalogue): those not taken out."""
        async with self._database.pool.acquire() as conn:
            found = await repository.engine_versions(conn, enabled_only=True)
        return [EngineOffer(version=v.version, default=v.is_default) for v in found]

    async def put_engine_version(
        self, version: str, *, image: str, is_default: bool, enabled: bool, actor: Actor
    ) -> EngineVersion:
        """Add or change a version; `enabled=False` takes it out of what new games may use
        (never the default's: another must become the default first)."""
        if is_default and not enabled:
            raise DefaultVersionTakenOut()
        async with transaction(self._database) as tx:
            current = await repository.get_engine_version(tx.conn, version, lock=True)
            if not enabled and current is not None and current.is_default:
                raise DefaultVersionTakenOut()
            changed = await repository.put_engine_version(
                tx.conn, version=version, image=image, is_default=is_default, enabled=enabled
            )
            await record_audit(
                tx.conn,
                actor,
                "runtime.engine_version",
                target_type="engine_version",
                target_id=version,
                details={"image": image, "default": is_default, "enabled": enabled},
            )
        return changed

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
                raise NotFound("no runtime for this game", code="runtime_not_found")
            job = await self._queue_job(tx, game_id, kind, reason=reason, delay=delay)
            if actor is not None:
                await _audit(tx, actor, f"runtime.{kind}", game_id, job_id=str(job.id))
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
                await _audit(tx, audit[0], audit[1], game_id)
        return record

    async def transition(
        self, tx: Tx, game_id: UUID, target: RecordStatus, **changes: Any
    ) -> RuntimeRecord:
        """The one writer of a record's status: the move checked against `status.py`'s
        table, and the report to the lobby registered for after the commit."""
        current = await repository.get_record(tx.conn, game_id, lock=True)
        if current is None:
            raise NotFound("no runtime for this game", code="runtime_not_found")
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

    async def notify(self, tx: Tx, notice: Notice) -> None:
        await self._notifier.publish(tx, notice)

    # --- reading -----------------------------------------------------------------------------

    async def record(self, game_id: UUID) -> RuntimeRecord:
        async with self._database.pool.acquire() as conn:
            found = await repository.get_record(conn, game_id)
        if found is None:
            raise NotFound("no runtime for this game", code="runtime_not_found")
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

    # --- gameplay (the game's own players only) ----------------------------------------------

    async def _player_record(self, game_id: UUID, user_id: UUID) -> RuntimeRecord:
        found = await self.record(game_id)
        if not found.has_player(user_id):
            await self._outsider(game_id)
        return found

    async def _outsider(self, game_id: UUID) -> NoReturn:
        """Refuse someone who does not play: 403 where the game is public (its page answers
        them), else as if there were no such game."""
        if await self._games.is_public(game_id):
            raise Forbidden("you do not play in this game", code="not_a_player")
        raise NotFound("no such game", code="game_not_found")

    def _address(self, record: RuntimeRecord) -> str:
        if record.address is None or record.status not in ("running", "paused", "finished"):
            raise Conflict(
                f"the game's engine is not running (it is {record.status})",
                code="engine_not_running",
                details={"status": record.status},
            )
        return record.address

    async def submit_orders(self, game_id: UUID, user_id: UUID, orders: str) -> dict[str, Any]:
        record = await self._player_record(game_id, user_id)
        if record.status == "finished":
            raise Conflict("the game has finished", code="game_finished")
        verdict = await self._engine.json(
            game_id,
            self._address(record),
            "PUT",
            f"/players/{user_id}/orders",
            json={"orders": orders},
        )
        if record.run_when_all_orders_in and record.status == "running":
            await self._request_turn_if_all_in(record)
        return verdict

    async def check_orders(self, game_id: UUID, user_id: UUID, orders: str) -> dict[str, Any]:
        """The engine's verdict on orders, which it does not keep (an editor's live check)."""
        record = await self._player_record(game_id, user_id)
        if record.status == "finished":
            raise Conflict("the game has finished", code="game_finished")
        return await self._engine.json(
            game_id,
            self._address(record),
            "POST",
            f"/players/{user_id}/orders/check",
            json={"orders": orders},
        )

    async def sent_orders(self, game_id: UUID, user_id: UUID) -> dict[str, Any]:
        """The orders the player sent for the next turn, as the engine keeps them."""
        record = await self._player_record(game_id, user_id)
        return await self._engine.json(
            game_id, self._address(record), "GET", f"/players/{user_id}/orders"
        )

    async def _request_turn_if_all_in(self, record: RuntimeRecord) -> None:
        status = await self._engine.json(
            record.game_id, self._address(record), "GET", "/admin/status"
        )
        # A race that quit stays alive (its planets keep producing) but never sends orders.
        playing = [p for p in status.get("players", []) if p.get("alive") and not p.get("quit")]
        if playing and all(p.get("orders_submitted") for p in playing):
            async with self._database.pool.acquire() as conn:
                await repository.request_turn(conn, record.game_id, "all_orders_in", replace=False)

    async def report_of(self, game_id: UUID, user_id: UUID, turn: int, *, text: bool) -> bytes:
        """The player's report of a turn as the engine wrote it (JSON, or the text report),
        from what the backend kept; the engine is asked only for a turn kept before the
        backend kept reports, while it runs."""
        record = await self._player_record(game_id, user_id)
        async with self._database.pool.acquire() as conn:
            kept = await repository.kept_report(
                conn, game_id=game_id, turn=turn, player_id=user_id, text=text
            )
        if kept is not None:
            return unpack(*kept)
        if turn > record.current_turn or record.status not in LIVE or record.address is None:
            raise NotFound(f"there is no report for turn {turn}", code="unknown_turn")
        response = await self._engine.call(
            game_id,
            record.address,
            "GET",
            f"/players/{user_id}/reports/{turn}",
            params={"format": "text"} if text else None,
        )
        return response.content

    async def status_for(self, game_id: UUID, user_id: UUID) -> GameStatus:
        record = await self._player_record(game_id, user_id)
        return await self._status(record)

    async def standing(self, game_id: UUID) -> tuple[RuntimeRecord, GameStatus]:
        """An operator's view of a game's engine: its record, and the standing with who has
        sent orders (asked of the engine, when it runs and answers in time)."""
        record = await self.record(game_id)
        return record, await self._status(record)

    async def _status(self, record: RuntimeRecord) -> GameStatus:
        """The game's standing from what the backend keeps; who has sent orders from the
        engine, when it runs and answers in time."""
        async with self._database.pool.acquire() as conn:
            last = await repository.last_summary(conn, record.game_id)
        summary = last[1] if last is not None else {}
        rows = {str(p.get("player_id")): p for p in _rows(summary.get("players"))}
        orders = await self._orders_in(record)
        players = []
        for player in record.players:
            row = rows.get(str(player.player_id), {})
            players.append(
                {
                    "player_id": str(player.player_id),
                    "race_name": row.get("race_name", player.race_name),
                    "alive": row.get("alive"),
                    "orders_submitted": (
                        orders.get(str(player.player_id)) if orders is not None else None
                    ),
                }
            )
        ranking = record.final_ranking if record.final_ranking else _rows(summary.get("ranking"))
        return GameStatus(
            turn=record.current_turn,
            finished=record.status == "finished",
            next_turn_at=record.next_tick_at if record.status == "running" else None,
            status=record.status,
            players=players,
            winner=record.winner,
            ranking=[dict(r) for r in ranking],
            engine_answered=orders is not None,
        )

    async def _orders_in(self, record: RuntimeRecord) -> dict[str, bool] | None:
        """Who has sent orders for the next turn, by player id; None when the engine is not
        running or does not answer in time."""
        if record.status not in LIVE or record.address is None:
            return None
        try:
            engine = await self._engine.json(
                record.game_id,
                record.address,
                "GET",
                "/admin/status",
                wait_seconds=_STATUS_WAIT_SECONDS,
            )
        except DomainError:
            return None
        return {
            str(p.get("player_id")): bool(p.get("orders_submitted"))
            for p in _rows(engine.get("players"))
        }

    # --- controls (the owner, operators) -----------------------------------------------------

    async def _owned(self, game_id: UUID, user_id: UUID | None) -> RuntimeRecord:
        found = await self.record(game_id)
        if user_id is not None and found.owner_id != user_id:
            if found.has_player(user_id):
                raise Conflict("only the game's owner may do this", code="not_owner")
            await self._outsider(game_id)
        return found

    async def operator_job(self, game_id: UUID, kind: JobKind, actor: Actor) -> Job:
        """An operator's stop or restart of a game's engine (audited)."""
        return await self.queue_job(
            game_id, kind, reason=f"{kind} by {actor.username}", actor=actor
        )

    async def force_next_turn(
        self, game_id: UUID, *, by_owner: UUID | None = None, actor: Actor | None = None
    ) -> None:
        """Run the next turn now; the next scheduled tick then runs nothing (docs/engine.md).

        An owner may do it once per BACKEND_RUNTIME_FORCE_TURN_COOLDOWN (each turn mails
        every player and keeps a report); operators are not bound by it.
        """
        found = await self._owned(game_id, by_owner)
        async with transaction(self._database) as tx:
            if by_owner is not None:
                wait = await repository.owner_force_wait(
                    tx.conn, game_id, cooldown=self._force_turn_cooldown
                )
                if wait is not None:
                    raise RateLimited(
                        "the game's owner may force a turn once every"
                        f" {format_duration(self._force_turn_cooldown)}",
                        retry_after_seconds=max(1, math.ceil(wait.total_seconds())),
                        code="force_turn_cooldown",
                    )
            forced = await repository.request_turn(
                tx.conn, game_id, "forced", replace=True, by_owner=by_owner is not None
            )
            if forced and actor is not None:
                await _audit(tx, actor, "runtime.force_turn", game_id)
        if not forced:
            raise Conflict(
                f"only a running game's turn can be forced (this one is {found.status})",
                code="wrong_status",
                details={"status": found.status},
            )

    async def pause(
        self, game_id: UUID, *, by_owner: UUID | None = None, actor: Actor | None = None
    ) -> RuntimeRecord:
        found = await self._owned(game_id, by_owner)
        if found.status != "running":
            raise Conflict(
                f"only a running game can be paused (this one is {found.status})",
                code="wrong_status",
                details={"status": found.status},
            )
        audit = None if actor is None else (actor, "runtime.pause")
        return await self.set_status(game_id, "paused", audit=audit)

    async def resume(
        self, game_id: UUID, *, by_owner: UUID | None = None, actor: Actor | None = None
    ) -> RuntimeRecord:
        found = await self._owned(game_id, by_owner)
        if found.status != "paused":
            raise Conflict(
                f"only a paused game can be resumed (this one is {found.status})",
                code="wrong_status",
                details={"status": found.status},
            )
        schedule = parse_schedule(found.turn_schedule, found.turn_time_zone)
        return await self.set_status(
            game_id,
            "running",
            audit=None if actor is None else (actor, "runtime.resume"),
            next_tick_at=schedule.next_after(self._clock()),
        )


def _rows(value: object) -> list[Mapping[str, Any]]:
    """The objects of a list the engine sent (anything else: none)."""
    return [r for r in value if isinstance(r, Mapping)] if isinstance(value, list) else []


def engine_players(players: Sequence[Player]) -> list[EnginePlayer]:
    return [EnginePlayer(player_id=p.user_id, race_name=p.race_name) for p in players]


async def _audit(tx: Tx, actor: Actor, action: str, game_id: UUID, **details: Any) -> None:
    """An operator's action on a game, in the transaction that makes it."""
    await record_audit(
        tx.conn, actor, action, target_type="game", target_id=str(game_id), details=details
    )
