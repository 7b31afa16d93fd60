"""The mail worker: claims due rows in batches, sends them over one SMTP connection.

One asyncio task. Rows are leased with SELECT ... FOR UPDATE SKIP LOCKED, so any number
of workers in any number of processes share the queue without sending a row twice; a
worker that dies leaves its rows to be taken again when their lease runs out.
"""

import asyncio
import random
import ssl
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiosmtplib
from opentelemetry import metrics, trace
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.metrics import CallbackOptions, Meter, Observation
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer

from galaxy_backend.kernel.backoff import retry_delay
from galaxy_backend.kernel.liveness import Liveness
from galaxy_backend.mail import repository
from galaxy_backend.mail.message import Sender, compose, needs_smtputf8
from galaxy_backend.mail.models import AttemptOutcome, AttemptResult, ClaimedMail, DeliveryStatus
from galaxy_backend.mail.tls import SmtpTls, tls_options
from galaxy_backend.postgres import DATABASE_ERRORS, PoolProvider
from galaxy_backend.postgres.retry import retry_while_unavailable
from galaxy_backend.postgres.wakeup import Wakeup
from galaxy_backend.telemetry import DURATION_BUCKETS_SECONDS, get_logger

_log = get_logger(__name__)

# Errors that mean "the database is not answering right now", not a bug.
# An idle SMTP connection is closed after this long; relays drop idle clients anyway.
_SMTP_IDLE_SECONDS = 30.0
# How long stop() may spend returning rows after its task was cancelled.
_CLEANUP_SECONDS = 3.0
_MAX_ERROR_LENGTH = 500
_SMTP_SERVICE_CLOSING = 421
_QUEUED_STATUSES: tuple[DeliveryStatus, ...] = ("pending", "retrying", "sending")


@dataclass(frozen=True, slots=True)
class _Sent:
    outcome: AttemptOutcome
    smtp_code: int | None
    error: str | None


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text[:_MAX_ERROR_LENGTH]


def _reply(code: int, message: str) -> _Sent:
    # 5xx is the server's final word on this mail; anything else may pass later.
    outcome: AttemptOutcome = "permanent" if 500 <= code < 600 else "transient"
    return _Sent(outcome, code, f"{code} {message}"[:_MAX_ERROR_LENGTH])


