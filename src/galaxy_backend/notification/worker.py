"""The notification worker: claims due routes in batches and delivers them.

Routes are leased with SELECT ... FOR UPDATE SKIP LOCKED, so any number of workers in any
number of processes share the queue. A push route publishes the notification to the push
service for its user; an email route queues a templated mail with the route's id as its
idempotency key, in the same transaction that marks the route delivered, so a retried
route never mails twice. Failures back off with jitter; past the attempt budget, or on a
failure that cannot pass later, a route becomes a dead letter. The worker also writes out
broadcasts, one batch of recipients at a time.
"""

import asyncio
import random
import uuid
from collections.abc import Iterable
from contextlib import suppress
from datetime import UTC, datetime, timedelta

from opentelemetry import propagate, trace
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.metrics import CallbackOptions, Meter, Observation
from opentelemetry.trace import Tracer

from galaxy_backend.kernel.backoff import retry_delay
from galaxy_backend.kernel.liveness import Liveness
from galaxy_backend.mail import templates
from galaxy_backend.mail.service import MailService, OutgoingMail, usable_address
from galaxy_backend.notification import catalogue, repository
from galaxy_backend.notification.repository import ClaimedRoute, Failure
from galaxy_backend.notification.service import NotificationService
from galaxy_backend.postgres import DATABASE_ERRORS, PoolProvider, transaction
from galaxy_backend.postgres.retry import retry_while_unavailable
from galaxy_backend.postgres.wakeup import Wakeup
from galaxy_backend.push import Publisher
from galaxy_backend.telemetry import DURATION_BUCKETS_SECONDS, get_logger

_log = get_logger(__name__)

# Errors that mean "the database is not answering right now", not a bug.
PUSH_KIND = "notification"
_MAX_ERROR_LENGTH = 500
_STATUSES = ("pending", "delivering", "dead")


