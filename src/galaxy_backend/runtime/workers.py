"""The runtime worker pool: `BACKEND_RUNTIME_WORKER_POOL_SIZE` workers over the job queue.

A job is a row first. A worker takes a job id from the queue, leases the row (SELECT ...
FOR UPDATE SKIP LOCKED, so two backends never run one job twice), runs it while renewing
the lease, and records the outcome. Queued jobs and jobs whose worker died (their lease ran
out) are found by a poll of the table, so a restart resumes every one of them. Each step of
a job is idempotent (creating an engine that exists returns it, `/admin/init` twice is one
init), so a job taken over half-way simply runs again.
"""

import asyncio
import contextlib
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from uuid import UUID

from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.metrics import CallbackOptions, Meter, Observation
from opentelemetry.trace import Tracer

from galaxy_backend.cronutil import parse_schedule
from galaxy_backend.kernel.backoff import retry_delay
from galaxy_backend.kernel.errors import DomainError
from galaxy_backend.kernel.liveness import Liveness
from galaxy_backend.postgres import DATABASE_ERRORS, Database, transaction
from galaxy_backend.postgres.retry import retry_while_unavailable
from galaxy_backend.postgres.wakeup import Wakeup
from galaxy_backend.runtime import repository
from galaxy_backend.runtime.archive import KeptTurn, fetch_reports, pack
from galaxy_backend.runtime.clients import RuntimeClients
from galaxy_backend.runtime.drivers.base import DriverError, EngineSpec, Limits
from galaxy_backend.runtime.engine_client import EngineClient, EngineTokens
from galaxy_backend.runtime.models import Job, RecordStatus, RuntimeRecord
from galaxy_backend.runtime.service import RuntimeService
from galaxy_backend.telemetry import get_logger
from galaxy_engine.version import ENGINE_VERSION

_log = get_logger(__name__)

_LEASE = timedelta(seconds=60)
_MAX_ERROR = 500


def engine_game_id(record: RuntimeRecord) -> str:
    """What the engine calls the game in its reports (GalaxyNG's game name): the game's name,
    in the printable characters the engine takes."""
    label = "".join(c if c.isprintable() else " " for c in record.game_name).strip()
    return label[:128] or str(record.game_id)


class _WaitForSlot(Exception):
    """Every engine slot is taken: the start job goes back to the queue, not counted."""


class JobFailed(Exception):
    """A step of a job failed; `transient` if another attempt may pass."""

    def __init__(self, message: str, *, transient: bool = True) -> None:
        super().__init__(message)
        self.transient = transient


