"""The turn scheduler: each running game's ticks, on its `turn_schedule` in its time zone.

Ticks live in the records (`next_tick_at`), not in memory, so they are exact across
restarts and shared by every backend: a tick is taken by leasing the record's row (SELECT
... FOR UPDATE SKIP LOCKED, then a tick lease), so two backends never run one slot twice,
and a backend that dies mid-turn is taken over after the lease (the engine's `/admin/turn
N` is idempotent, so turn N still runs once). After a turn the next tick is the schedule's
first time after *now*: slots missed while no backend ran are collapsed into the one turn
run at start, not run one after another.

Each turn is committed with every player's reports (kept compressed: `archive.py`) and the
players' notices in one transaction, so a turn is recorded with its reports or not at all.

`force-next-turn` runs the next turn now and sets the one-shot skip flag: the next
scheduled tick clears it and runs nothing. With `run_when_all_orders_in`, the turn runs as
soon as every living race has sent orders, and the schedule carries on from there.
"""

import asyncio
import contextlib
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.metrics import Meter, Observation
from opentelemetry.trace import Tracer

from galaxy_backend.cronutil import parse_schedule
from galaxy_backend.kernel.errors import DomainError
from galaxy_backend.kernel.liveness import Liveness
from galaxy_backend.postgres import DATABASE_ERRORS, Database, transaction
from galaxy_backend.postgres.retry import retry_while_unavailable
from galaxy_backend.runtime import repository
from galaxy_backend.runtime.archive import (
    KeptTurn,
    PackedTurn,
    PlayerReport,
    fetch_reports,
    pack,
)
from galaxy_backend.runtime.engine_client import EngineClient
from galaxy_backend.runtime.models import RuntimeRecord
from galaxy_backend.runtime.notices import still_playing, turn_notice
from galaxy_backend.runtime.service import RuntimeService
from galaxy_backend.telemetry import DURATION_BUCKETS_SECONDS, get_logger

_log = get_logger(__name__)

_TICK_LEASE = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class _Run:
    """One turn being run: of which game, which number, why, and when it was due."""

    record: RuntimeRecord
    token: UUID
    turn: int
    trigger: str
    due_at: datetime
    started: datetime


# After a failed turn, the game's next try waits this long (its engine may be restarting).
_FAILED_TURN_BACKOFF = timedelta(seconds=10)


