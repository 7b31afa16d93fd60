"""The reconciler: what the driver runs against what the records say, and engine health.

Every `BACKEND_RUNTIME_RECONCILE_INTERVAL`, one backend at a time (a PostgreSQL advisory
lock; the others skip that round): list the engines labelled `galaxy.backend=1`; adopt a
labelled engine whose record lost track of it (its handle and address are written back; a
record marked `removed` whose engine is back goes to running again) or that has no record
while the lobby has its game live (the record is made again, through the one status
writer, and the lobby told as of a start), and stop, keeping its data, a labelled engine
of a game the platform does not know or that is over;
mark a record whose engine is gone `removed` and tell the lobby; probe every live engine's
`/healthz`, and after `health_failures` failures in a row (as Agones does for game
servers) restart it from its volume, up to `restart_budget` times, then mark it failed and
tell its players. Reports the lobby has not taken yet are sent again here.
"""

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from uuid import UUID

from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.metrics import CallbackOptions, Meter, Observation

from galaxy_backend.kernel.errors import DomainError
from galaxy_backend.kernel.liveness import Liveness
from galaxy_backend.notification.models import Notice
from galaxy_backend.postgres import DATABASE_ERRORS, Database, transaction
from galaxy_backend.runtime import repository
from galaxy_backend.runtime.clients import RuntimeClients
from galaxy_backend.runtime.drivers.base import LABEL_ENGINE_VERSION, DriverError, EngineInstance
from galaxy_backend.runtime.engine_client import EngineClient
from galaxy_backend.runtime.models import RuntimeRecord
from galaxy_backend.runtime.service import RuntimeService
from galaxy_backend.telemetry import get_logger

_log = get_logger(__name__)

# One fixed key: a single reconciler round at a time across every replica.
RECONCILE_LOCK_KEY = 0x6761_6C61_7879_0002
# How long one engine's health probe may take; a round probes every live engine in turn.
HEALTH_WAIT_SECONDS = 2.0