class RuntimeWorkers:
    """The pool, the poll that feeds it, and the job handlers."""

    name = "runtime-workers"
    stop_timeout: float | None = 10.0

    def __init__(
        self,
        *,
        database: Database,
        service: RuntimeService,
        clients: RuntimeClients,
        engine: EngineClient,
        tokens: EngineTokens,
        pool_size: int,
        limits: Limits,
        max_engines: int | None = None,
        slot_recheck: timedelta = timedelta(seconds=5),
        start_attempts: int = 3,
        start_timeout: timedelta = timedelta(seconds=60),
        retry_min: timedelta = timedelta(seconds=2),
        retry_max: timedelta = timedelta(minutes=1),
        poll_interval: timedelta = timedelta(seconds=2),
        rng: random.Random | None = None,
        tracer: Tracer,
        meter: Meter,
        liveness: Liveness | None = None,
    ) -> None:
        liveness = liveness or Liveness()
        self._heartbeat = liveness.heartbeat(self.name)
        self._database = database
        self._service = service
        self._queue = service.queue
        self._clients = clients
        self._engine = engine
        self._tokens = tokens
        self._pool_size = pool_size
        self._limits = limits
        self._max_engines = max_engines
        self._slot_recheck = slot_recheck
        self._start_attempts = start_attempts
        self._start_timeout = start_timeout.total_seconds()
        self._retry_min = retry_min
        self._retry_max = retry_max
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not secrecy
        self._poll = poll_interval.total_seconds()
        self._tracer = tracer
        self._tasks: list[asyncio.Task[None]] = []
        self._wake = asyncio.Event()
        self._wakeup = Wakeup(database, repository.CHANNEL, self._wake, liveness=liveness)
        self._running = 0
        self._jobs_done = meter.create_counter(
            "runtime.jobs", unit="{job}", description="Runtime jobs finished, by kind and outcome"
        )
        meter.create_observable_gauge(
            "runtime.job_queue.depth",
            callbacks=[self._observe_queue],
            unit="{job}",
            description="Runtime jobs queued in this process and being run",
        )

    def _observe_queue(self, _: CallbackOptions) -> list[Observation]:
        return [
            Observation(len(self._queue), {"runtime.job.state": "queued"}),
            Observation(self._running, {"runtime.job.state": "running"}),
        ]

    async def start(self) -> None:
        # The bundled engine is always installed, under BACKEND_RUNTIME_ENGINE_IMAGE.
        await self._service.versions.ensure_bundled(ENGINE_VERSION)
        await self._wakeup.ensure()
        self._heartbeat.start()
        self._tasks = [
            asyncio.create_task(self._work(), name=f"runtime-worker-{n}")
            for n in range(self._pool_size)
        ]
        self._tasks.append(asyncio.create_task(self._feed(), name="runtime-job-poll"))

    async def stop(self) -> None:
        # Jobs are idempotent rows: cut ones are handed back and resume elsewhere or later.
        self._heartbeat.stop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self._wakeup.close()

    # --- feeding the queue -------------------------------------------------------------------

    async def _feed(self) -> None:
        while True:
            try:
                await self._wakeup.ensure()
                self._wake.clear()
                room = self._queue.capacity - len(self._queue)
                if room > 0:
                    with suppress_instrumentation():
                        async with self._database.pool.acquire() as conn:
                            due = await repository.due_jobs(conn, limit=room)
                    for job_id in due:
                        self._queue.offer(job_id)
                self._heartbeat.beat(next_in=self._poll)
            except DATABASE_ERRORS as exc:
                _log.warning("runtime job poll cannot reach the database", error=str(exc))
            except Exception as exc:
                _log.error("runtime job poll failed", exc_info=exc)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll):
                    await self._wake.wait()

    # --- the workers -------------------------------------------------------------------------

    async def _work(self) -> None:
        while True:
            job_id = await self._queue.take()
            try:
                await self._run(job_id)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                _log.error("runtime job failed unexpectedly", job_id=str(job_id), exc_info=exc)

    async def _run(self, job_id: UUID) -> None:
        token = uuid.uuid4()
        async with self._database.pool.acquire() as conn:
            job = await repository.claim_job(conn, job_id=job_id, token=token, lease=_LEASE)
        if job is None:
            return  # not due, or another worker (maybe another backend) has it
        self._running += 1
        renewer = asyncio.create_task(self._renew(job.id, token))
        outcome = "done"
        try:
            with self._tracer.start_as_current_span(
                f"runtime {job.kind}",
                attributes={
                    "galaxy.game_id": str(job.game_id),
                    "runtime.job.attempt": job.attempts,
                },
            ):
                await self._handle(job)
            await self._finish(job, token, "done", None)
        except _WaitForSlot:
            outcome = "waiting"
            async with self._database.pool.acquire() as conn:
                await repository.defer_job(
                    conn, job_id=job.id, token=token, delay=self._slot_recheck
                )
        except asyncio.CancelledError:
            outcome = "interrupted"
            with contextlib.suppress(*DATABASE_ERRORS):
                async with self._database.pool.acquire() as conn:
                    await repository.retry_job(
                        conn, job_id=job.id, token=token, delay=timedelta(0), error="interrupted"
                    )
            raise
        except (JobFailed, DriverError, DomainError, *DATABASE_ERRORS) as exc:
            outcome = await self._failed(job, token, exc)
        finally:
            renewer.cancel()
            self._running -= 1
            self._jobs_done.add(1, {"runtime.job.kind": job.kind, "runtime.job.outcome": outcome})
            # Last: a stop that cancels this wait cuts nothing of the bookkeeping above.
            await asyncio.wait({renewer})

    async def _renew(self, job_id: UUID, token: UUID) -> None:
        while True:
            await asyncio.sleep(_LEASE.total_seconds() / 3)
            with contextlib.suppress(*DATABASE_ERRORS):
                async with self._database.pool.acquire() as conn:
                    await repository.renew_job(conn, job_id=job_id, token=token, lease=_LEASE)

    async def _finish(self, job: Job, token: UUID, status: str, error: str | None) -> None:
        async def finish() -> None:
            async with self._database.pool.acquire() as conn:
                await repository.finish_job(
                    conn, job_id=job.id, token=token, status=status, error=error
                )

        # Done already: recorded as soon as the database answers (the lease is still being
        # renewed), not left to run out and the job to run again.
        await retry_while_unavailable(finish, within=_LEASE.total_seconds() / 2)

    async def _failed(self, job: Job, token: UUID, exc: BaseException) -> str:
        error = (str(exc) or type(exc).__name__)[:_MAX_ERROR]
        transient = getattr(exc, "transient", True)
        if transient and job.attempts < self._start_attempts:
            _log.warning(
                "runtime job failed; retrying",
                job_id=str(job.id),
                kind=job.kind,
                attempt=job.attempts,
                error=error,
            )
            async with self._database.pool.acquire() as conn:
                await repository.retry_job(
                    conn,
                    job_id=job.id,
                    token=token,
                    delay=retry_delay(
                        job.attempts,
                        minimum=self._retry_min,
                        maximum=self._retry_max,
                        rng=self._rng,
                    ),
                    error=error,
                )
            return "retry"
        _log.error("runtime job failed for good", job_id=str(job.id), kind=job.kind, error=error)
        await self._finish(job, token, "failed", error)
        if job.kind in ("start", "restart"):
            with contextlib.suppress(DriverError):
                await self._clients.driver.stop(job.game_id, grace_seconds=5)
            await self._service.set_status(job.game_id, "failed", last_error=error)
        return "failed"

    # --- the handlers ------------------------------------------------------------------------

    async def _handle(self, job: Job) -> None:
        async with self._database.pool.acquire() as conn:
            record = await repository.get_record(conn, job.game_id)
        if record is None:
            return
        handlers: dict[str, Callable[[RuntimeRecord], Awaitable[None]]] = {
            "start": self._start,
            "stop": self._stop,
            "restart": self._restart,
            "remove": self._remove,
        }
        await handlers[job.kind](record)

    async def _start(self, record: RuntimeRecord) -> None:
        if record.status != "starting":
            return  # stopped or failed meanwhile: nothing to start
        if self._max_engines is not None and not await self._slot_for(record):
            raise _WaitForSlot
        await self._clients.driver.create(self._spec(record))
        address = await self._bring_up(record)
        await self._engine.json(
            record.game_id,
            address,
            "POST",
            "/admin/init",
            json={
                "game_id": engine_game_id(record),
                "seed": record.seed,
                "settings": record.settings,
                "players": [
                    {"player_id": str(p.player_id), "race_name": p.race_name}
                    for p in record.players
                ],
            },
        )
        kept = await self._turn_zero(record, address)
        schedule = parse_schedule(record.turn_schedule, record.turn_time_zone)
        await self._service.set_status(
            record.game_id,
            "running",
            kept=kept,
            address=address,
            handle=f"{self._clients.driver.name}:{record.game_id}",
            next_tick_at=schedule.next_after(datetime.now(UTC)),
            health_failures=0,
            last_error=None,
        )
        _log.info("engine running", game_id=str(record.game_id), address=address)

    async def _turn_zero(self, record: RuntimeRecord, address: str) -> KeptTurn:
        """The reports the game starts with, kept as it goes to running."""
        status = await self._engine.json(record.game_id, address, "GET", "/admin/status")
        reports = await fetch_reports(self._engine, record.game_id, address, record.player_ids(), 0)
        return KeptTurn(0, status, await asyncio.to_thread(pack, reports))

    async def _slot_for(self, record: RuntimeRecord) -> bool:
        """An engine slot for this start, or its place in the queue (told to the lobby once,
        so the game's page and the operators see why it waits)."""
        assert self._max_engines is not None
        async with transaction(self._database) as tx:
            answer = await repository.take_engine_slot(
                tx.conn, record.game_id, max_engines=self._max_engines
            )
        if answer.began_waiting:
            _log.info("engine start waits for a slot", game_id=str(record.game_id))
            await self._service.start_waiting(record.game_id, ahead=answer.ahead)
        return answer.taken

    def _spec(self, record: RuntimeRecord) -> EngineSpec:
        return EngineSpec(
            game_id=record.game_id,
            image=record.image,
            admin_token=self._tokens.token(record.game_id),
            limits=self._limits,
            engine_version=record.engine_version,
        )

    async def _bring_up(self, record: RuntimeRecord) -> str:
        """Start the engine, wait until the driver says running, then until /healthz answers
        (a container is running before its server has bound its port)."""
        instance = await self._clients.driver.start(record.game_id)
        began = time.monotonic()
        deadline = began + self._start_timeout
        delay = 0.05
        while instance.state != "running" or instance.address is None:
            # A moment to show up in the driver's view; gone after that, it died at once.
            if instance.state in ("exited", "missing") and time.monotonic() - began > 5:
                raise JobFailed(f"the engine did not start (it is {instance.state})")
            if time.monotonic() > deadline:
                raise JobFailed("the engine was not running in time")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)
            instance = await self._clients.driver.inspect(record.game_id)
        delay = 0.05
        while not await self._engine.healthy(instance.address):
            if time.monotonic() > deadline:
                raise JobFailed("the engine's /healthz did not answer in time")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)
        return instance.address

    async def _stop(self, record: RuntimeRecord) -> None:
        await self._clients.driver.stop(record.game_id)
        if record.status not in ("finished", "failed", "removed"):
            await self._service.set_status(record.game_id, "stopped")

    async def _restart(self, record: RuntimeRecord) -> None:
        if record.status not in ("running", "paused", "failed", "removed", "stopped"):
            return
        await self._clients.driver.stop(record.game_id, grace_seconds=5)
        await self._clients.driver.create(self._spec(record))
        address = await self._bring_up(record)
        # The engine reloads its game from its volume: nothing to initialise again.
        async with transaction(self._database) as tx:
            updated = await self._service.transition(
                tx,
                record.game_id,
                "paused" if record.status == "paused" else "running",
                address=address,
                health_failures=0,
                restarts=record.restarts + 1,
                last_error=None,
            )
        _log.info("engine restarted", game_id=str(record.game_id), restarts=updated.restarts)

    async def _remove(self, record: RuntimeRecord) -> None:
        await self._clients.driver.remove(record.game_id)
        status: RecordStatus = "finished" if record.status == "finished" else "removed"
        async with transaction(self._database) as tx:
            await self._service.transition(
                tx,
                record.game_id,
                status,
                address=None,
                handle=None,
                reported_status=record.reported_status if status == "finished" else "removed",
            )