class TurnScheduler:
    name = "runtime-scheduler"
    stop_timeout: float | None = 15.0

    def __init__(
        self,
        *,
        database: Database,
        service: RuntimeService,
        engine: EngineClient,
        concurrency: int = 32,
        poll_interval: timedelta = timedelta(milliseconds=200),
        turn_timeout: timedelta = timedelta(minutes=2),
        tracer: Tracer,
        meter: Meter,
        liveness: Liveness | None = None,
    ) -> None:
        self._database = database
        self._turn_timeout = turn_timeout.total_seconds()
        self._heartbeat = (liveness or Liveness()).heartbeat(self.name)
        self._service = service
        self._engine = engine
        self._slots = asyncio.Semaphore(concurrency)
        self._concurrency = concurrency
        self._poll = poll_interval.total_seconds()
        self._tracer = tracer
        self._in_flight: dict[UUID, asyncio.Task[None]] = {}
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        # Turns this scheduler asked an engine to run (a replayed request counts too).
        self.turns_requested = 0
        meter.create_observable_counter(
            "runtime.turns.requested",
            callbacks=[lambda _: [Observation(self.turns_requested)]],
            unit="{turn}",
            description="Turns this process asked an engine to run, retries included",
        )
        self._lag = meter.create_histogram(
            "runtime.tick.lag",
            unit="s",
            description="How late a turn started after its scheduled time",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS_SECONDS,
        )
        self._turn_duration = meter.create_histogram(
            "runtime.turn.duration",
            unit="s",
            description="Duration of a turn: the engine's run, the reports, the notices",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS_SECONDS,
        )

    @property
    def in_flight(self) -> int:
        """Ticks under way now."""
        return len(self._in_flight)

    async def start(self) -> None:
        self._heartbeat.start(next_in=self._poll)
        self._task = asyncio.create_task(self._run(), name="runtime-scheduler")

    async def stop(self) -> None:
        """Stop taking ticks; let turns under way finish (their engines are mid-turn)."""
        self._stopping = True
        self._heartbeat.stop()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._in_flight:
            await asyncio.wait(list(self._in_flight.values()))

    async def _run(self) -> None:
        while not self._stopping:
            try:
                with suppress_instrumentation():
                    async with self._database.pool.acquire() as conn:
                        due = await repository.due_ticks(conn, limit=self._concurrency * 4)
                for game_id, due_at in due:
                    if game_id not in self._in_flight:
                        self._spawn(game_id, due_at)
                self._heartbeat.beat(next_in=self._poll)
            except DATABASE_ERRORS as exc:
                _log.warning("scheduler cannot reach the database", error=str(exc))
            except Exception as exc:
                _log.error("scheduler round failed", exc_info=exc)
            await asyncio.sleep(self._poll)

    def _spawn(self, game_id: UUID, due_at: datetime) -> None:
        task = asyncio.create_task(self._tick(game_id, due_at), name=f"turn-{game_id}")
        self._in_flight[game_id] = task

        def forget(_: asyncio.Task[None]) -> None:
            self._in_flight.pop(game_id, None)

        task.add_done_callback(forget)

    async def _tick(self, game_id: UUID, due_at: datetime) -> None:
        async with self._slots:
            token = uuid.uuid4()
            try:
                async with self._database.pool.acquire() as conn:
                    record = await repository.claim_tick(
                        conn, game_id=game_id, token=token, lease=_TICK_LEASE
                    )
                if record is None:
                    return  # another backend took it, or it is no longer due
                await self._take(record, token, due_at)
            except Exception as exc:
                _log.error("turn failed", game_id=str(game_id), error=str(exc), exc_info=exc)
                await self._hand_back(game_id, token, str(exc)[:500])

    async def _hand_back(self, game_id: UUID, token: UUID, error: str) -> None:
        """Give a failed tick's lease back, trying again while the database is away: left
        alone, the game would wait out the whole lease once the database is back."""

        async def hand_back() -> None:
            async with self._database.pool.acquire() as conn:
                await repository.fail_tick(
                    conn, game_id=game_id, token=token, backoff=_FAILED_TURN_BACKOFF, error=error
                )

        try:
            await retry_while_unavailable(
                hand_back, within=_TICK_LEASE.total_seconds(), give_up=lambda: self._stopping
            )
        except DATABASE_ERRORS as exc:
            # The lease runs out by itself; another round or backend takes the tick then.
            _log.warning("could not hand a failed tick back", game_id=str(game_id), error=str(exc))

    async def _take(self, record: RuntimeRecord, token: UUID, due_at: datetime) -> None:
        schedule = parse_schedule(record.turn_schedule, record.turn_time_zone)
        now = datetime.now(UTC)
        if record.turn_requested is None and record.skip_next_tick:
            # The slot after a forced turn: consumed, nothing runs.
            async with self._database.pool.acquire() as conn:
                await repository.update_record(
                    conn,
                    record.game_id,
                    skip_next_tick=False,
                    next_tick_at=schedule.next_after(now),
                    tick_token=None,
                    tick_until=None,
                )
            _log.info("scheduled tick skipped after a forced turn", game_id=str(record.game_id))
            return
        trigger = record.turn_requested or "scheduled"
        self._lag.record(max((now - due_at).total_seconds(), 0.0), {"runtime.trigger": trigger})
        began = time.perf_counter()
        turn = record.current_turn + 1
        with self._tracer.start_as_current_span(
            "runtime turn",
            attributes={"galaxy.game_id": str(record.game_id), "galaxy.turn": turn},
        ):
            answer = await self._run_turn(record, turn)
            finished = bool(answer.get("finished"))
            assert record.address is not None
            reports = await fetch_reports(
                self._engine, record.game_id, record.address, record.player_ids(), turn
            )
            packed = await asyncio.to_thread(pack, reports)
            run = _Run(record, token, turn, trigger, due_at, now)
            await self._commit(run, answer, reports, packed)
        self._turn_duration.record(time.perf_counter() - began)
        _log.info(
            "turn ran", game_id=str(record.game_id), turn=turn, trigger=trigger, finished=finished
        )

    async def _run_turn(self, record: RuntimeRecord, turn: int) -> dict[str, Any]:
        assert record.address is not None
        self.turns_requested += 1
        try:
            return await self._engine.json(
                record.game_id,
                record.address,
                "POST",
                "/admin/turn",
                json={"turn": turn},
                wait_seconds=self._turn_timeout,
            )
        except DomainError as exc:
            if exc.code == "game_finished":
                # Finished earlier and the record did not hear of it: read the outcome.
                status = await self._engine.json(
                    record.game_id, record.address, "GET", "/admin/status"
                )
                return {"turn": status.get("turn", turn), "finished": True, "summary": status}
            raise

    async def _commit(
        self,
        run: "_Run",
        answer: dict[str, Any],
        reports: Sequence[PlayerReport],
        packed: PackedTurn,
    ) -> None:
        """The turn, its reports and its notice in one transaction: all of them or none."""
        record, turn, trigger = run.record, run.turn, run.trigger
        schedule = parse_schedule(record.turn_schedule, record.turn_time_zone)
        finished = bool(answer.get("finished"))
        summary = answer.get("summary")
        summary = summary if isinstance(summary, dict) else {}
        changes: dict[str, Any] = {
            "current_turn": turn,
            "turn_requested": None,
            "tick_token": None,
            "tick_until": None,
            "last_error": None,
            # An engine that ran a turn is past any crash loop: its restart budget starts
            # again, so restarts spread over a long game (reboots, `engines stop`) never add up.
            "restarts": 0,
        }
        if trigger == "forced":
            # The next scheduled slot stays where it is, and will run nothing.
            changes["skip_next_tick"] = True
        else:
            changes["next_tick_at"] = schedule.next_after(datetime.now(UTC))
        if finished:
            changes.update(
                status="finished",
                final_ranking=list(summary.get("ranking") or []),
                winner=summary.get("winner"),
                finished_at=datetime.now(UTC),
                next_tick_at=None,
            )
        async with transaction(self._database) as tx:
            current = await repository.get_record(tx.conn, record.game_id, lock=True)
            if current is None or current.current_turn >= turn:
                return  # recorded already (a taken-over tick that ran the same turn)
            await repository.insert_turn(
                tx.conn,
                game_id=record.game_id,
                turn=turn,
                trigger=trigger,
                scheduled_at=run.due_at,
                started_at=run.started,
                finished=finished,
            )
            # Who still plays is read off the turn before: the turn a race quits in is its last.
            before = await repository.last_summary(tx.conn, record.game_id)
            await repository.keep_reports(tx.conn, record.game_id, KeptTurn(turn, summary, packed))
            if finished:
                status = changes.pop("status")
                updated = await self._service.transition(tx, record.game_id, status, **changes)
            else:
                updated = await repository.update_record(tx.conn, record.game_id, **changes)
            await self._service.tell(
                tx,
                turn_notice(
                    record,
                    turn,
                    summary,
                    finished=finished,
                    reports={r.player_id: r.text.decode("utf-8", "replace") for r in reports},
                    recipients=still_playing(record, before[1] if before is not None else {}),
                ),
            )
        await self._after_turn(updated, turn, finished)

    async def _after_turn(self, record: RuntimeRecord, turn: int, finished: bool) -> None:
        if finished:
            # The lobby heard of the end as the turn committed (the transition's report).
            await self._service.queue_job(record.game_id, "stop", reason="game finished")
            await self._service.queue_job(
                record.game_id,
                "remove",
                reason="kept after the game's end for the retention period",
                delay=self._service.finished_retention,
            )
            return
        try:
            # The lobby's page shows the current turn; repeated reports notify nobody.
            await self._service.lobby_turn(record.game_id, turn)
        except Exception as exc:
            # Not retried: the next turn's report brings the page up to date.
            _log.warning(
                "could not tell the lobby the turn",
                game_id=str(record.game_id),
                turn=turn,
                error=str(exc),
            )