class Reconciler:
    name = "runtime-reconciler"
    stop_timeout: float | None = 10.0

    def __init__(
        self,
        *,
        database: Database,
        service: RuntimeService,
        clients: RuntimeClients,
        engine: EngineClient,
        interval: timedelta,
        health_failures: int = 3,
        restart_budget: int = 3,
        meter: Meter,
        liveness: Liveness | None = None,
    ) -> None:
        self._database = database
        self._heartbeat = (liveness or Liveness()).heartbeat(self.name)
        self._service = service
        self._clients = clients
        self._engine = engine
        self._interval = interval.total_seconds()
        self._health_failures = health_failures
        self._restart_budget = restart_budget
        self._task: asyncio.Task[None] | None = None
        self._by_status: dict[str, int] = {}
        self.rounds = 0
        meter.create_observable_gauge(
            "runtime.records",
            callbacks=[self._observe_records],
            unit="{game}",
            description="Runtime records by status",
        )

    def _observe_records(self, _: CallbackOptions) -> list[Observation]:
        counts = dict(self._by_status)
        return [Observation(n, {"runtime.status": s}) for s, n in counts.items()]

    async def start(self) -> None:
        self._heartbeat.start()
        self._task = asyncio.create_task(self._run(), name="runtime-reconciler")

    async def stop(self) -> None:
        self._heartbeat.stop()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                await self.reconcile()
                # A round another backend ran (its lock held) counts: this loop is alive.
                self._heartbeat.beat(next_in=self._interval)
            except DATABASE_ERRORS as exc:
                _log.warning("reconciler cannot reach the database", error=str(exc))
            except Exception as exc:
                _log.error("reconcile round failed", exc_info=exc)
            await asyncio.sleep(self._interval)

    async def reconcile(self) -> bool:
        """One round; False when another backend holds the round's lock."""
        with suppress_instrumentation():
            async with self._database.pool.acquire() as lock_conn:
                if not await repository.try_advisory_lock(lock_conn, RECONCILE_LOCK_KEY):
                    return False
                try:
                    await self._round()
                finally:
                    await repository.advisory_unlock(lock_conn, RECONCILE_LOCK_KEY)
        self.rounds += 1
        return True

    async def _round(self) -> None:
        try:
            instances = {i.game_id: i for i in await self._clients.driver.list_labelled()}
        except DriverError as exc:
            _log.warning("reconciler cannot list engines", error=str(exc))
            return
        async with self._database.pool.acquire() as conn:
            records = await repository.live_records(conn)
            self._by_status = await repository.count_by_status(conn)
        # One health probe per engine, each bounded, in this round.
        self._heartbeat.extend(HEALTH_WAIT_SECONDS * len(records))
        recorded = {r.game_id for r in records}
        for game_id, instance in instances.items():
            if game_id not in recorded and instance.state == "running":
                await self._unrecorded(instance)
        for record in records:
            if record.status != "starting":  # a starting one belongs to its start job
                await self._reconcile_one(record, instances.get(record.game_id))
        await self._service.report_pending()

    async def _reconcile_one(self, record: RuntimeRecord, instance: EngineInstance | None) -> None:
        if instance is None or instance.state == "missing":
            await self._service.set_status(
                record.game_id,
                "removed",
                address=None,
                last_error="its engine is gone (found missing by the reconciler)",
            )
            return
        if instance.state == "running" and (
            instance.address != record.address or record.handle is None
        ):
            # Adopt what the driver runs (a record that lost track of its engine).
            async with self._database.pool.acquire() as conn:
                record = await repository.update_record(
                    conn,
                    record.game_id,
                    address=instance.address,
                    handle=self._handle(record.game_id),
                )
        await self._check_health(record, instance.state == "running")

    def _handle(self, game_id: UUID) -> str:
        return f"{self._clients.driver.name}:{game_id}"

    async def _unrecorded(self, instance: EngineInstance) -> None:
        """A running engine labelled ours that no live record follows: adopted when its
        record says the engine was lost (it came back), or when it has no record but the
        lobby has its game live (the record is made again); stopped (its data kept) when
        its game is unknown or over; left alone otherwise (a stop under way, a finished
        game's engine kept for its retention)."""
        async with self._database.pool.acquire() as conn:
            record = await repository.get_record(conn, instance.game_id)
        if record is None:
            if not await self._adopt_unrecorded(instance):
                _log.error(
                    "a labelled engine belongs to no live game here; stopping it, its data kept",
                    game_id=str(instance.game_id),
                )
                with contextlib.suppress(DriverError):
                    await self._clients.driver.stop(instance.game_id, grace_seconds=5)
            return
        if record.status != "removed":
            _log.warning(
                "a labelled engine runs for a game whose record is not live; leaving it",
                game_id=str(instance.game_id),
                status=record.status,
            )
            return
        _log.warning("adopting a labelled engine its record had lost", game_id=str(record.game_id))
        async with transaction(self._database) as tx:
            await self._service.transition(
                tx,
                record.game_id,
                "running",
                address=instance.address,
                handle=self._handle(record.game_id),
                health_failures=0,
                last_error=None,
            )

    async def _adopt_unrecorded(self, instance: EngineInstance) -> bool:
        """Make the record again of an engine whose game the lobby has live (starting,
        running, paused): its address and handle from the driver, its version from its
        label, its turn from the engine itself. False when it is no engine to keep: its
        game unknown or over, its version unknown, or the engine never initialised."""
        game = await self._service.live_game(instance.game_id)
        if game is None:
            return False
        if instance.address is None:
            return True  # no address shown yet: the next round sees it
        try:
            status = await self._engine.json(
                game.id,
                instance.address,
                "GET",
                "/admin/status",
                wait_seconds=HEALTH_WAIT_SECONDS,
            )
        except DomainError as exc:
            if exc.code == "not_initialised":
                return False  # it holds no galaxy: nothing to adopt
            # Not answering now: the next round tries again, the engine left running.
            _log.warning("cannot adopt an engine yet", game_id=str(game.id), error=str(exc))
            return True
        version = instance.labels.get(LABEL_ENGINE_VERSION) or game.engine_version
        adopted = await self._service.adopt(
            game,
            engine_version=version,
            address=instance.address,
            handle=self._handle(game.id),
            turn=int(status.get("turn") or 0),
        )
        return adopted is not None

    async def _check_health(self, record: RuntimeRecord, running: bool) -> None:
        healthy = (
            running
            and record.address is not None
            and await self._engine.healthy(record.address, wait_seconds=HEALTH_WAIT_SECONDS)
        )
        if healthy:
            if record.health_failures:
                async with self._database.pool.acquire() as conn:
                    await repository.update_record(
                        conn, record.game_id, health_failures=0, last_health_at=datetime.now(UTC)
                    )
            return
        failures = record.health_failures + 1
        async with self._database.pool.acquire() as conn:
            await repository.update_record(conn, record.game_id, health_failures=failures)
            pending = await repository.pending_job_of(conn, record.game_id, "restart")
        if failures < self._health_failures or pending is not None:
            return
        if record.restarts < self._restart_budget:
            _log.warning(
                "engine unhealthy; restarting it from its volume",
                game_id=str(record.game_id),
                failures=failures,
                restarts=record.restarts,
            )
            await self._service.queue_job(record.game_id, "restart", reason="health checks failed")
            return
        await self._give_up(record)

    async def _give_up(self, record: RuntimeRecord) -> None:
        _log.error("engine failed for good", game_id=str(record.game_id), restarts=record.restarts)
        async with transaction(self._database) as tx:
            # The status and its notice commit together: a crash between cannot part them.
            await self._service.transition(
                tx,
                record.game_id,
                "failed",
                last_error="the engine kept failing its health checks",
            )
            await self._service.tell(
                tx,
                Notice(
                    kind="runtime.game.engine_failed",
                    user_ids=record.player_ids(),
                    title=f"{record.game_name}: the game is stopped",
                    body=(
                        f"The engine of {record.game_name} kept failing and was restarted"
                        f" {record.restarts} times; the game is paused until an operator"
                        " looks at it. Nothing of the game is lost."
                    ),
                    payload={"game_id": str(record.game_id)},
                    key=f"engine-failed:{record.game_id}:{record.restarts}",
                ),
            )
        with contextlib.suppress(DriverError):
            await self._clients.driver.stop(record.game_id, grace_seconds=5)