class MailWorker:
    """Drains mail_deliveries to an SMTP server; a Component started after the listeners."""

    name = "mail-worker"

    def __init__(
        self,
        *,
        database: PoolProvider,
        smtp_host: str,
        smtp_port: int,
        smtp_username: str | None,
        smtp_password: str | None,
        smtp_tls: SmtpTls,
        mail_from: str,
        max_attempts: int,
        backoff_min: timedelta,
        backoff_max: timedelta,
        batch_size: int = 50,
        lease: timedelta = timedelta(minutes=2),
        poll_interval: timedelta = timedelta(seconds=1),
        smtp_timeout: timedelta = timedelta(seconds=30),
        tls_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
        smtp_endpoint: Callable[[], tuple[str, int]] | None = None,
        rng: random.Random | None = None,
        tracer: Tracer | None = None,
        meter: Meter | None = None,
        depth_interval: timedelta = timedelta(seconds=15),
        stop_grace: timedelta = timedelta(seconds=5),
        liveness: Liveness | None = None,
    ) -> None:
        """`smtp_endpoint`, when given, is asked for (host, port) at each connect instead of
        smtp_host/smtp_port: the embedded sink knows its port only once it has started."""
        if max_attempts < 1 or batch_size < 1:
            raise ValueError("max_attempts and batch_size must be at least 1")
        if not timedelta(0) < backoff_min <= backoff_max:
            raise ValueError("need 0 < backoff_min <= backoff_max")
        if smtp_timeout * 2 > lease:
            # A send must end well inside the lease, or another worker could send it too.
            raise ValueError("the lease must be at least twice the SMTP timeout")
        self._database = database
        self._sender = Sender.parse(mail_from)
        self._smtp_endpoint = smtp_endpoint
        self._smtp_options: dict[str, Any] = {
            "hostname": smtp_host,
            "port": smtp_port,
            "username": smtp_username,
            "password": smtp_password,
            **tls_options(smtp_tls, port=smtp_port, with_credentials=smtp_username is not None),
            "timeout": smtp_timeout.total_seconds(),
            "tls_context": tls_context,
            # socket.getfqdn() can stall on DNS; the sender's domain names us well enough.
            "local_hostname": local_hostname or self._sender.domain,
        }
        self._max_attempts = max_attempts
        self._backoff_min = backoff_min
        self._backoff_max = backoff_max
        self._batch_size = batch_size
        self._lease = lease
        self._poll_seconds = poll_interval.total_seconds()
        self._smtp_timeout = smtp_timeout.total_seconds()
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not secrecy
        # Stop waits this long for the attempt under way, then cuts it (it is retried later):
        # never the whole SMTP timeout, which may exceed the process's stop budget.
        self._stop_grace = min(self._smtp_timeout, stop_grace.total_seconds())
        self.stop_timeout: float | None = self._stop_grace + _CLEANUP_SECONDS + 1.0
        self._tracer = tracer or trace.get_tracer(__name__)
        self._depths: dict[DeliveryStatus, int] | None = None
        self._depth_interval = depth_interval.total_seconds()
        self._depth_due = 0.0
        self._instrument(meter or metrics.get_meter(__name__))
        self._task: asyncio.Task[None] | None = None
        self._stop_requested = asyncio.Event()
        self._wake = asyncio.Event()
        liveness = liveness or Liveness()
        self._heartbeat = liveness.heartbeat(self.name)
        self._wakeup = Wakeup(database, repository.CHANNEL, self._wake, liveness=liveness)
        self._smtp: aiosmtplib.SMTP | None = None
        self._smtp_used_at = 0.0
        self._connection_failures = 0
        self._paused_until = 0.0
        self._earliest_retry: float | None = None

    def _instrument(self, meter: Meter) -> None:
        self._attempts = meter.create_counter(
            "mail.attempts",
            unit="{attempt}",
            description="SMTP delivery attempts, by the delivery's resulting status and outcome",
        )
        self._send_duration = meter.create_histogram(
            "mail.send.duration",
            unit="s",
            description="Duration of one SMTP delivery attempt",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS_SECONDS,
        )
        # Depths are counted in the database now and then, read by the meter at collection
        # time (its callbacks run on the exporter's thread, where no query can be awaited).
        meter.create_observable_gauge(
            "mail.queue.depth",
            callbacks=[self._observe_depth],
            unit="{mail}",
            description="Mails waiting to be sent, by status (all workers' queue)",
        )
        meter.create_observable_gauge(
            "mail.dead_letters",
            callbacks=[self._observe_dead_letters],
            unit="{mail}",
            description="Mails that failed for good and wait for an operator",
        )

    @property
    def stopping(self) -> bool:
        return self._stop_requested.is_set()

    async def start(self) -> None:
        """Listen for new mail, then drain whatever is due in the background."""
        await self._wakeup.ensure()
        self._heartbeat.start()
        self._task = asyncio.create_task(self._run(), name="mail-worker")

    async def stop(self) -> None:
        """Finish the message being sent, hand every other claimed row back, close up."""
        self._stop_requested.set()
        self._heartbeat.stop()
        self._wake.set()
        task, self._task = self._task, None
        out_of_time = False
        try:
            if task is not None:
                try:
                    finished, _ = await asyncio.wait({task}, timeout=self._stop_grace)
                except asyncio.CancelledError:
                    finished = set()  # the App's own deadline passed first
                    raise
                finally:
                    if not finished:
                        # Out of time: interrupt the send; the task still returns its rows.
                        out_of_time = True
                        task.cancel()
                        await asyncio.wait({task}, timeout=_CLEANUP_SECONDS)
        finally:
            await self._close_smtp(graceful=not out_of_time)
            await self._wakeup.close()

    # --- the loop ---------------------------------------------------------------------------

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while not self.stopping:
            try:
                # Counted in pauses too: an outage is when the queue grows.
                if loop.time() >= self._depth_due:
                    await self._count_queue()
                if self._paused_until > loop.time():
                    # The SMTP server is unreachable: only a stop cuts the pause short.
                    until = min(self._paused_until, self._depth_due)
                    self._heartbeat.beat(next_in=until - loop.time())
                    await self._wait(self._stop_requested, until - loop.time())
                    continue
                await self._wakeup.ensure()
                self._wake.clear()
                token = uuid.uuid4()
                claimed_at = loop.time()
                # An idle queue is polled every second: no trace for each empty look.
                with suppress_instrumentation():
                    async with self._database.pool.acquire() as conn:
                        batch = await repository.claim_due(
                            conn, lease_token=token, lease=self._lease, limit=self._batch_size
                        )
                if batch:
                    with self._tracer.start_as_current_span(
                        "mail deliver", attributes={"mail.batch_size": len(batch)}
                    ):
                        await self._deliver(batch, token, claimed_at)
                    self._heartbeat.beat()
                    continue
                await self._close_idle_smtp()
                idle = self._idle_seconds()
                self._heartbeat.beat(next_in=idle)
                await self._wait(self._wake, idle)
            except DATABASE_ERRORS as exc:
                _log.warning("mail worker cannot reach the database", error=_describe(exc))
                await self._wait(self._stop_requested, self._poll_seconds)
            except Exception as exc:
                _log.error("mail worker iteration failed", exc_info=exc)
                await self._wait(self._stop_requested, self._poll_seconds)

    async def _count_queue(self) -> None:
        self._depth_due = asyncio.get_running_loop().time() + self._depth_interval
        with suppress_instrumentation():
            async with self._database.pool.acquire() as conn:
                self._depths = await repository.count_by_status(conn)

    def _observe_depth(self, _: CallbackOptions) -> Iterable[Observation]:
        depths = self._depths
        if depths is None:
            return []
        return [Observation(depths.get(s, 0), {"mail.status": s}) for s in _QUEUED_STATUSES]

    def _observe_dead_letters(self, _: CallbackOptions) -> Iterable[Observation]:
        depths = self._depths
        return [] if depths is None else [Observation(depths.get("failed", 0))]

    async def _wait(self, event: asyncio.Event, seconds: float) -> None:
        with suppress(TimeoutError):
            async with asyncio.timeout(max(seconds, 0.0)):
                await event.wait()

    def _idle_seconds(self) -> float:
        # Wake for our own retries on time instead of at the next poll.
        seconds = self._poll_seconds
        if self._earliest_retry is not None:
            until = self._earliest_retry - asyncio.get_running_loop().time()
            if until <= 0:
                self._earliest_retry = None
            else:
                seconds = min(seconds, until)
        return seconds

    async def _deliver(self, batch: list[ClaimedMail], token: uuid.UUID, claimed_at: float) -> None:
        """Send the batch one mail at a time, recording each outcome before the next send:
        a crash then repeats at most the one mail in flight."""
        loop = asyncio.get_running_loop()
        renew_after = self._lease.total_seconds() / 2
        held = deque(batch)
        unrecorded: list[AttemptResult] = []
        in_flight: ClaimedMail | None = None
        release_after = timedelta(0)
        try:
            while held and not self.stopping:
                if loop.time() - claimed_at >= renew_after:
                    claimed_at = loop.time()
                    held = await self._renew(token, held)
                    continue
                in_flight = held.popleft()
                # One send may take the whole SMTP timeout.
                self._heartbeat.extend(self._smtp_timeout)
                result, unreachable = await self._attempt(in_flight)
                in_flight = None
                unrecorded = [result]
                await self._flush(token, unrecorded)
                unrecorded = []
                self._heartbeat.beat()
                if unreachable:
                    release_after = self._pause()
                    break
        finally:
            unsent = [m.id for m in held]
            if in_flight is not None:
                # Interrupted mid-send (cancelled): whether it left is unknown, so retry it.
                unsent.append(in_flight.id)
            await self._settle(token, unrecorded, unsent, release_after)

    async def _renew(self, token: uuid.UUID, held: deque[ClaimedMail]) -> deque[ClaimedMail]:
        async with self._database.pool.acquire() as conn:
            kept = await repository.renew_leases(
                conn, lease_token=token, ids=[m.id for m in held], lease=self._lease
            )
        lost = len(held) - len(kept)
        if lost:
            _log.warning("mail leases ran out before sending; others will send them", rows=lost)
        return deque(m for m in held if m.id in kept)

    def _pause(self) -> timedelta:
        self._connection_failures += 1
        pause = retry_delay(
            self._connection_failures,
            minimum=self._backoff_min,
            maximum=self._backoff_max,
            rng=self._rng,
        )
        self._paused_until = asyncio.get_running_loop().time() + pause.total_seconds()
        _log.warning(
            "SMTP server unreachable; mail worker pausing",
            failures=self._connection_failures,
            pause_seconds=round(pause.total_seconds(), 3),
        )
        return pause

    async def _settle(
        self,
        token: uuid.UUID,
        results: list[AttemptResult],
        unsent: list[uuid.UUID],
        release_after: timedelta,
    ) -> None:
        # A mail already sent must be recorded, or it would be sent again once its lease ran
        # out: keep trying while the database is away, well inside the lease.
        within = self._lease.total_seconds() / 2

        async def release() -> None:
            async with self._database.pool.acquire() as conn:
                await repository.release(conn, lease_token=token, ids=unsent, delay=release_after)

        try:
            await retry_while_unavailable(
                lambda: self._flush(token, results), within=within, give_up=lambda: self.stopping
            )
            if unsent:
                await retry_while_unavailable(release, within=within, give_up=lambda: self.stopping)
                if release_after:
                    self._retry_due(release_after.total_seconds())
        except DATABASE_ERRORS as exc:
            # The rows stay leased; once the lease runs out any worker takes them again.
            _log.error("could not record mail outcomes", error=_describe(exc), rows=len(results))

    async def _flush(self, token: uuid.UUID, results: list[AttemptResult]) -> None:
        if not results:
            return
        async with self._database.pool.acquire() as conn:
            applied = await repository.record_results(conn, lease_token=token, results=results)
        for result in results:
            self._log_result(result, applied=result.delivery_id in applied)
            self._measure(result)
            if result.retry_in_seconds is not None and result.delivery_id in applied:
                self._retry_due(result.retry_in_seconds)

    def _measure(self, result: AttemptResult) -> None:
        attrs = {"mail.status": result.status, "mail.outcome": result.outcome}
        self._attempts.add(1, attrs)
        elapsed = (result.finished_at - result.started_at).total_seconds()
        self._send_duration.record(max(elapsed, 0.0), attrs)

    def _retry_due(self, seconds: float) -> None:
        # Measured after the write, so the row is due by then on the database's clock too.
        due = asyncio.get_running_loop().time() + seconds
        if self._earliest_retry is None or due < self._earliest_retry:
            self._earliest_retry = due

    def _log_result(self, result: AttemptResult, *, applied: bool) -> None:
        fields = {"delivery_id": str(result.delivery_id), "attempt": result.attempt}
        if not applied:
            _log.warning("mail lease lost before its outcome was recorded", **fields)
        elif result.status == "sent":
            _log.info("mail sent", **fields)
        elif result.status == "retrying":
            _log.warning(
                "mail attempt failed; will retry",
                outcome=result.outcome,
                smtp_code=result.smtp_code,
                error=result.error,
                retry_in_seconds=round(result.retry_in_seconds or 0.0, 3),
                **fields,
            )
        else:
            _log.error(
                "mail failed",
                outcome=result.outcome,
                smtp_code=result.smtp_code,
                error=result.error,
                **fields,
            )

    # --- one attempt ------------------------------------------------------------------------

    async def _attempt(self, mail: ClaimedMail) -> tuple[AttemptResult, bool]:
        """Send one mail; the flag says the server was unreachable (pause the worker)."""
        started = _utcnow()
        attempt = mail.attempts + 1
        with self._tracer.start_as_current_span(
            "smtp send",
            kind=SpanKind.CLIENT,
            attributes={
                "mail.delivery_id": str(mail.id),
                "mail.kind": mail.kind,
                "mail.attempt": attempt,
            },
        ) as span:
            sent = await self._send(mail)
            span.set_attribute("mail.outcome", sent.outcome)
            if sent.smtp_code is not None:
                span.set_attribute("smtp.reply_code", sent.smtp_code)
            if sent.outcome != "sent":
                span.set_status(Status(StatusCode.ERROR, sent.error))
        used = attempt - mail.retry_base
        retry_in: float | None = None
        status: DeliveryStatus
        if sent.outcome != "connection":
            # The server answered: whatever it said, it is reachable again.
            self._connection_failures = 0
        if sent.outcome == "sent":
            status = "sent"
        elif sent.outcome == "permanent" or used >= self._max_attempts:
            status = "failed"
        else:
            status = "retrying"
            retry_in = retry_delay(
                used, minimum=self._backoff_min, maximum=self._backoff_max, rng=self._rng
            ).total_seconds()
        result = AttemptResult(
            delivery_id=mail.id,
            attempt=attempt,
            status=status,
            outcome=sent.outcome,
            smtp_code=sent.smtp_code,
            error=sent.error,
            started_at=started,
            finished_at=_utcnow(),
            retry_in_seconds=retry_in,
        )
        return result, sent.outcome == "connection"

    async def _send(self, mail: ClaimedMail) -> _Sent:
        try:
            message = compose(
                delivery_id=mail.id,
                sender=self._sender,
                to=mail.to_address,
                subject=mail.subject,
                text=mail.body_text,
                html=mail.body_html,
                unsubscribe_url=mail.unsubscribe_url,
            )
        except ValueError as exc:
            # A mail that cannot be written (an unusable unsubscribe URL) never will be.
            return _Sent("permanent", None, _describe(exc))
        deadline = asyncio.get_running_loop().time() + self._smtp_timeout
        try:
            async with asyncio.timeout_at(deadline):
                smtp = await self._connected()
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            await self._close_smtp(graceful=False)
            return _Sent("connection", getattr(exc, "code", None), f"connect: {_describe(exc)}")
        options = ["SMTPUTF8"] if needs_smtputf8(mail.to_address) else []
        try:
            async with asyncio.timeout_at(deadline):
                await smtp.sendmail(
                    self._sender.address, [mail.to_address], message, mail_options=options
                )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refused = exc.recipients[0]
            return _reply(refused.code, refused.message)
        except aiosmtplib.SMTPResponseException as exc:
            if exc.code == _SMTP_SERVICE_CLOSING:
                await self._close_smtp(graceful=False)
                return _Sent("connection", exc.code, f"{exc.code} {exc.message}")
            return _reply(exc.code, exc.message)
        except (aiosmtplib.SMTPNotSupported, ValueError) as exc:
            # The mail cannot travel through this server at all (e.g. SMTPUTF8 missing).
            return _Sent("permanent", None, _describe(exc))
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            await self._close_smtp(graceful=False)
            return _Sent("connection", None, _describe(exc))
        self._smtp_used_at = asyncio.get_running_loop().time()
        return _Sent("sent", 250, None)

    async def _connected(self) -> aiosmtplib.SMTP:
        if self._smtp is not None and self._smtp.is_connected:
            return self._smtp
        self._smtp = None
        options = dict(self._smtp_options)
        if self._smtp_endpoint is not None:
            options["hostname"], options["port"] = self._smtp_endpoint()
        smtp = aiosmtplib.SMTP(**options)
        await smtp.connect()
        self._smtp = smtp
        return smtp

    async def _close_idle_smtp(self) -> None:
        idle = asyncio.get_running_loop().time() - self._smtp_used_at
        if self._smtp is not None and idle > _SMTP_IDLE_SECONDS:
            await self._close_smtp(graceful=True)

    async def _close_smtp(self, *, graceful: bool) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        if graceful and smtp.is_connected:
            with suppress(aiosmtplib.SMTPException, OSError, TimeoutError):
                await smtp.quit(timeout=min(self._smtp_timeout, 2.0))
        smtp.close()
