"""The platform's status at a glance, for the console's status page (refreshed every few
seconds while open).

Everything in memory (components, loops, caches, the pool, push subscribers) is read as it
is; what lives in PostgreSQL costs three statements on one connection, each reading partial
indexes and counting at most `COUNT_CAP` rows per figure, so a refresh stays cheap however
large the tables grow (bench/console.py measures it). The time those statements took is
part of the answer.
"""

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from galaxy_backend.kernel.liveness import Liveness, LoopState
from galaxy_backend.mail import repository as mail_repository
from galaxy_backend.notification import oversight as notification_oversight
from galaxy_backend.postgres import Database
from galaxy_backend.push.service import PushService, PushStatus, SubscriberLag
from galaxy_backend.runtime import repository as runtime_repository
from galaxy_backend.server.probes import Readiness, SupportsReady

# Queue figures are counted up to this; a page shows more as "10000+".
COUNT_CAP = 10_000


class ComponentStates(Protocol):
    """The App's components (satisfied by the adapter wiring patches with the App)."""

    @property
    def names(self) -> list[str]: ...

    @property
    def started(self) -> list[str]: ...


@dataclass(frozen=True, slots=True)
class ComponentState:
    name: str
    started: bool


@dataclass(frozen=True, slots=True)
class CacheState:
    name: str
    warm: bool


@dataclass(frozen=True, slots=True)
class PoolState:
    size: int
    idle: int
    max_size: int
    embedded: bool


@dataclass(frozen=True, slots=True)
class RuntimeState:
    driver: str
    records: dict[str, int]
    engines_running: int
    max_engines: int | None
    jobs_queued: int
    jobs_running: int
    ticks_due: int
    # How late the oldest due turn is (0 when none is due).
    scheduler_lag_seconds: float


@dataclass(frozen=True, slots=True)
class Status:
    generated_at: datetime
    ready: bool
    reasons: list[str]
    components: list[ComponentState]
    loops: list[LoopState]
    caches: list[CacheState]
    pool: PoolState
    mail: dict[str, int]
    notifications: dict[str, int]
    runtime: RuntimeState
    push: PushStatus
    subscribers: list[SubscriberLag]
    count_cap: int
    database_ms: float


class StatusBoard:
    """Builds `Status`; every source is handed in by the composition root."""

    def __init__(
        self,
        *,
        database: Database,
        readiness: Readiness,
        liveness: Liveness,
        caches: Sequence[SupportsReady],
        push: PushService,
        components: ComponentStates,
        pool_max: int,
        driver_name: Callable[[], str],
        max_engines: int | None,
        count_cap: int = COUNT_CAP,
    ) -> None:
        self._database = database
        self._readiness = readiness
        self._liveness = liveness
        self._caches = list(caches)
        self._push = push
        self._components = components
        self._pool_max = pool_max
        self._driver_name = driver_name
        self._max_engines = max_engines
        self._cap = count_cap

    async def status(self) -> Status:
        reasons = await self._readiness.reasons()
        spent = 0.0
        async with self._database.pool.acquire() as conn:
            started = time.perf_counter()
            mail = await mail_repository.queue_depths(conn, cap=self._cap)
            notifications = await notification_oversight.queue_depths(conn, cap=self._cap)
            runtime = await runtime_repository.overview(conn, cap=self._cap)
            spent = time.perf_counter() - started
        started_names = set(self._components.started)
        pool = self._database.stats()
        lag = (runtime.now - runtime.oldest_due_at).total_seconds() if runtime.oldest_due_at else 0
        return Status(
            generated_at=runtime.now,
            ready=not reasons,
            reasons=reasons,
            components=[
                ComponentState(name, name in started_names) for name in self._components.names
            ],
            loops=self._liveness.snapshot(),
            caches=[CacheState(c.name, c.ready()) for c in self._caches],
            pool=PoolState(
                size=int(pool["size"]),
                idle=int(pool["idle"]),
                max_size=self._pool_max,
                embedded=self._database.embedded,
            ),
            mail=mail,
            notifications=notifications,
            runtime=RuntimeState(
                driver=self._driver_name(),
                records=runtime.records,
                engines_running=runtime.engines_running,
                max_engines=self._max_engines,
                jobs_queued=runtime.jobs_queued,
                jobs_running=runtime.jobs_running,
                ticks_due=runtime.ticks_due,
                scheduler_lag_seconds=max(lag, 0.0),
            ),
            push=self._push.status(),
            subscribers=sorted(self._push.subscribers(), key=lambda s: s.gateway_id),
            count_cap=self._cap,
            database_ms=round(spent * 1000, 3),
        )