class NotificationWorker:
    """Drains notification_routes; a Component started after the listeners."""

    name = "notification-worker"
    stop_timeout: float | None = 10.0

    def __init__(
        self,
        *,
        database: PoolProvider,
        service: NotificationService,
        mail: MailService,
        push: Publisher,
        max_attempts: int,
        backoff_min: timedelta,
        backoff_max: timedelta,
        batch_size: int = 500,
        broadcast_batch: int = 1000,
        lease: timedelta = timedelta(minutes=1),
        poll_interval: timedelta = timedelta(seconds=1),
        rng: random.Random | None = None,
        tracer: Tracer | None = None,
        meter: Meter,
        count_interval: timedelta = timedelta(seconds=15),
        liveness: Liveness | None = None,
    ) -> None:
        if max_attempts < 1 or batch_size < 1:
            raise ValueError("max_attempts and batch_size must be at least 1")
        self._database = database
        self._service = service
        self._mail = mail
        self._push = push
        self._max_attempts = max_attempts
        self._backoff_min = backoff_min
        self._backoff_max = backoff_max
        self._batch_size = batch_size
        self._broadcast_batch = broadcast_batch
        self._lease = lease
        self._poll = poll_interval.total_seconds()
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not secrecy
        self._tracer = tracer or trace.get_tracer(__name__)
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()
        # Set at start (one may be half written out) and whenever one is queued.
        self._broadcast_due = asyncio.Event()
        self._broadcast_due.set()
        liveness = liveness or Liveness()
        self._heartbeat = liveness.heartbeat(self.name)
        self._wakeup = Wakeup(
            database,
            repository.CHANNEL,
            self._wake,
            also={repository.BROADCAST_CHANNEL: (self._broadcast_due, self._wake)},
            liveness=liveness,
        )
        self._task: asyncio.Task[None] | None = None
        self._dispatches = meter.create_counter(
            "notification.dispatches",
            unit="{route}",
            description="Delivery attempts of notification routes, by channel and outcome",
        )
        self._latency = meter.create_histogram(
            "notification.delivery.latency",
            unit="s",
            description="Time from a notification's creation to its route's delivery",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS_SECONDS,
        )
        self._counts: dict[tuple[str, str], int] | None = None
        self._count_interval = count_interval.total_seconds()
        self._count_due = 0.0
        meter.create_observable_gauge(
            "notification.routes",
            callbacks=[self._observe_routes],
            unit="{route}",
            description="Notification routes waiting or dead, by channel and status",
        )
        meter.create_observable_gauge(
            "notification.dead_letters",
            callbacks=[self._observe_dead],
            unit="{route}",
            description="Notification routes that failed for good and wait for an operator",
        )

    async def start(self) -> None:
        await self._wakeup.ensure()
        self._heartbeat.start()
        self._task = asyncio.create_task(self._run(), name="notification-worker")

    async def stop(self) -> None:
        """Finish the batch in hand (its routes are recorded or handed back), then stop."""
        self._stop.set()
        self._heartbeat.stop()
        self._wake.set()
        task, self._task = self._task, None
        try:
            if task is not None:
                await asyncio.shield(task)
        except asyncio.CancelledError:
            if task is not None:
                task.cancel()
                with suppress(asyncio.CancelledError):
                    await asyncio.wait({task}, timeout=3.0)
            raise
        finally:
            await self._wakeup.close()

    # --- the loop ----------------------------------------------------------------------------

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._stop.is_set():
            try:
                if loop.time() >= self._count_due:
                    await self._count()
                await self._wakeup.ensure()
                self._wake.clear()
                worked = await self._deliver_due()
                if self._broadcast_due.is_set():
                    # Written out between route batches, so a broadcast never starves them.
                    # Cleared before the look: one queued while it runs sets it again.
                    self._broadcast_due.clear()
                    more = True  # and kept set if the look fails
                    try:
                        more = await self._service.write_out_broadcast(self._broadcast_batch)
                    finally:
                        if more:
                            self._broadcast_due.set()
                    worked = worked or more
                self._heartbeat.beat(next_in=0.0 if worked else self._poll)
                if not worked:
                    await self._wait(self._wake, self._poll)
            except DATABASE_ERRORS as exc:
                _log.warning("notification worker cannot reach the database", error=str(exc))
                await self._wait(self._stop, self._poll)
            except Exception as exc:
                _log.error("notification worker iteration failed", exc_info=exc)
                await self._wait(self._stop, self._poll)

    async def _wait(self, event: asyncio.Event, seconds: float) -> None:
        with suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await event.wait()

    async def _deliver_due(self) -> bool:
        token = uuid.uuid4()
        # An idle queue is polled every second: no trace for each empty look.
        with suppress_instrumentation():
            async with self._database.pool.acquire() as conn:
                routes = await repository.claim_routes(
                    conn, lease_token=token, lease=self._lease, limit=self._batch_size
                )
        if not routes:
            return False
        handed_back: list[uuid.UUID] = []
        try:
            push = [r for r in routes if r.channel == "push"]
            email = [r for r in routes if r.channel == "email"]
            await self._deliver_push(token, push)
            if self._stop.is_set():
                handed_back = [r.id for r in email]
            else:
                await self._deliver_email(token, email)
        finally:
            if handed_back:
                async with self._database.pool.acquire() as conn:
                    await repository.release(conn, lease_token=token, ids=handed_back)
        return True

    # --- push --------------------------------------------------------------------------------

    async def _deliver_push(self, token: uuid.UUID, routes: list[ClaimedRoute]) -> None:
        """Publish each to the push ring, which takes every event (it never waits or fails)."""
        if not routes:
            return
        for route in routes:
            with self._dispatch_span(route):
                self._push.publish(
                    PUSH_KIND,
                    {
                        "id": str(route.notification_id),
                        "kind": route.kind,
                        "title": route.title,
                        "body": route.body,
                        "payload": route.payload,
                        "created_at": route.created_at.isoformat(),
                    },
                    user_ids=[str(route.user_id)],
                )

        async def mark() -> None:
            async with self._database.pool.acquire() as conn:
                await repository.mark_delivered(conn, lease_token=token, ids=[r.id for r in routes])

        # Published already: recorded as soon as the database answers, not left to the lease
        # (which would publish them again).
        await retry_while_unavailable(
            mark, within=self._lease.total_seconds() / 2, give_up=self._stop.is_set
        )
        self._measure(routes, [], "push")

    # --- email -------------------------------------------------------------------------------

    async def _deliver_email(self, token: uuid.UUID, routes: list[ClaimedRoute]) -> None:
        if not routes:
            return
        outgoing: list[OutgoingMail] = []
        sendable: list[ClaimedRoute] = []
        failures: list[Failure] = []
        for route in routes:
            with self._dispatch_span(route):
                if route.email is None or not usable_address(route.email):
                    # Nothing later can fix a deleted account or an unusable address.
                    failures.append(Failure(route.id, "no usable email address", None))
                    continue
                kind = catalogue.BY_NAME.get(route.kind)
                mail = templates.notification(
                    route.title,
                    route.body,
                    unsubscribe_url=self._service.unsubscribe_url(route.user_id, route.kind),
                    reason=kind.description if kind else route.kind,
                    preformatted=route.mail_text,
                )
                outgoing.append(
                    OutgoingMail(
                        to=route.email,
                        mail=mail,
                        kind=f"notification:{route.kind}"[:64],
                        idempotency_key=f"notification-route:{route.id}",
                    )
                )
                sendable.append(route)
        if sendable:
            try:
                await self._queue_mails(token, sendable, outgoing)
            except DATABASE_ERRORS as exc:
                error = f"database: {type(exc).__name__}: {exc}"
                failures += [self._failure(r, error) for r in sendable]
                sendable = []
        if failures:
            async with self._database.pool.acquire() as conn:
                await repository.record_failures(conn, lease_token=token, failures=failures)
        self._measure(sendable, failures, "email")

    async def _queue_mails(
        self, token: uuid.UUID, routes: list[ClaimedRoute], outgoing: list[OutgoingMail]
    ) -> None:
        with self._tracer.start_as_current_span(
            "notification mail", attributes={"notification.routes": len(routes)}
        ):
            # One transaction: the mails are queued if and only if the routes are done.
            async with transaction(self._database) as tx:
                await self._mail.enqueue_many(tx.conn, outgoing)
                await repository.mark_delivered(
                    tx.conn, lease_token=token, ids=[r.id for r in routes]
                )
                reports = [r.notification_id for r in routes if r.mail_text]
                if reports:
                    await repository.forget_mail_texts(tx.conn, reports)

    # --- bookkeeping -------------------------------------------------------------------------

    def _failure(self, route: ClaimedRoute, error: str) -> Failure:
        used = route.attempts + 1 - route.retry_base
        if used >= self._max_attempts:
            return Failure(route.id, error[:_MAX_ERROR_LENGTH], None)
        delay = retry_delay(
            used, minimum=self._backoff_min, maximum=self._backoff_max, rng=self._rng
        )
        return Failure(route.id, error[:_MAX_ERROR_LENGTH], delay.total_seconds())

    def _dispatch_span(self, route: ClaimedRoute) -> trace.Span:
        # Joins the trace of the change that created the notification.
        parent = (
            propagate.extract({"traceparent": route.trace_parent}) if route.trace_parent else None
        )
        span = self._tracer.start_span(
            "notification deliver",
            context=parent,
            attributes={
                "notification.id": str(route.notification_id),
                "notification.kind": route.kind,
                "notification.channel": route.channel,
            },
        )
        return trace.use_span(span, end_on_exit=True)  # type: ignore[return-value]

    def _measure(
        self, delivered: Iterable[ClaimedRoute], failures: list[Failure], channel: str
    ) -> None:
        now = datetime.now(UTC)
        count = 0
        for route in delivered:
            count += 1
            self._latency.record(
                max((now - route.created_at).total_seconds(), 0.0),
                {"notification.channel": channel},
            )
        if count:
            self._dispatches.add(
                count, {"notification.channel": channel, "notification.outcome": "delivered"}
            )
        dead = sum(1 for f in failures if f.retry_in_seconds is None)
        if dead:
            self._dispatches.add(
                dead, {"notification.channel": channel, "notification.outcome": "dead"}
            )
            _log.warning("notification routes dead-lettered", channel=channel, routes=dead)
        if len(failures) > dead:
            self._dispatches.add(
                len(failures) - dead,
                {"notification.channel": channel, "notification.outcome": "retry"},
            )

    async def _count(self) -> None:
        self._count_due = asyncio.get_running_loop().time() + self._count_interval
        with suppress_instrumentation():
            async with self._database.pool.acquire() as conn:
                self._counts = await repository.count_routes(conn)

    def _observe_routes(self, _: CallbackOptions) -> list[Observation]:
        counts = self._counts
        if counts is None:
            return []
        return [
            Observation(
                counts.get((channel, status), 0),
                {"notification.channel": channel, "notification.status": status},
            )
            for channel in catalogue.CHANNELS
            for status in _STATUSES
        ]

    def _observe_dead(self, _: CallbackOptions) -> list[Observation]:
        counts = self._counts
        if counts is None:
            return []
        return [Observation(sum(n for (_, s), n in counts.items() if s == "dead"))]
